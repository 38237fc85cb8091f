#include "inet/TcpOptions.h"

#include "inet/NetworkOrder.h"
#include "inet/OptionList.h"

namespace nexnet {

namespace {
// The length each known option must have; 0 for SACK (checked on its own) and unknown kinds.
unsigned fixedLength(std::uint8_t kind) {
    switch (kind) {
    case TcpOptions::kMss:
        return 4;
    case TcpOptions::kWindowScale:
        return 3;
    case TcpOptions::kSackPermitted:
        return 2;
    case TcpOptions::kTimestamps:
        return 10;
    default:
        return 0;
    }
}
}  // namespace

unsigned TcpOptions::sackFitting() const {
    // Aligned sizes: MSS 4, SACK-permitted 4 (2 + NOP NOP, or shared with timestamps: 12 in all),
    // timestamps 12, window scale 4, SACK 4 + 8n (NOP NOP in front).
    unsigned used = (mss ? 4 : 0) + (windowScale ? 4 : 0);
    used += timestamps ? 12 : 0;
    used += sackPermitted && !timestamps ? 4 : 0;
    unsigned room = used + 4 < kMaxLength ? (kMaxLength - used - 4) / 8 : 0;
    unsigned wanted = sackBlocks < kMaxSackBlocks ? sackBlocks : kMaxSackBlocks;
    return wanted < room ? wanted : room;
}

unsigned TcpOptions::encodedLength() const {
    unsigned length = (mss ? 4 : 0) + (windowScale ? 4 : 0) + (timestamps ? 12 : 0);
    length += sackPermitted && !timestamps ? 4 : 0;
    unsigned blocks = sackFitting();
    return length + (blocks > 0 ? 4 + 8 * blocks : 0);
}

unsigned TcpOptions::write(std::uint8_t* out) const {
    std::uint8_t* at = out;
    if (mss) {
        at[0] = kMss;
        at[1] = 4;
        storeBig16(at + 2, *mss);
        at += 4;
    }
    if (timestamps) {
        // SACK-permitted takes the two bytes Linux would fill with No-ops before the timestamps.
        at[0] = sackPermitted ? kSackPermitted : kNop;
        at[1] = sackPermitted ? 2 : kNop;
        at[2] = kTimestamps;
        at[3] = 10;
        storeBig32(at + 4, timestamps->value);
        storeBig32(at + 8, timestamps->echo);
        at += 12;
    } else if (sackPermitted) {
        at[0] = kNop;
        at[1] = kNop;
        at[2] = kSackPermitted;
        at[3] = 2;
        at += 4;
    }
    if (windowScale) {
        at[0] = kNop;
        at[1] = kWindowScale;
        at[2] = 3;
        at[3] = *windowScale;
        at += 4;
    }
    if (unsigned blocks = sackFitting(); blocks > 0) {
        at[0] = kNop;
        at[1] = kNop;
        at[2] = kSack;
        at[3] = static_cast<std::uint8_t>(2 + 8 * blocks);
        at += 4;
        for (unsigned i = 0; i < blocks; ++i) {
            storeBig32(at, sack[i].left);
            storeBig32(at + 4, sack[i].right);
            at += 8;
        }
    }
    return static_cast<unsigned>(at - out);
}

bool TcpOptions::read(const std::uint8_t* options, unsigned length) {
    return walkOptions(options, length, [this](std::uint8_t kind, const std::uint8_t* value, unsigned size) {
        unsigned fixed = fixedLength(kind);
        if (fixed != 0 && size + 2 != fixed) return false;
        switch (kind) {
        case kMss:
            mss = loadBig16(value);
            break;
        case kWindowScale:
            windowScale = value[0];
            break;
        case kSackPermitted:
            sackPermitted = true;
            break;
        case kTimestamps:
            timestamps = Timestamps{loadBig32(value), loadBig32(value + 4)};
            break;
        case kSack: {
            if (size % 8 != 0 || size == 0) return false;
            unsigned blocks = size / 8;
            sackBlocks = static_cast<std::uint8_t>(blocks < kMaxSackBlocks ? blocks : kMaxSackBlocks);
            for (unsigned i = 0; i < sackBlocks; ++i)
                sack[i] = SackBlock{loadBig32(value + 8 * i), loadBig32(value + 8 * i + 4)};
            break;
        }
        default:
            break;  // an option nexnet does not use: skipped (RFC 9293 section 3.1)
        }
        return true;
    });
}

}  // namespace nexnet
