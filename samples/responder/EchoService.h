#pragma once
/// @file EchoService.h
/// @brief EchoService: nexnet-sample's UDP echo (RFC 862) on a UdpEndpoint, without copies.

#include "inet/UdpEndpoint.h"
#include "netbuf/Result.h"

#include <cstdint>
#include <memory>

namespace nexnet {

class EventLoop;
class InetStack;

/// The sample-specific part of nexnet-sample: everything else (ARP, ping, port unreachable) is
/// the protocol layer's (InetStack). Each datagram received on the port goes back to its sender
/// in the same netbuf: UdpEndpoint::sendBurstTo rebuilds the headers in front of the payload.
///
/// It never answers what would make a loop or an amplifier (issue 17): a datagram from port 0 or
/// from another echo-like service (echo 7, daytime 13, quote 17, chargen 19, time 37, or our own
/// echo port: two echo services would bounce one datagram forever), from an address that is not
/// a unicast peer (InetStack::isUnicastPeer), or sent to a broadcast address. Those are freed and
/// counted as refused.
class EchoService {
public:
    /// Counters.
    struct Statistics {
        std::uint64_t echoed = 0;   ///< Datagrams sent back.
        std::uint64_t refused = 0;  ///< Datagrams not answered (loop or amplifier risk).
    };
    /// The RFC 862 port.
    static constexpr std::uint16_t kEchoPort = 7;

    /// Opens the echo service on @p port (host order) of @p stack's interface.
    /// Errors: UdpEndpoint::open's (EADDRINUSE, ...).
    static Result<std::unique_ptr<EchoService>> open(InetStack& stack, std::uint16_t port);
    /// Stops watching the event loop, closes the endpoint.
    ~EchoService();
    EchoService(const EchoService&) = delete;
    EchoService& operator=(const EchoService&) = delete;

    /// Answers every datagram waiting (on the interface's thread). @return the number echoed.
    unsigned serve();
    /// Calls serve() whenever the endpoint becomes readable on @p loop. @return 0 or an errno.
    int attach(EventLoop& loop);
    /// True for a source port never answered: 0, or a service that answers anything sent to it.
    bool isLoopPort(std::uint16_t port) const;
    /// The counters.
    const Statistics& statistics() const { return statistics_; }
    /// The endpoint.
    UdpEndpoint& endpoint() { return *endpoint_; }

private:
    EchoService(InetStack& stack, std::unique_ptr<UdpEndpoint> endpoint);

    InetStack& stack_;
    std::unique_ptr<UdpEndpoint> endpoint_;
    EventLoop* loop_ = nullptr;
    Statistics statistics_;
};

}  // namespace nexnet
