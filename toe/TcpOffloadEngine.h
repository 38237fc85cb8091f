#pragma once
/// @file TcpOffloadEngine.h
/// @brief TcpOffloadEngine: takes established kernel TCP connections over and places their
/// payload into buffers the application posts (the TCP-offload seed's "offload device").

#include "inet/Ipv4Protocol.h"
#include "netbuf/Result.h"
#include "toe/TcpCompletionQueue.h"
#include "toe/TcpOffloadCapabilities.h"
#include "toe/TcpConnectionStatistics.h"
#include "toe/TcpOffloadHandle.h"
#include "toe/TcpSegmentOutput.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace nexnet {

class EventLoop;
class HostStackBridge;
class InetStack;
class TcpCompletionSink;
class TcpControlBlock;

/// The TCP offload engine of one nexnet interface that runs beside a HostStackBridge: the Linux
/// kernel opens connections as usual (its tap stands for the interface), and a connection handed
/// to the engine is carried by the engine alone from then on (seed claims 16, 20).
///
/// @verbatim
///   peer == wire == [InetStack 50: claims offloaded 4-tuples -> engine] -- bridge 100 -- host tap == kernel
///                    engine's ACKs -> InetStack::sendIpv4 -> wire          host tap -> [engine's filter 50:
///                                                                           the kernel's frames for an
///                                                                           offloaded 4-tuple dropped]
///                                                                           -> bridge 100 -> wire
/// @endverbatim
///
/// offload() (claims 5, 6, 18, 20): the 4-tuple is claimed in both directions first, then
/// TcpRepair::capture puts the socket in repair mode and reads its state and queues; the socket
/// stays open as the port's placeholder. The kernel's unread bytes are placed first, timestamps
/// continue the kernel's clock. The application gets an opaque TcpOffloadHandle.
///
/// postReceive() (claims 1-4, 13, 15, 17): the application names memory and a length; the engine
/// copies payload into it free of headers and in order, straight from the received netbuf,
/// acknowledging as it places; out-of-order segments wait (bounded) in their netbufs; the window
/// advertised is the posted room. flush() (claim 8) completes a partly filled buffer. Completions
/// (full, flushed, end of stream, reset) go to a TcpCompletionSink: the engine's
/// TcpCompletionQueue (an eventfd) unless Options::sink names another, such as an event channel
/// of the asynchronous I/O layer.
///
/// postSend() (claim 9): the application names memory and a length to send; the engine sends it
/// after the kernel's unacknowledged and unsent bytes, cut by the MSS, within the peer's window and
/// NewReno's congestion window (SACK recovery when negotiated), retransmits on an RFC 6298 timer
/// and on duplicate ACKs, probes a zero window, sends keepalives when the socket had SO_KEEPALIVE,
/// and completes each buffer (TcpCompletion::send) once the peer acknowledged it. shutdown() sends
/// our FIN after the data. No TSO: segments are built at most one MSS each in the pool's 2 KB
/// netbufs (InetStack sends every datagram as it is, so a super-segment would be fragmented).
///
/// Claim 14: urgent data (URG) or an option that changes how segments are read (TCP-MD5, TCP-AO,
/// MPTCP) stops the connection, unacknowledged, and a completion with EOPNOTSUPP asks the
/// application to handBack() it: the kernel then receives the peer's retransmission and carries
/// what the engine does not. Statistics::urgentHandBacks and optionHandBacks count them.
///
/// handBack() writes the engine's state into a new kernel socket (TcpRepair::restore); close()
/// ends the connection in the engine.
///
/// The interface records the engine's capabilities while it runs (NetworkInterface::tcpOffload(),
/// claim 11); TcpOffloadPolicy offloads connections by itself when asked (claim 7).
///
/// Threads: every call, like InetStack's, on the interface's thread; nothing blocks except the
/// few system calls of offload and handBack (control path). No allocation, lock or system call
/// per segment.
class TcpOffloadEngine : public Ipv4Protocol {
public:
    /// How the engine is made.
    struct Options {
        unsigned maxConnections = 256;       ///< Connections carried at once.
        unsigned completionCapacity = 1024;  ///< Initial size of the engine's completion queue.
        /// Where completions go; nullptr: the engine's own TcpCompletionQueue (completionQueue()).
        /// Not owned; must outlive the engine.
        TcpCompletionSink* sink = nullptr;
        int hostPriority = 50;  ///< Priority of the kernel-side filter on the bridge's host interface (< 100).
    };
    /// Counters of the whole engine.
    struct Statistics {
        std::uint64_t offloaded = 0;            ///< Connections taken over.
        std::uint64_t handedBack = 0;           ///< Connections restored into kernel sockets.
        std::uint64_t closed = 0;               ///< Connections ended in the engine.
        std::uint64_t kernelFramesDropped = 0;  ///< Frames the kernel sent for an offloaded 4-tuple, stopped.
        std::uint64_t checksumErrors = 0;       ///< Claimed segments with a bad TCP checksum.
        std::uint64_t malformed = 0;            ///< Claimed segments TcpView refused.
        std::uint64_t unclaimed = 0;            ///< Segments given to the engine for no connection of its.
        std::uint64_t urgentHandBacks = 0;      ///< Hand-backs asked because the peer sent urgent data (claim 14).
        std::uint64_t optionHandBacks = 0;      ///< Hand-backs asked for an option the engine does not carry.
    };

