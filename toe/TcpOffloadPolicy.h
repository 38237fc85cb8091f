#pragma once
/// @file TcpOffloadPolicy.h
/// @brief TcpOffloadPolicy: offloads a kernel connection to the TCP offload engine once a
/// heuristic says it is worth it (seed claim 7).

#include "netbuf/Result.h"
#include "netif/InputConsumer.h"
#include "toe/TcpOffloadHandle.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace nexnet {

class EventLoop;
class NetworkInterface;
class TcpOffloadEngine;

/// The stack's heuristic (seed claim 7): connections the application lets go are watched on the
/// bridged path, and one whose peer sends in bulk is offloaded to the engine; the rest stay with
/// the kernel. Off by default (Options::enabled): offloading changes how the application receives
/// (posted buffers instead of recv), so it must be asked for.
///
/// The heuristic: the peer's payload bytes for the connection, counted as the frames pass to the
/// kernel (an input consumer of the wire after the InetStack, before the bridge), reach
/// Options::bulkBytes within one Options::window: a bulk receive at a sustained rate. A short
/// exchange never gets there. The decision runs on the loop shortly after (a one-shot timer, not
/// in the middle of a receive burst): TcpOffloadEngine::offload, then the application's handler
/// gets the handle (and posts buffers); the descriptor is the engine's placeholder from then on.
///
/// Every decision is counted (Statistics): considered (the heuristic fired), offloaded, declined
/// with the reason (the engine full, the offload refused), and watched connections let go below
/// the threshold. Threads: the interface's thread, as the engine's; nothing blocks but the offload
/// itself (control path). Per frame while enabled and watching: a parse of the headers and a look
/// over the watched connections.
class TcpOffloadPolicy : public InputConsumer {
public:
    /// How the policy decides.
    struct Options {
        bool enabled = false;                    ///< Off by default: nothing is watched or counted.
        std::uint64_t bulkBytes = 1u << 20;      ///< Peer payload that makes a connection bulk...
        std::chrono::milliseconds window{1000};  ///< ...when it arrives within this time.
        int priority = 60;                       ///< On the wire: after the InetStack (50), before the bridge (100).
        std::chrono::milliseconds decisionDelay{1};  ///< From the heuristic firing to the offload.
    };
    /// The decisions.
    struct Statistics {
        std::uint64_t watched = 0;          ///< Connections handed to watch().
        std::uint64_t considered = 0;       ///< Connections whose heuristic fired.
        std::uint64_t offloaded = 0;        ///< Of those, offloaded.
        std::uint64_t declinedFull = 0;     ///< Of those, declined: the engine carried its maximum (ENOSPC).
        std::uint64_t declinedRefused = 0;  ///< Of those, declined: the offload failed otherwise.
        std::uint64_t belowThreshold = 0;   ///< Let go (unwatch) without the heuristic firing.
    };
    /// Called on the loop when the policy offloaded @p fd's connection: @p handle names it now.
    using OffloadedHandler = std::function<void(int fd, TcpOffloadHandle handle)>;

    /// Puts a policy on @p wire (the interface the engine's stack runs on) for @p engine, deciding
    /// on @p loop (the interface's). All three must outlive it. Control thread; does not block.
    /// Errors: EINVAL (bulkBytes 0, a priority not between the stack's and the bridge's).
    static Result<std::unique_ptr<TcpOffloadPolicy>> create(NetworkInterface& wire, TcpOffloadEngine& engine,
                                                            EventLoop& loop, const Options& options);
    /// Unhooks from the wire and cancels a pending decision.
    ~TcpOffloadPolicy() override;
    TcpOffloadPolicy(const TcpOffloadPolicy&) = delete;
    TcpOffloadPolicy& operator=(const TcpOffloadPolicy&) = delete;

    /// Lets the policy offload connected kernel socket @p fd when its heuristic fires; @p handler
    /// hears of it. The caller keeps using @p fd (recv) until then. @return 0, EINVAL (not a
    /// connected IPv4 TCP socket), EALREADY (watched already), EPERM (the policy is off).
    int watch(int fd, OffloadedHandler handler);
    /// Stops watching @p fd (the application closes it, or wants it kept in the kernel); counted
    /// as below the threshold. @return 0 or ENOENT (not watched: never, or already offloaded).
    int unwatch(int fd);
    /// Connections watched now.
    unsigned watching() const { return static_cast<unsigned>(watched_.size()); }
    /// The decisions so far.
    const Statistics& statistics() const { return statistics_; }

    /// InputConsumer: counts the peer's payload of watched connections; takes nothing.
    void consumeInput(NetworkInterface& interface, unsigned queue, Netbuf** packets, unsigned count) override;

private:
    struct Watched {
        int fd;
        std::uint32_t localAddress, remoteAddress;  // network order
        std::uint16_t localPort, remotePort;        // host order
        OffloadedHandler handler;
        std::uint64_t windowStartNs = 0;
        std::uint64_t windowBytes = 0;
        bool due = false;  // the heuristic fired: offload at the next decision
    };
    TcpOffloadPolicy(NetworkInterface& wire, TcpOffloadEngine& engine, EventLoop& loop, const Options& options);
    void observe(Netbuf* frame, std::uint64_t nowNs);
    void decide();

    NetworkInterface& wire_;
    TcpOffloadEngine& engine_;
    EventLoop& loop_;
    Options options_;
    std::vector<Watched> watched_;
    Statistics statistics_;
    std::uint64_t timer_ = 0;
    bool decisionPending_ = false;
};

}  // namespace nexnet
