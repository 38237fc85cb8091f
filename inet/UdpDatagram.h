#pragma once
/// @file UdpDatagram.h
/// @brief UdpDatagram: one received datagram as a UdpEndpoint hands it over (the netbuf itself).

#include "netbuf/Netbuf.h"

#include <cstdint>
#include <netinet/in.h>
#include <span>

namespace nexnet {

/// A received UDP datagram: the netbuf the driver received it in, its data() moved to the UDP
/// payload (the Ethernet, IPv4 and UDP headers stay in the headroom, readable at
/// data() - 8 and before), and where it came from.
///
/// Nothing is copied: with a NIC driver the payload is where the device wrote it (a datagram
/// reassembled from fragments is the exception: it lives in the reassembly pool). The receiver
/// owns the netbuf and frees it (Netbuf::free, NetbufPool::freeToOwners) or sends it back
/// (UdpEndpoint::sendTo: the headers are rebuilt in the headroom in front of the same payload).
struct UdpDatagram {
    Netbuf* netbuf = nullptr;           ///< The datagram; owned by the receiver.
    in_addr source{};                   ///< Sender's address, network order.
    in_addr destination{};              ///< Address it was sent to (ours, or a broadcast).
    std::uint16_t sourcePort = 0;       ///< Sender's port, host order.
    std::uint16_t destinationPort = 0;  ///< Our port, host order.

    /// The payload: netbuf->data() for netbuf->size() bytes.
    std::span<std::uint8_t> payload() const { return {netbuf->data(), netbuf->size()}; }
};

}  // namespace nexnet
