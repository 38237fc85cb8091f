// Fuzz target: the virtio-net header the kernel writes before each frame a tap hands over
// (flags, gso_type, hdr_len, gso_size, csum_start, csum_offset), with any frame length, netbuf room,
// MTU and offload setting, through the tap driver's receive check (TapFrameCheck). What the check
// accepts must be safe for the layers above to act on: a partial checksum they finish is written
// inside the frame, a super-packet they cut has a segment size and fits its netbuf.
#include "FuzzFinding.h"
#include "FuzzInput.h"

#include "drivers/tap/TapDriver.h"
#include "drivers/tap/TapFrameCheck.h"

#include <cstring>

using namespace nexnet;
using nexnet::fuzz::expect;
using nexnet::fuzz::FuzzInput;

namespace {

// What a layer above does with a partial checksum: the one's-complement sum from csumStart to the
// end of the frame, stored at csumStart + csumOffset (RFC 1071).
void finishChecksum(std::uint8_t* frame, std::uint32_t length, const NetbufOffload& offload) {
    expect(std::uint32_t{offload.csumStart} + offload.csumOffset + 2 <= length, "a checksum field outside the frame");
    std::uint32_t sum = 0;
    for (std::uint32_t i = offload.csumStart; i + 1 < length; i += 2)
        sum += std::uint32_t(frame[i] << 8 | frame[i + 1]);
    if ((length - offload.csumStart) % 2 != 0) sum += std::uint32_t(frame[length - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    std::uint16_t folded = static_cast<std::uint16_t>(~sum);
    std::memcpy(frame + offload.csumStart + offload.csumOffset, &folded, 2);
}

// What a layer cutting a super-packet into segments does: as many as the payload needs.
void countSegments(std::uint32_t length, const NetbufOffload& offload) {
    expect(offload.gsoSize != 0, "a super-packet without a segment size");
    std::uint32_t segments = 0;
    for (std::uint32_t at = 0; at < length; at += offload.gsoSize) ++segments;
    expect(segments <= length, "segments");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static std::uint8_t frame[TapDriver::kSuperPacketRoom];
    FuzzInput input(data, size);
    NetbufOffload offload;
    offload.flags = input.take<std::uint8_t>();
    offload.gsoType = input.take<std::uint8_t>();
    input.take<std::uint16_t>();  // hdr_len: a hint the driver does not use
    offload.gsoSize = input.take<std::uint16_t>();
    offload.csumStart = input.take<std::uint16_t>();
    offload.csumOffset = input.take<std::uint16_t>();
    TapFrameCheck check;
    check.offloads = input.choose(2) == 1;
    check.room = check.offloads ? TapDriver::kSuperPacketRoom : 2048;
    check.mtu = 68 + input.below(check.room - 68);
    std::uint32_t length = input.below(check.room + 100);

    if (check.judge(offload, length) != TapFrameCheck::Verdict::accepted) return 0;
    expect(length < check.room && length >= 14, "an accepted frame that does not fit its netbuf");
    for (std::uint32_t i = 0; i < length; ++i) frame[i] = static_cast<std::uint8_t>(i * 131 + 7);
    if (offload.needsChecksum()) finishChecksum(frame, length, offload);
    if (offload.gsoType != NetbufOffload::kGsoNone) {
        expect(check.offloads, "a super-packet the driver did not ask for");
        countSegments(length, offload);
    } else {
        expect(length <= 14 + check.mtu + 4, "an accepted frame longer than the MTU");
    }
    return 0;
}