    /// Puts an engine on @p stack, which must run beside @p bridge (InetStack::Options::bridge):
    /// it becomes the stack's TCP handler and filters the bridge's host interface. Both must
    /// outlive the engine. Control thread (the interface's); does not block.
    /// Errors: EINVAL (the stack is not beside the bridge, hostPriority not under 100), the
    /// completion queue's.
    static Result<std::unique_ptr<TcpOffloadEngine>> create(InetStack& stack, HostStackBridge& bridge,
                                                            const Options& options);
    /// Resets the connections still carried (RST to each peer), closes their placeholders and
    /// unhooks from the stack and the bridge.
    ~TcpOffloadEngine() override;
    TcpOffloadEngine(const TcpOffloadEngine&) = delete;
    TcpOffloadEngine& operator=(const TcpOffloadEngine&) = delete;

    /// Takes the established connection of kernel socket @p fd over. The socket must run through
    /// the interface (local address the stack's). On success @p fd is the engine's placeholder:
    /// the caller must not use or close it. Errors, with a message: EADDRNOTAVAIL (another
    /// interface's connection), ENOSPC (maxConnections carried), EALREADY (already offloaded),
    /// TcpRepair::capture's (EPERM, EINVAL for a connection not established); on failure the
    /// socket is as it was.
    Result<TcpOffloadHandle> offload(int fd);
    /// Posts @p length bytes at @p buffer for the payload of @p connection; the buffer is the
    /// engine's until its completion names it. @p cookie comes back in the completion.
    /// @return 0, ENOENT (no such connection), EINVAL (empty), ENOBUFS (64 buffers posted),
    /// EPIPE (the stream ended or was reset).
    int postReceive(TcpOffloadHandle connection, void* buffer, std::size_t length, std::uint64_t cookie);
    /// Posts @p length bytes at @p buffer to send on @p connection (claim 9), after what is queued;
    /// the buffer is the engine's (read, never written) until its completion (send true, error 0
    /// once the peer acknowledged every byte). @p cookie comes back in the completion.
    /// @return 0, ENOENT, EINVAL (empty), ENOBUFS (64 buffers queued), EPIPE (shutdown() called,
    /// or the connection ended or waits for hand-back).
    int postSend(TcpOffloadHandle connection, const void* buffer, std::size_t length, std::uint64_t cookie);
    /// Sends our FIN after the data queued on @p connection (shutdown(SHUT_WR)); receiving goes on
    /// until the peer's FIN. @return 0, ENOENT, or EPIPE (the connection ended).
    int shutdown(TcpOffloadHandle connection);
    /// Completes @p connection's partly filled front buffer now (claim 8).
    /// @return 0, ENOENT, or EAGAIN (no buffer posted, or it holds nothing).
    int flush(TcpOffloadHandle connection);
    /// Gives @p connection back to the kernel: posted buffers complete (with what they hold;
    /// ECANCELED when empty), send buffers complete (the kernel takes their unacknowledged bytes),
    /// the placeholder is closed silently, and the engine's state goes
    /// into @p fd, a fresh TCP socket of the connection's network namespace (-1: one made in the
    /// caller's), through TcpRepair::restore. The returned socket carries on with recv/send; the
    /// handle is dead. Errors: ENOENT, EINVAL (the peer already closed: close() it instead),
    /// TcpRepair::restore's (the connection is then lost, as the peer will learn).
    Result<int> handBack(TcpOffloadHandle connection, int fd = -1);
    /// Ends @p connection: after shutdown() or the peer's FIN, ours goes after the queued data and
    /// the connection ends once both FINs are acknowledged (retransmitted on attach()'s timer);
    /// otherwise resets it. Receive buffers complete. The handle is dead once the close finishes.
    /// @return 0 or ENOENT.
    int close(TcpOffloadHandle connection);
    /// @p connection's counters (claim 12), or nullptr for a dead handle. Valid until the next
    /// call that ends a connection.
    const TcpConnectionStatistics* statistics(TcpOffloadHandle connection) const;
    /// The engine's counters.
    const Statistics& statistics() const { return statistics_; }
    /// What the engine can carry (claims 10, 19): a stack asks before it offloads. create()
    /// records the answer in the interface's structure (NetworkInterface::tcpOffload, claim 11).
    TcpOffloadCapabilities capabilities() const;
    /// The engine's own completion queue, nullptr when Options::sink replaced it.
    TcpCompletionQueue* completionQueue() { return queue_.get(); }
    /// Connections carried now.
    unsigned connections() const;

