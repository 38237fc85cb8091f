#pragma once
/// @file Ipv4Protocol.h
/// @brief Ipv4Protocol: a transport protocol served outside InetStack (TCP for the offload engine).

namespace nexnet {

class Ipv4View;
class Netbuf;

/// What a layer implements to receive an IPv4 protocol that InetStack does not serve itself
/// (InetStack::setProtocol): the TCP offload engine for protocol 6, an application for another.
///
/// InetStack has already checked the packet (Ipv4View, header checksum unless verified, TTL,
/// source and destination addresses, reassembly); the transport checksum is the handler's
/// (TransportChecksum::check, offload-aware). Both calls run on the interface's thread and must
/// not block.
class Ipv4Protocol {
public:
    virtual ~Ipv4Protocol() = default;
    /// Beside a HostStackBridge only: true when the datagram @p ip is the handler's (an offloaded
    /// connection's 4-tuple), so the stack takes it before the bridge; false leaves it to the
    /// kernel. Must only look. Base: claims nothing.
    virtual bool claims(const Ipv4View& ip) {
        (void)ip;
        return false;
    }
    /// Takes @p packet, whose IPv4 header @p ip describes (data() may start at the link header
    /// or at ip.header()). The handler owns the netbuf from here on and frees or keeps it.
    virtual void input(Netbuf* packet, const Ipv4View& ip) = 0;
    /// The end of a receive burst in which input() was called at least once: what the handler
    /// batched per burst (the ACKs of a TCP offload engine) goes out now. Base: nothing.
    virtual void finishInput() {}
};

}  // namespace nexnet
