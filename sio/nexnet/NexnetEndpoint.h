#pragma once
/// @file NexnetEndpoint.h
/// @brief NexnetEndpoint: a nexnet interface, its protocol layer and one UDP endpoint, run on a
/// thread of their own, for the sio/aio calls.

#include "inet/UdpDatagram.h"
#include "netbuf/Result.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <thread>
#include <vector>

namespace nexnet {
class EventLoop;
class InetStack;
class NetbufPool;
class NetworkInterface;
class UdpEndpoint;
}  // namespace nexnet

namespace nexnet::sio {

/// What sio_nexnet_open makes: the interface opened from a URI, an InetStack on it with the
/// given address, a UdpEndpoint on the port, and the interface's thread, an EventLoop running
/// the interface in interrupt mode (poll mode for a driver without eventfds), the stack's
/// timers, and the sends the program's threads queue.
///
/// Threads: receive() and the readiness descriptor are the endpoint's consumer side, used by
/// one thread at a time (NexnetSocket's receive lock); send() may be called from any thread;
/// everything else runs on the interface's thread, started by open() and ended by the
/// destructor, which then closes the endpoint, the stack and the interface in that order.
class NexnetEndpoint {
public:
    /// Opens @p uri, brings it up with @p address / @p netmask and binds UDP @p port.
    /// Errors: the driver's, the stack's, the endpoint's (EADDRINUSE), the loop's.
    static Result<std::unique_ptr<NexnetEndpoint>> open(const char* uri, in_addr address, in_addr netmask,
                                                        std::uint16_t port);
    /// Stops the interface's thread, then closes everything (frees queued sends).
    ~NexnetEndpoint();
    NexnetEndpoint(const NexnetEndpoint&) = delete;
    NexnetEndpoint& operator=(const NexnetEndpoint&) = delete;

    /// Stops the interface's thread (sio_close) and frees the sends that waited for it; the
    /// calling thread is the interface's from then on. Idempotent.
    void stop();
    /// Takes up to @p max received datagrams (the caller owns their netbufs). Never blocks.
    unsigned receive(UdpDatagram* out, unsigned max);
    /// The endpoint's eventfd: readable while datagrams wait (owned here; dup it to hand out).
    int readinessFd() const;
    /// The pool the driver receives into.
    std::shared_ptr<NetbufPool> pool() const;
    /// The interface (control calls only: its data path runs on the interface's thread).
    NetworkInterface& interface() { return *interface_; }
    /// Bytes a payload needs in front of it for the UDP, IPv4 and Ethernet headers.
    static constexpr std::uint32_t kHeaderRoom = 14 + 20 + 8;

    /// Queues @p payload (data() at the payload) for @p destination:@p port; the interface's
    /// thread sends it with the next burst. Takes the netbuf. Any thread; never blocks.
    /// @return 0, or ENOBUFS when kMaxQueued sends wait already (the netbuf is freed).
    int send(Netbuf* payload, in_addr destination, std::uint16_t port);
    /// Sends waiting for the interface's thread at most.
    static constexpr std::size_t kMaxQueued = 4096;
    /// Datagrams the stack refused to send so far (no route, too long: sendErrors).
    std::uint64_t sendErrors() const;

private:
    NexnetEndpoint() = default;
    void run();
    void flushSends();

    std::unique_ptr<NetworkInterface> interface_;
    std::unique_ptr<InetStack> stack_;
    std::unique_ptr<UdpEndpoint> endpoint_;
    std::unique_ptr<EventLoop> loop_;
    std::thread thread_;
    int wakeFd_ = -1;
    std::atomic<int> startError_{-1};

    std::mutex sendLock_;
    std::vector<Netbuf*> queued_;        // under sendLock_
    std::vector<UdpDatagram> queuedTo_;  // destinations, same index (source fields)
    std::vector<Netbuf*> sending_;       // the interface's thread's copy
    std::vector<UdpDatagram> sendingTo_;
};

}  // namespace nexnet::sio