    /// Runs tick() on @p loop every 10 ms (retransmission, persist and keepalive timers; the RTO's
    /// floor is 200 ms). @return 0 or the timer's errno.
    int attach(EventLoop& loop);
    /// Stops attach()'s timer.
    void detach();
    /// Runs the timers now.
    void tick();

    /// Ipv4Protocol: true for a segment of an offloaded connection from its peer.
    bool claims(const Ipv4View& ip) override;
    /// Ipv4Protocol: processes a claimed segment (checksum, then the connection's input).
    void input(Netbuf* packet, const Ipv4View& ip) override;
    /// Ipv4Protocol: sends the ACKs the burst owes, in one burst.
    void finishInput() override;

private:
    class KernelOutputFilter;
    struct Claim {
        std::uint32_t localAddress, remoteAddress;  // network order
        std::uint16_t localPort, remotePort;        // host order
        std::uint32_t slot;
    };
    TcpOffloadEngine(InetStack& stack, HostStackBridge& bridge, const Options& options);
    TcpControlBlock* find(TcpOffloadHandle handle) const;
    const Claim* claimFor(std::uint32_t source, std::uint16_t sourcePort, std::uint32_t destination,
                          std::uint16_t destinationPort, bool fromPeer) const;
    bool kernelFrameClaimed(Netbuf* frame) const;
    void release(std::uint32_t slot);
    void releaseClosed();

    InetStack& stack_;
    HostStackBridge& bridge_;
    Options options_;
    std::unique_ptr<TcpCompletionQueue> queue_;
    TcpCompletionSink* sink_;
    TcpSegmentOutput output_;
    std::unique_ptr<KernelOutputFilter> filter_;
    std::vector<std::unique_ptr<TcpControlBlock>> blocks_;  // by slot
    std::vector<std::uint32_t> generations_;                // by slot
    std::vector<Claim> claims_;                             // the 4-tuples claimed, both directions
    Statistics statistics_;
    EventLoop* loop_ = nullptr;
    std::uint64_t timer_ = 0;
    TcpOffloadCapabilities recorded_;  // what the interface's record points to
};

}  // namespace nexnet
