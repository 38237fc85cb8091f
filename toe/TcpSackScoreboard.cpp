#include "toe/TcpSackScoreboard.h"

#include "toe/TcpSequence.h"

#include <algorithm>

namespace nexnet {

std::uint32_t TcpSackScoreboard::update(const TcpOptions::SackBlock* blocks, unsigned count,
                                        std::uint32_t unacknowledged, std::uint32_t highData) {
    std::uint32_t before = sackedBytes();
    for (unsigned i = 0; i < count; ++i) {
        Range range{blocks[i].left, blocks[i].right};
        // RFC 2018 section 4 / RFC 6675 section 5: a block at or below SND.UNA (a D-SACK) or past
        // what was sent says nothing about the holes.
        if (sequenceBefore(range.left, unacknowledged)) range.left = unacknowledged;
        if (sequenceBefore(highData, range.right)) range.right = highData;
        if (!sequenceBefore(range.left, range.right)) continue;
        insert(range);
    }
    std::uint32_t after = sackedBytes();
    return after > before ? after - before : 0;
}

void TcpSackScoreboard::insert(Range range) {
    // Merge with every range it touches, then put it in order.
    unsigned kept = 0;
    for (unsigned i = 0; i < count_; ++i) {
        const Range& r = ranges_[i];
        if (sequenceBefore(r.right, range.left) || sequenceBefore(range.right, r.left)) {
            ranges_[kept++] = r;
            continue;
        }
        if (sequenceBefore(r.left, range.left)) range.left = r.left;
        if (sequenceBefore(range.right, r.right)) range.right = r.right;
    }
    count_ = kept;
    unsigned at = 0;
    while (at < count_ && sequenceBefore(ranges_[at].left, range.left)) ++at;
    if (count_ == kMaxRanges) {
        if (at == kMaxRanges) return;  // the highest: forgotten
        --count_;                      // the highest range makes room
    }
    std::copy_backward(ranges_.begin() + at, ranges_.begin() + count_, ranges_.begin() + count_ + 1);
    ranges_[at] = range;
    ++count_;
}

void TcpSackScoreboard::acknowledge(std::uint32_t unacknowledged) {
    unsigned kept = 0;
    for (unsigned i = 0; i < count_; ++i) {
        Range r = ranges_[i];
        if (sequenceAtOrBefore(r.right, unacknowledged)) continue;
        if (sequenceBefore(r.left, unacknowledged)) r.left = unacknowledged;
        ranges_[kept++] = r;
    }
    count_ = kept;
}

std::uint32_t TcpSackScoreboard::sackedBytes() const {
    std::uint32_t bytes = 0;
    for (unsigned i = 0; i < count_; ++i) bytes += ranges_[i].right - ranges_[i].left;
    return bytes;
}

bool TcpSackScoreboard::isLost(std::uint32_t sequence, std::uint32_t mss) const {
    unsigned above = 0;
    std::uint64_t bytes = 0;
    for (unsigned i = count_; i-- > 0;) {
        const Range& r = ranges_[i];
        if (sequenceAtOrBefore(r.right, sequence)) break;
        ++above;
        bytes += sequenceBefore(sequence, r.left) ? r.right - r.left : r.right - sequence - 1;
    }
    return above >= 3 || bytes > 2ull * mss;
}

std::uint32_t TcpSackScoreboard::pipe(std::uint32_t unacknowledged, std::uint32_t highData,
                                      std::uint32_t highRetransmitted, std::uint32_t mss) const {
    // Per hole: a hole not lost counts whole; every hole counts what was retransmitted of it.
    auto retransmitted = [&](std::uint32_t start, std::uint32_t end) -> std::uint32_t {
        std::uint32_t top = sequenceBefore(highRetransmitted, end) ? highRetransmitted : end;
        return sequenceBefore(start, top) ? top - start : 0;
    };
    std::uint64_t pipe = 0;
    std::uint32_t at = unacknowledged;
    for (unsigned i = 0; i <= count_; ++i) {
        std::uint32_t end = i < count_ ? ranges_[i].left : highData;
        if (sequenceBefore(at, end)) {
            if (i == count_ || !isLost(at, mss)) pipe += end - at;  // nothing SACKed above the last
            pipe += retransmitted(at, end);
        }
        if (i < count_ && sequenceBefore(at, ranges_[i].right)) at = ranges_[i].right;
    }
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(pipe, 0xffffffffu));
}

bool TcpSackScoreboard::nextHole(std::uint32_t from, std::uint32_t unacknowledged, std::uint32_t mss,
                                 std::uint32_t& start, std::uint32_t& end, bool& lost) const {
    std::uint32_t at = unacknowledged;
    for (unsigned i = 0; i < count_; ++i) {
        std::uint32_t holeEnd = ranges_[i].left;
        std::uint32_t holeStart = sequenceBefore(at, from) ? from : at;
        if (sequenceBefore(holeStart, holeEnd)) {
            start = holeStart;
            end = holeEnd;
            lost = isLost(holeStart, mss);
            return true;
        }
        if (sequenceBefore(at, ranges_[i].right)) at = ranges_[i].right;
    }
    return false;
}

}  // namespace nexnet
