#pragma once
/// @file UdpEndpoint.h
/// @brief UdpEndpoint: a UDP port of a nexnet interface that receives the netbufs themselves.

#include "inet/UdpDatagram.h"
#include "netbuf/Result.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <netinet/in.h>

namespace nexnet {

class InetStack;
class Netbuf;

/// A UDP endpoint bound to an address and port of an InetStack's interface: the nexnet
/// counterpart of a UDP socket, without copies.
///
/// **Receiving.** The stack hands the endpoint each datagram for its port as the netbuf it was
/// received in, data() moved to the payload (UdpDatagram). They wait in a bounded queue
/// (Options::queueLimit; a datagram that finds it full is freed and counted in queueDrops) until
/// receive() takes them: the caller then owns the netbufs. readinessFd() is an eventfd that is
/// readable while datagrams wait, for poll/epoll/io_uring; it is written at most once per burst,
/// never per datagram. A connected endpoint (connect()) takes datagrams from its peer only.
///
/// **Sending.** The application fills a netbuf with the payload (allocate(), or a received one),
/// and send()/sendTo()/sendBurst() build the UDP, IPv4 and Ethernet headers in its headroom in
/// front of it; the stack routes, resolves and fragments. The endpoint takes the netbufs.
///
/// **Threads.** The stack's side (delivery) runs on the interface's thread; receive(),
/// readinessFd() and error() may run on one other thread (the queue is single-producer
/// single-consumer, lock-free). Sending and connect() run on the interface's thread. Close (destroy)
/// the endpoint on the interface's thread, before the stack.
///
/// This is what the Drepper API's nexnet sockets sit on: sio_recv returns a pointer into the
/// pool (UdpDatagram::payload()), the event channel waits on readinessFd().
class UdpEndpoint {
public:
    /// How the endpoint is made.
    struct Options {
        unsigned queueLimit = 1024;  ///< Datagrams waiting at most (rounded up to a power of two).
    };
    /// Counters (relaxed atomics: read from any thread).
    struct Statistics {
        std::atomic<std::uint64_t> received{0};    ///< Datagrams queued.
        std::atomic<std::uint64_t> queueDrops{0};  ///< Datagrams dropped: queue full.
        std::atomic<std::uint64_t> sent{0};        ///< Datagrams handed to the stack for output.
        std::atomic<std::uint64_t> sendErrors{0};  ///< Datagrams refused (no headroom, too long, no route).
    };

    /// Binds @p port (host order; 0 picks a free port from 49152) of @p local (the interface's
    /// address, or INADDR_ANY for it and broadcasts) on @p stack.
    /// Errors: EADDRINUSE (port taken), EADDRNOTAVAIL (@p local is not the interface's), ENOMEM,
    /// or the eventfd's errno.
    static Result<std::unique_ptr<UdpEndpoint>> open(InetStack& stack, in_addr local, std::uint16_t port,
                                                     const Options& options);
    /// Unbinds the port and frees the datagrams still queued.
    ~UdpEndpoint();
    UdpEndpoint(const UdpEndpoint&) = delete;
    UdpEndpoint& operator=(const UdpEndpoint&) = delete;

    /// Sets the default peer (connect(2) on a UDP socket): send() goes there and only its
    /// datagrams are received. INADDR_ANY and port 0 remove it. @return 0 or EINVAL.
    int connect(in_addr peer, std::uint16_t port);
    /// True when connected to a default peer.
    bool connected() const { return peerPort_ != 0; }

    /// Takes up to @p max waiting datagrams into @p out, oldest first; never blocks.
    /// The caller owns the netbufs. @return how many (0: none waiting).
    unsigned receive(UdpDatagram* out, unsigned max);
    /// Datagrams waiting.
    unsigned pending() const;
    /// An eventfd readable while datagrams wait (owned by the endpoint; do not close it).
    int readinessFd() const { return eventFd_; }
    /// The pending asynchronous error, cleared by reading it (SO_ERROR): ECONNREFUSED after an
    /// ICMP port unreachable answered a datagram of a connected endpoint; 0 when none.
    int error();

    /// A netbuf for @p payloadBytes of payload with room for the headers (InetStack::allocate):
    /// fill data() with append() or write(). nullptr when none is free.
    Netbuf* allocate(std::uint32_t payloadBytes);
    /// Sends the payload in @p payload to the connected peer. The endpoint takes the netbuf.
    /// @return 0, EDESTADDRREQ (not connected), ERANGE (headroom too small), EMSGSIZE.
    int send(Netbuf* payload);
    /// Sends the payload in @p payload to @p destination:@p port. The endpoint takes the netbuf.
    /// @return 0 (sent, or waiting for ARP), ERANGE (headroom too small), EMSGSIZE (over 65507
    /// bytes), EINVAL (port 0), ENETUNREACH (no route), ENOBUFS (dropped on the way, counted).
    int sendTo(Netbuf* payload, in_addr destination, std::uint16_t port);
    /// Sends @p count payloads to the connected peer in one burst (one outputBurst).
    /// Takes every netbuf. @return the number sent (the rest were refused and counted).
    unsigned sendBurst(Netbuf** payloads, unsigned count);
    /// Sends @p count payloads, each to the address and port of the datagram at the same index
    /// of @p destinations (source/sourcePort are read: a reply burst passes what receive()
    /// gave). Takes every netbuf. @return the number sent.
    unsigned sendBurstTo(Netbuf** payloads, const UdpDatagram* destinations, unsigned count);

    /// The bound address (INADDR_ANY when bound to any).
    in_addr localAddress() const { return local_; }
    /// The bound port, host order.
    std::uint16_t localPort() const { return port_; }
    /// The counters.
    const Statistics& statistics() const { return statistics_; }

private:
    friend class InetStack;
    UdpEndpoint(InetStack& stack, in_addr local, std::uint16_t port, unsigned capacity);
    // Stack side, on the interface's thread: queue a datagram (false: full, caller frees it),
    // then signal once per burst.
    bool enqueue(const UdpDatagram& datagram);
    void signal();
    bool accepts(in_addr source, std::uint16_t sourcePort, in_addr destination) const;
    void reportUnreachable(in_addr destination, std::uint16_t port);
    int build(Netbuf* payload, in_addr destination, std::uint16_t port);
    template <typename Destination>
    unsigned buildAndSend(Netbuf** payloads, unsigned count, Destination&& destination);

    InetStack& stack_;
    in_addr local_;
    std::uint16_t port_;
    in_addr peer_{};
    std::uint16_t peerPort_ = 0;
    int eventFd_ = -1;
    std::unique_ptr<UdpDatagram[]> ring_;
    unsigned mask_;
    alignas(64) std::atomic<std::uint64_t> head_{0};  // next to receive (consumer)
    alignas(64) std::atomic<std::uint64_t> tail_{0};  // next to fill (producer)
    std::atomic<bool> signalled_{false};
    std::atomic<int> error_{0};
    Statistics statistics_;
};

}  // namespace nexnet
