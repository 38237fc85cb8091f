#pragma once
/// @file NetworkInterface.h
/// @brief NetworkInterface: a driver seen as an interface (flags, addresses, MTU, statistics, ioctls).

#include "framework/IONetbufQueue.h"
#include "framework/IONetwork.h"
#include "netbuf/Result.h"
#include "netif/InputConsumer.h"
#include "netif/OutputInterceptor.h"
#include "netif/OutputObserver.h"
#include "netif/OutputQueue.h"
#include "netif/netif.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <netinet/in.h>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nexnet {

class EventLoop;
struct TcpOffloadCapabilities;

/// Counters of one direction of an interface, as `ip -s link` shows them: the driver's queue
/// counters summed, with the drops and errors of the interface's own layers (frames nobody took,
/// runts, output the queue could not hold), which report to the same counters.
using InterfaceStatistics = QueueStatistics;

/// A network interface over a driver: what struct ifnet is to a BSD driver.
///
/// It owns the driver, receives its bursts (it is the driver's IONetworkClient) and offers them to
/// its input consumers, queues and transmits output, keeps the interface's flags, protocol
/// addresses and statistics, and answers IFCONTROL_* commands and Linux SIOC* ioctls: the
/// hardware ones (flags, hardware address, MTU, multicast) through the driver's performCommand,
/// the protocol ones (SIOCGIFADDR / SIOCSIFADDR, SIOCGIFNETMASK / SIOCSIFNETMASK) itself; with no
/// address assigned the two gets fail with EADDRNOTAVAIL, as on Linux.
///
/// Run it in interrupt mode (attach with Mode::interrupt: the event loop sleeps until a queue's
/// eventfd fires) or poll mode (Mode::poll: the loop spins on receive bursts), or call poll()
/// from your own loop.
///
/// Threads and queues: each of the driver's queue pairs may run on its own thread (attach with
/// one loop per thread, as QueueWorkers does): queue q's receive bursts, the input consumers'
/// work on them, and queue q's output (its own output queue, flushed on its own thread) all run
/// on q's thread, holding the queue through the driver's QueueGate. Input consumers see the
/// queue a burst came from and output they send from inside it goes out on the same queue
/// (outputBurst without a queue), so a flow received on one queue stays on one thread both ways.
/// Control calls (performCommand, setFlags, setAddress, adding consumers and observers) close the
/// gate: they may be made from any thread while the queues run, and wait for the bursts under way.
/// Layers that keep unshared state and run on the interface's one thread (InetStack, AppRing: an
/// input consumer and the output interceptor) say so with claimSingleThread(): while one is
/// there, attach refuses to spread the queues over several threads, and such a layer cannot be
/// put on an interface whose queues already run on several (EBUSY, with a message saying what
/// to do). As with DPDK's lcores, a layer that is not thread-safe gets a queue, an interface or
/// a port of its own; nexnet refuses instead of racing.
class NetworkInterface : public IONetworkClient {
public:
    /// How the event loop drives the interface.
    enum class Mode { interrupt, poll };
    /// Packets received or sent per burst.
    static constexpr unsigned kBurst = 32;

    /// Wraps @p driver; the interface owns it from here on. @p outputQueueLimit bounds the
    /// packets waiting for room in the driver's transmit ring.
    explicit NetworkInterface(std::unique_ptr<IONetwork> driver, unsigned outputQueueLimit = 1024);
    ~NetworkInterface() override;
    NetworkInterface(const NetworkInterface&) = delete;
    NetworkInterface& operator=(const NetworkInterface&) = delete;

    /// The driver.
    IONetwork& driver() { return *driver_; }
    /// The interface name (the driver's name).
    const std::string& name() const { return driver_->name(); }

    // ---- configuration ---------------------------------------------------------------------

    /// Performs a control command: the IFCONTROL_* set of netif.h (see IOEthernet::performCommand),
    /// with IFCONTROL_UNIXIOCTL extended by the protocol-address ioctls, or a driver's own.
    /// @return 0 or an errno (EINVAL for unknown commands and bad data).
    int performCommand(std::string_view command, void* data);
    /// Performs the SIOC* @p request with @p ifr, as ioctl(2) on a socket would.
    /// @return 0 or an errno (EOPNOTSUPP for requests nexnet does not implement).
    int ioctl(unsigned long request, ifreq* ifr);

    /// Interface flags (IFF_UP, IFF_RUNNING, IFF_PROMISC, IFF_ALLMULTI, ...). Any thread.
    unsigned flags();
    /// Sets the flags through IFCONTROL_SETFLAGS: IFF_UP brings the driver up (then calls its
    /// finishInitialization), its absence down; IFF_PROMISC and IFF_ALLMULTI switch the filters.
    int setFlags(unsigned flags);
    /// setFlags(flags() | IFF_UP).
    int setUp() { return setFlags(flags() | IFF_UP); }
    /// The IPv4 address, INADDR_ANY when none (network order).
    in_addr address() const { return address_; }
    /// The IPv4 netmask (network order).
    in_addr netmask() const { return netmask_; }
    /// Sets the IPv4 address and netmask, with the queues stopped for the change (a control call).
    /// @return 0, or EINVAL for a non-contiguous netmask.
    int setAddress(in_addr address, in_addr netmask);
    /// The MTU.
    unsigned mtu() const { return driver_->mtu(); }

