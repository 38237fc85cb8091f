#pragma once
/// @file TapFrameCheck.h
/// @brief TapFrameCheck: what the tap driver makes of each frame a read hands it, and why it
/// refuses one (apart from the driver, so that it can be tested and fuzzed without a tap).

#include "netbuf/Netbuf.h"

#include <cstdint>

namespace nexnet {

/// The receive path's judgement of one frame: its length as the read reported it and the offload
/// request of its virtio-net header (as the kernel wrote it: untrusted), against the room the
/// netbuf gave the read, the MTU and whether the driver asked for offloads (vnet=1).
///
/// Refused, each counted by TapDriver under its own name:
/// - truncated: the frame filled the netbuf to the last byte. tun copies what fits and reports at
///   most the room it was given (older kernels) or the whole length (newer): either way it was cut.
/// - runt: shorter than an Ethernet header.
/// - oversize: longer than the MTU allows (with a VLAN tag) and not a super-packet.
/// - badOffload: a header a device may not write (virtio 1.2 section 5.1.6.4): a partial checksum
///   whose 16-bit field lies outside the frame (a layer finishing it would write past the frame),
///   a GSO type Linux does not define, a super-packet without a segment size (a layer cutting it
///   would loop forever) or one the driver never asked for (vnet=0).
struct TapFrameCheck {
    /// What happens to the frame.
    enum class Verdict { accepted, truncated, runt, oversize, badOffload };

    std::uint32_t room = 0;  ///< Bytes the read could put in the netbuf.
    unsigned mtu = 1500;     ///< The driver's MTU.
    bool offloads = false;   ///< The driver receives super-packets and partial checksums (vnet=1).

    /// The verdict on a frame of @p length bytes with the offload request @p offload. Pure: reads
    /// nothing else, any thread.
    Verdict judge(const NetbufOffload& offload, std::uint32_t length) const;
};

}  // namespace nexnet
