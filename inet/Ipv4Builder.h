#pragma once
/// @file Ipv4Builder.h
/// @brief Ipv4Builder: writes an IPv4 header (no options) into the headroom.

#include <cstdint>
#include <netinet/in.h>

namespace nexnet {

class Netbuf;

/// Prepends a 20-byte IPv4 header in front of the transport header and data already in the
/// netbuf, with the total length taken from the netbuf and the header checksum computed.
class Ipv4Builder {
public:
    /// The header's fields.
    struct Fields {
        in_addr source{};                  ///< Source address, network order.
        in_addr destination{};             ///< Destination address, network order.
        std::uint8_t protocol = 0;         ///< Ipv4View::kUdp, kTcp, kIcmp, ...
        std::uint8_t ttl = 64;             ///< Time to live (64: Linux's default).
        std::uint8_t tos = 0;              ///< DSCP and ECN.
        std::uint16_t identification = 0;  ///< Identification (matters for fragments).
        bool dontFragment = true;          ///< DF: the path MTU is discovered, not fragmented.
        bool moreFragments = false;        ///< MF: another fragment follows.
        unsigned fragmentOffset = 0;       ///< Offset of this fragment in bytes (a multiple of 8).
    };
    /// Bytes the header takes.
    static constexpr unsigned kHeaderSize = 20;

    /// Prepends the header described by @p fields.
    /// @return 0, ERANGE when the headroom is too small, EMSGSIZE when the packet would exceed
    /// 65535 bytes, EINVAL for a fragment offset that is not a multiple of 8 or too large
    /// (nothing written in every case).
    static int push(Netbuf& packet, const Fields& fields);
};

}  // namespace nexnet