    // ---- input -----------------------------------------------------------------------------

    /// Adds @p consumer; lower @p priority runs first (app-ring intercepts use 0, protocols 100).
    /// The interface does not own it; remove it before destroying it. A control call: any thread,
    /// also while the queues run (it waits for the bursts under way).
    void addInputConsumer(InputConsumer* consumer, int priority = 100);
    /// Removes @p consumer; once it returns, no queue thread is inside it. @return 0 or ENOENT.
    int removeInputConsumer(InputConsumer* consumer);

    /// Offers @p count received frames to the consumers whose priority is above @p afterPriority,
    /// as if just received on @p queue (not counted again): how an rx-intercept app ring
    /// re-injects what the network layer should process as received. The interface owns the
    /// netbufs from here on; frames nobody takes are freed and counted as drops. On the queue's
    /// thread (it holds the queue meanwhile; when a control call holds the driver, the frames are
    /// dropped and counted).
    void injectInput(unsigned queue, Netbuf** packets, unsigned count, int afterPriority);

    /// Receives one burst from every queue and dispatches it, then transmits queued output, all
    /// on the calling thread: for an interface run by one thread. @return the packets received.
    unsigned poll();
    /// Holding queue @p queue: receives one burst from it, dispatches it, then transmits the
    /// queue's queued output. What a queue's thread calls in poll mode. Never blocks.
    /// @return the packets received (0 also while a control call holds the driver).
    unsigned pollQueue(unsigned queue);

    /// Runs the interface on @p loop in @p mode, every queue on it. Interrupt mode needs driver
    /// eventfds; for a driver without them it falls back to poll mode and says so in the result.
    /// @return the mode in use, or an errno (EBUSY when already attached).
    Result<Mode> attach(EventLoop& loop, Mode mode);
    /// Runs queue q on loops[q % loops.size()], each loop on its own thread (QueueWorkers), and
    /// the driver's timeouts on loops[0]. Call it while none of the loops runs (their threads are
    /// stopped or not started). @return the mode in use, or an errno (EBUSY when already attached,
    /// EINVAL for no loops).
    Result<Mode> attach(std::span<EventLoop* const> loops, Mode mode);
    /// Stops running on the event loops. Call it while none of them runs (or on the only one).
    void detach();
    /// Declares that @p layer (a name for messages: "InetStack", "an app ring") runs only on the
    /// interface's one thread, its state unshared: until releaseSingleThread(), attach refuses
    /// to run the queues on several threads (EBUSY, naming the layer). Called by such a layer
    /// when it is put on the interface (a control call: any thread, never blocks for long).
    /// @return success, or EBUSY with a message when the queues already run on several threads.
    Status claimSingleThread(std::string_view layer);
    /// Ends one claimSingleThread() of @p layer (a control call).
    void releaseSingleThread(std::string_view layer);
    /// True when queues run on more than one thread (attached to several loops).
    bool isMultiThreaded() const { return multiThreaded_; }
    /// The queue the calling thread is handling: set while an interface runs a queue's burst or
    /// interrupt on it, and while a consumer handles a burst from that queue; 0 elsewhere. What
    /// outputBurst without a queue sends on.
    static unsigned currentQueue();

    // ---- output ----------------------------------------------------------------------------

    /// Sends a burst of complete frames, in order: what protocols and applications call. The
    /// output interceptor (a tx-intercept app ring) sees it first and may take frames; observers
    /// see the rest, then the driver; what its ring cannot take now is queued, what the queue
    /// cannot hold is freed and counted as a transmit drop (as is everything while the interface
    /// is down, or held by a control call). The interface owns the netbufs from the call on.
    /// Sent on transmit queue currentQueue(): the queue whose burst the calling thread is
    /// handling. @return the number the interceptor took, the driver accepted or the queue holds.
    unsigned outputBurst(Netbuf** packets, unsigned count) { return outputBurst(currentQueue(), packets, count); }
    /// As outputBurst, on transmit queue @p queue (modulo the driver's queues), which the calling
    /// thread must be the one to use (the queue's thread, or the only thread).
    unsigned outputBurst(unsigned queue, Netbuf** packets, unsigned count);
    /// As outputBurst, but the interceptor does not see the frames: what the interceptor itself
    /// hands on (an app ring's ring 2 in tx-intercept or bypass mode), which must not be
    /// intercepted twice. On currentQueue(). @return the number accepted or queued.
    unsigned outputInterceptedBurst(Netbuf** packets, unsigned count) {
        return outputInterceptedBurst(currentQueue(), packets, count);
    }
    /// As outputInterceptedBurst, on transmit queue @p queue.
    unsigned outputInterceptedBurst(unsigned queue, Netbuf** packets, unsigned count);
    /// NeXT's single-packet path: the driver fills in the link addresses (@p address, or the
    /// frame's destination when nullptr) and pads (IONetwork::outputPacket). Not intercepted,
    /// observed or queued: a full ring drops the packet. Transmit queue 0: from queue 0's thread.
    /// @return 0 or the driver's errno.
    int outputPacket(Netbuf* packet, const void* address);
    /// Sends queued output until the driver refuses or the queues are empty, every queue from the
    /// calling thread: for an interface run by one thread. @return the number the driver accepted.
    unsigned flushOutput();
    /// Sends transmit queue @p queue's queued output until the driver refuses or it is empty, on
    /// the queue's thread. pollQueue() and the interrupt handlers call it. @return the number sent.
    unsigned flushOutput(unsigned queue);
    /// Makes @p interceptor see (and take what it wants of) every burst given to outputBurst;
    /// nullptr removes it. The interface does not own it. A control call (any thread).
    /// @return 0, or EBUSY when another interceptor is set.
    int setOutputInterceptor(OutputInterceptor* interceptor);
    /// Adds @p observer, called with every burst sent through outputBurst or
    /// outputInterceptedBurst while the interface is up, before the driver takes it (see
    /// OutputObserver). The interface does not own it; remove it before destroying it. A control
    /// call (any thread).
    void addOutputObserver(OutputObserver* observer);
    /// Removes @p observer; once it returns, no queue thread is inside it. @return 0 or ENOENT.
    int removeOutputObserver(OutputObserver* observer);
    /// Packets waiting in every output queue: exact on the only thread, or while the queues stop.
    unsigned outputQueued() const;
    /// Packets waiting in transmit queue @p queue's output queue: exact on the queue's thread.
    unsigned outputQueued(unsigned queue) const;

