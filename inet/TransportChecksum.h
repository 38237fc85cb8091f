#pragma once
/// @file TransportChecksum.h
/// @brief TransportChecksum: checking and filling UDP and TCP checksums, aware of what the
/// device already did (the netbuf's offload state).

#include "netbuf/InternetChecksum.h"

#include <cstdint>
#include <netinet/in.h>
#include <span>

namespace nexnet {

class Ipv4View;
class Netbuf;
struct NetbufOffload;

/// How a builder fills the UDP or TCP checksum of what it sends.
enum class ChecksumMode : std::uint8_t {
    software,  ///< Computed now over the whole segment.
    offload,   ///< Left partial for the device (NetbufOffload::kNeedsChecksum, csumStart/csumOffset).
    none,      ///< UDP only: 0, "no checksum" (RFC 768).
};

/// The UDP/TCP checksum over the IPv4 pseudo-header: checked on receive, filled on send.
class TransportChecksum {
public:
    /// What check() concluded.
    enum class Status : std::uint8_t {
        good,      ///< Computed here and right.
        bad,       ///< Computed here and wrong: drop the packet.
        verified,  ///< The device verified it (kDataValid): not recomputed.
        partial,   ///< Left partial by a local sender (kNeedsChecksum): nothing to check.
        absent,    ///< UDP checksum 0: the sender computed none (RFC 768).
    };

    /// Checks the checksum of the transport segment @p segment (the bytes from the UDP or TCP
    /// header to the end of its data) carried by @p ip, unless @p offload says the device
    /// verified it or it was left partial. @p checksumOffset is where the field sits in the
    /// header (UdpView::kChecksumOffset, TcpView::kChecksumOffset): a UDP field of 0 is absent.
    static Status check(const Ipv4View& ip, std::span<const std::uint8_t> segment, unsigned checksumOffset,
                        const NetbufOffload& offload);

    /// Fills the checksum field at @p checksumOffset of @p segment (header first, its field
    /// anything) for @p protocol between @p source and @p destination, as @p mode says. For
    /// ChecksumMode::offload, the field gets the pseudo-header sum and @p packet's offload asks
    /// for the rest, csumStart pointing at @p segment (which must lie in @p packet).
    static void fill(Netbuf& packet, std::span<std::uint8_t> segment, unsigned checksumOffset, std::uint8_t protocol,
                     in_addr source, in_addr destination, ChecksumMode mode);
};

}  // namespace nexnet
