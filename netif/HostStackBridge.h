#pragma once
/// @file HostStackBridge.h
/// @brief HostStackBridge: the Linux IP stack as a nexnet interface's network layer, through an
/// exception-path tap (as DPDK's virtio-user exception path).

#include "netbuf/Result.h"
#include "netif/InputConsumer.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <netinet/in.h>
#include <span>
#include <string>

namespace nexnet {

class EventLoop;
class NetworkInterface;

/// "The network layer" of the app-rings seed for an interface run by a nexnet driver: a tap
/// device whose kernel end the Linux stack owns (addresses, routes, sockets), bridged frame for
/// frame to the nexnet interface.
///
/// @verbatim
///    wire (any nexnet driver)                        host tap (kernel end: the Linux IP stack)
///    receive -> [AppRing, priority 0] -> bridge (priority 100) -> host tap transmit -> Linux
///    transmit <- [AppRing interceptor] <- wire.outputBurst <- bridge <- host tap receive <- Linux
/// @endverbatim
///
/// So the kernel processes what the driver receives unless an app ring intercepts it (rx
/// intercept, bypass, non-network), and what the kernel sends goes out through the driver, seen
/// first by a tx-intercept ring. Without app rings it is a transparent L2 exception path.
/// The host tap gets the wire interface's hardware address and MTU when the wire driver has them
/// (mirroring), so the kernel's interface stands for the nexnet one.
///
/// Frames are handed over without copies when both drivers share a pool; otherwise the tap
/// driver copies them in its writev. Does not own the wire interface, which must outlive it.
///
/// Queues: the host tap has as many queue pairs as the wire (a multi-queue tap), and wire queue q
/// is bridged to host queue q both ways, on q's thread: what wire queue q receives goes to the
/// kernel through host queue q, and the kernel spreads what it sends over the host queues by
/// flow hash (tun's queue selection), each flow on one queue, which goes out on the wire's queue
/// of the same number. Run both on the same loops (attach(loops) with the wire's) and nothing is
/// shared between the queues' threads.
class HostStackBridge : public InputConsumer {
public:
    /// How the exception path is made.
    struct Options {
        std::string hostName;       ///< Name of the kernel-facing tap (empty: the kernel picks).
        bool mirrorAddress = true;  ///< Give the host tap the wire's Ethernet address and MTU.
        /// Bring the kernel's interface up in attach (`ip link set NAME up`). Off, its
        /// administrative state is left to whoever administers its namespace.
        bool kernelUp = false;
        /// An IPv4 address (network order) attach gives the kernel's interface, with
        /// kernelNetmask; INADDR_ANY (the default) leaves addresses to the administrator.
        in_addr kernelAddress{};
        in_addr kernelNetmask{};  ///< Netmask of kernelAddress (network order).
    };

    /// Counters of both directions.
    struct Statistics {
        std::uint64_t toHost = 0;    ///< Frames given to the Linux stack.
        std::uint64_t fromHost = 0;  ///< Frames the Linux stack sent out through the wire.
    };

    /// Opens the host tap, with as many queues as @p wire's driver, and hooks into @p wire as its
    /// input consumer at priority 100. Errors: the tap driver's (EPERM without CAP_NET_ADMIN,
    /// ENOENT without /dev/net/tun).
    static Result<std::unique_ptr<HostStackBridge>> create(NetworkInterface& wire, const Options& options);
    /// Unhooks from the wire and closes the host tap (its kernel interface goes away).
    ~HostStackBridge() override;
    HostStackBridge(const HostStackBridge&) = delete;
    HostStackBridge& operator=(const HostStackBridge&) = delete;

    /// Brings the driver's end of the host tap up (its carrier on) and runs it on @p loop
    /// (interrupt mode). The kernel's end is configured only as Options say (kernelUp,
    /// kernelAddress): otherwise its state and addresses stay the administrator's (`ip link set
    /// NAME up`, `ip addr add`), as a NIC never configures its link partner. Control thread;
    /// does not block. @return 0 or an errno (of the tap, or of the kernel end's ioctls).
    int attach(EventLoop& loop);
    /// As attach(loop), with host queue q on loops[q % loops.size()]: pass the loops the wire runs
    /// on (QueueWorkers::loops()), while they are stopped. Destroy the bridge while they are stopped.
    int attach(std::span<EventLoop* const> loops);
    /// The kernel-facing interface (its name: host().name()). What the kernel sends arrives here
    /// and goes to the wire through the bridge's input consumer at priority 100: a layer that
    /// must see (or stop) the kernel's frames before the wire adds its own InputConsumer here at
    /// a lower priority (the TCP offload engine drops the kernel's frames for the connections it
    /// carries).
    NetworkInterface& host() { return *host_; }
    /// The kernel interface's name now.
    std::string hostName() const;
    /// Counters, summed over the queues. Any thread.
    Statistics statistics() const;

    /// Takes every frame left by consumers before it (app rings) and gives it to the kernel
    /// through host queue @p queue. On the queue's thread.
    void consumeInput(NetworkInterface& interface, unsigned queue, Netbuf** packets, unsigned count) override;

private:
    class HostInput;
    // One queue pair's counters, each written by the queue's thread only.
    struct alignas(64) QueueCounts {
        std::atomic<std::uint64_t> toHost{0};
        std::atomic<std::uint64_t> fromHost{0};
    };
    static constexpr unsigned kMaxQueues = 16;  // IONetwork::kMaxQueues

    HostStackBridge(NetworkInterface& wire, const Options& options);
    void mirror();
    int configureKernelEnd();

    NetworkInterface& wire_;
    Options options_;
    std::unique_ptr<NetworkInterface> host_;
    std::unique_ptr<HostInput> hostInput_;
    std::array<QueueCounts, kMaxQueues> counts_{};
};

}  // namespace nexnet