    // ---- link and statistics ---------------------------------------------------------------

    /// Calls @p handler(up) on the thread that noticed whenever the driver's link goes up or down
    /// (an empty function removes it). Queued output is retried when the link comes up.
    void setLinkHandler(std::function<void(bool up)> handler) { linkHandler_ = std::move(handler); }
    /// Receive counters: the driver's, summed over its queues, with the interface's own drops
    /// (frames no consumer took) and errors (runts). Any thread.
    InterfaceStatistics receiveStatistics() const { return driver_->receiveTotals(); }
    /// Transmit counters: the driver's, summed over its queues, with the interface's own drops
    /// (output while down, output the queue could not hold). Any thread.
    InterfaceStatistics transmitStatistics() const { return driver_->transmitTotals(); }

    // ---- offloads ---------------------------------------------------------------------------

    /// What the TCP offload engine running on the interface can carry, as its capability query
    /// answered when it attached (seed claim 11: the stack records the offload device's
    /// capabilities in its structure for the interface, as BSD's ifnet keeps its TOE's), or nullptr
    /// while none runs. The value belongs to the engine (toe/TcpOffloadCapabilities.h describes it).
    /// Control thread.
    const TcpOffloadCapabilities* tcpOffload() const { return tcpOffload_; }
    /// Records @p capabilities (nullptr: clears the record). TcpOffloadEngine calls it when made
    /// and destroyed; the pointee must stay valid until cleared.
    void setTcpOffload(const TcpOffloadCapabilities* capabilities) { tcpOffload_ = capabilities; }

    // IONetworkClient
    /// Offers a received burst to the input consumers (the driver counted it); frees and counts
    /// what nobody took, and counts runts (shorter than an Ethernet header) as receive errors.
    void inputBurst(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) override;
    /// Calls the link handler; on link up, retries the queued output of the queues the calling
    /// thread may use (every queue when one thread runs the interface; the others retry on theirs).
    void linkChanged(IONetwork& driver, bool up) override;
    /// Retries transmit queue @p queue's queued output.
    void outputRoomAvailable(IONetwork& driver, unsigned queue) override;

private:
    // A loop's poll-mode poller.
    struct LoopPoller {
        EventLoop* loop;
        std::uint64_t token;
    };

    /// Frees the packets no consumer took and counts them as receive drops on @p queue.
    void dropUntaken(unsigned queue, Netbuf** packets, unsigned count);
    int performProtocolIoctl(unsigned long request, ifreq* ifr, bool& handled);
    void serviceInterrupt(unsigned queue);
    void afterInterrupt(unsigned queue);
    bool pollQueues(const std::vector<unsigned>& queues);
    int watchInterrupts(unsigned queue, EventLoop& loop);
    void dropQueuedOutput();

    std::unique_ptr<IONetwork> driver_;
    std::vector<std::pair<int, InputConsumer*>> consumers_;
    std::vector<OutputObserver*> outputObservers_;
    OutputInterceptor* interceptor_ = nullptr;
    std::vector<std::unique_ptr<OutputQueue>> transmitQueues_;  // one per driver queue
    std::function<void(bool)> linkHandler_;
    in_addr address_{};
    in_addr netmask_{};
    const TcpOffloadCapabilities* tcpOffload_ = nullptr;
    unsigned softFlags_ = 0;
    bool attached_ = false;
    bool multiThreaded_ = false;
    std::vector<std::pair<EventLoop*, int>> watchedFds_;
    std::vector<std::string> singleThreadLayers_;  // claimSingleThread, in order
    std::vector<LoopPoller> pollers_;
};

}  // namespace nexnet
