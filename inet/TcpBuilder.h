#pragma once
/// @file TcpBuilder.h
/// @brief TcpBuilder: writes a TCP header with options in front of the payload in a netbuf.

#include "inet/TcpOptions.h"
#include "inet/TransportChecksum.h"

#include <cstdint>
#include <netinet/in.h>

namespace nexnet {

class Netbuf;

/// Prepends a TCP header (RFC 9293 section 3.1) with its options to the payload in the netbuf:
/// a data segment (payload present), or a pure ACK, SYN, FIN or RST (netbuf empty). This is what
/// a TCP offload engine sends: it keeps the connection's state and fills a Segment per send.
class TcpBuilder {
public:
    /// One segment's header fields.
    struct Segment {
        std::uint16_t sourcePort = 0;       ///< Host order.
        std::uint16_t destinationPort = 0;  ///< Host order.
        std::uint32_t sequence = 0;         ///< First sequence number of the segment.
        std::uint32_t acknowledgment = 0;   ///< Next sequence number expected (with TcpView::kAck).
        std::uint8_t flags = 0;             ///< TcpView::kSyn, kAck, kFin, kRst, kPsh, ...
        std::uint16_t window = 0;           ///< Receive window, already scaled down.
        std::uint16_t urgentPointer = 0;    ///< Urgent pointer (with TcpView::kUrg).
        TcpOptions options;                 ///< Options to send.
    };

    /// Prepends the header for @p segment and fills its checksum for a segment from @p source to
    /// @p destination as @p mode says (ChecksumMode::none is taken as software: TCP always has one).
    /// @return 0, ERANGE when the headroom is too small, EMSGSIZE when the segment would exceed
    /// 65535 bytes with its IPv4 header (nothing written in both cases).
    static int push(Netbuf& packet, const Segment& segment, in_addr source, in_addr destination, ChecksumMode mode);
};

}  // namespace nexnet
