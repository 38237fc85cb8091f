#pragma once
/// @file IcmpBuilder.h
/// @brief IcmpBuilder: writes an ICMP header into the headroom, checksum computed.

#include <cstdint>

namespace nexnet {

class Netbuf;

/// Prepends an 8-byte ICMP header (RFC 792) to the data already in the netbuf, and computes the
/// checksum over header and data.
class IcmpBuilder {
public:
    /// Prepends type @p type, code @p code and the 32-bit rest of the header as two 16-bit
    /// halves, @p first and @p second (identifier and sequence of an echo; 0 and the next-hop
    /// MTU, or 0 and 0, of an unreachable).
    /// @return 0, or ERANGE when the headroom is too small (nothing written).
    static int push(Netbuf& packet, std::uint8_t type, std::uint8_t code, std::uint16_t first, std::uint16_t second);
};

}  // namespace nexnet
