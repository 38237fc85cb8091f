#pragma once
/// @file UdpBuilder.h
/// @brief UdpBuilder: writes a UDP header in front of the payload already in a netbuf.

#include "inet/TransportChecksum.h"

#include <cstdint>
#include <netinet/in.h>

namespace nexnet {

class Netbuf;

/// Prepends an 8-byte UDP header (RFC 768) to the payload in the netbuf: the netbuf's data() is
/// the payload before the call and the UDP header after it.
class UdpBuilder {
public:
    /// Prepends ports @p sourcePort and @p destinationPort (host order) and the length, and fills
    /// the checksum for a datagram from @p source to @p destination as @p mode says.
    /// @return 0, ERANGE when the headroom is too small, EMSGSIZE when the datagram would exceed
    /// 65535 bytes (nothing written in both cases).
    static int push(Netbuf& packet, std::uint16_t sourcePort, std::uint16_t destinationPort, in_addr source,
                    in_addr destination, ChecksumMode mode);
};

}  // namespace nexnet
