#pragma once
/// @file UdpEchoResponder.h
/// @brief UdpEchoResponder: the UDP echo service (RFC 862) on one port.

#include "samples/responder/Ipv4Packet.h"

#include <cstdint>

namespace nexnet {

/// Sends every UDP datagram for its port back to where it came from, in the same netbuf.
///
/// Checks: a UDP length field equal to the IPv4 payload and at least 8 (udpLength), and the
/// UDP checksum when the sender computed one (udpChecksum). A checksum the sender left for the
/// hardware to finish (Netbuf offload flag NEEDS_CSUM, from a tap with offloads) is not checked.
/// Datagrams for other ports are ignored.
class UdpEchoResponder {
public:
    /// The echo port, RFC 862.
    static constexpr std::uint16_t kEchoPort = 7;

    /// Answers datagrams for @p port (host order).
    explicit UdpEchoResponder(std::uint16_t port = kEchoPort) : port_(port) {}

    /// Examines @p packet, already validated and for us. On Verdict::reply(), the frame holds the
    /// echo: same payload, ports and addresses swapped, from @p mac. Ownership stays with the caller.
    Verdict respond(Ipv4Packet& packet, const EthernetAddress& mac) const;

    /// The port answered, host order.
    std::uint16_t port() const { return port_; }

private:
    std::uint16_t port_;
};

}  // namespace nexnet
