#pragma once
/// @file IONetwork.h
/// @brief IONetwork: the driver protocol of NeXT's IONetwork, with burst receive and transmit and
/// the counting done once, by the framework.

#include "framework/IOCommands.h"
#include "framework/IODevice.h"
#include "framework/IONetworkClient.h"
#include "framework/QueueCounters.h"
#include "framework/QueueGate.h"
#include "netbuf/Netbuf.h"
#include "netbuf/NetbufPool.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace nexnet {

/// Link state reported by a driver.
enum class LinkStatus { unknown, down, up };

/// What a driver reports that the framework cannot see for itself (IONetwork::report).
enum class QueueEvent {
    receiveError,   ///< A frame lost to an error: bad descriptor, truncated or malformed frame.
    receiveDrop,    ///< A frame lost for lack of room: no netbuf to refill the ring with.
    transmitError,  ///< A frame the hardware refused or failed to send.
    transmitDrop,   ///< A frame dropped for lack of room (a queue above the driver was full).
    collision,      ///< A collision on a half-duplex link (NeXT's collisions counter).
};

/// The object between a network driver and the rest of nexnet, as NeXT's IONetwork protocol.
///
/// A driver subclasses IOEthernet (which implements most of this for Ethernet) or, for another
/// link type, IONetwork itself. The protocol has NeXT's four methods with their meaning kept:
/// allocateNetbuf, finishInitialization, outputPacket and performCommand. Beyond NeXT, for
/// speed, packets move in bursts through two entry points that the framework owns:
///
/// | caller calls (non-virtual) | which calls (the driver's override) | and counts          |
/// |----------------------------|-------------------------------------|---------------------|
/// | receive(queue, out, max)   | receiveBurst(queue, out, max)       | packets, bytes in   |
/// | send(queue, packets, n)    | transmitBurst(queue, packets, n)    | packets, bytes out  |
///
/// There is one virtual call per burst of up to 32-256 netbufs, never one per packet, and every
/// packet is counted once, here, on the counters of its queue. A driver counts nothing it
/// returns or accepts: it reports only what the framework cannot see (a ring it could not
/// refill, a bad descriptor, a frame the hardware refused) with report(). Those counters are
/// the one set an application reads (NetworkInterface::receiveStatistics sums them, with the
/// drops of the layers above, which report here too).
///
/// Received packets a driver pushes itself (from a callback, not through receiveBurst) go up
/// with handleInputPacket or handleInputBurst, which count them. Packets go up to the
/// IONetworkClient set with setClient (a NetworkInterface); the framework never depends on what
/// is above it.
///
/// Threading, one thread per queue pair: queue q's receive, send and interruptOccurred run on
/// one thread at a time, the queue's, concurrently with the other queues on theirs (DPDK's
/// lcores, netmap's per-ring threads); with one queue that is the event loop's thread. A driver
/// keeps whatever a queue's bursts touch (rings, spare netbufs, error counts) per queue, and
/// state shared by the queues (link state, MTU, filters) changes only in control calls. The
/// queue's counters are written only by its thread and read, summed, from any thread.
///
/// Control calls (performCommand, setMtu, resetAndEnable, setInterruptsEnabled) run while no
/// burst runs, without a lock on the data path: the queueGate() of the driver stops the queues at
/// a barrier for the length of the call (QueueGate.h). IOEthernet::performCommand and
/// NetworkInterface close it themselves; a program calling another control method directly
/// (setMtu) holds a QueueGate::Control around it. While it is closed, receive() and send() of
/// other threads return 0 and serviceInterrupt() false. Data-path calls never block; control
/// calls say how long they may (a hardware reset waits for the device). Debug builds catch a
/// queue used from two threads at once (QueueGate::kChecksQueueOwners).
class IONetwork : public IODevice {
public:
    /// Most queues a driver may have in each direction.
    static constexpr unsigned kMaxQueues = 16;
    /// Packets per receive in the base interruptOccurred and NetworkInterface::poll.
    static constexpr unsigned kBurst = 32;
    /// Most packets receiveAndDeliver takes in one call.
    static constexpr unsigned kMaxBurst = 256;
    /// Bursts the base interruptOccurred takes before letting other work run (then it asks the
    /// event loop to call it again): NAPI's budget, 64 x 32 = 2048 frames.
    static constexpr unsigned kInterruptBudget = 64;

    ~IONetwork() override;

    // ---- NeXT's protocol -------------------------------------------------------------------

    /// A netbuf for an impending output, or nullptr when the driver's cap on buffers is reached
    /// (NeXT: numBufs == maxNumBufs). Callers must handle nullptr. Any thread; never blocks.
    /// The caller owns the netbuf. Base: an empty netbuf from pool(), nullptr when the pool is
    /// exhausted or absent. An override returns netbufs the driver can transmit.
    virtual Netbuf* allocateNetbuf();

    /// Finishes bringing the hardware up, called by NetworkInterface once the interface went up
    /// (after IFCONTROL_SETFLAGS with IFF_UP made resetAndEnable enable it), on the control
    /// thread: what remains to do once running. An override must check isRunning() and touch the
    /// hardware only when it is true; it may block as long as its header says.
    /// @return 0 or an errno. Base: returns 0.
    virtual int finishInitialization();

    /// Sends one packet to the link-level @p address (6 bytes for Ethernet; nullptr keeps the
    /// destination already in the frame): NeXT's single-packet path, on transmit queue 0, on that
    /// queue's thread; never blocks. The driver owns @p packet from the call on, whatever the
    /// result. Counted like send().
    /// @return 0 or an errno (ENOBUFS when the transmit ring is full: the packet was dropped).
    /// Base: sends the frame as it is (no link header to fill). IOEthernet fills the Ethernet
    /// addresses and pads; an override must do the same for its link and then call send().
    virtual int outputPacket(Netbuf* packet, const void* address);

    /// Performs a control command (IFCONTROL_* from netif/netif.h, or one the driver defines),
    /// on the control thread. @p data is the command's argument, as documented with the command.
    /// May block as long as the method it leads to says (resetAndEnable).
    /// @return 0 or an errno; EINVAL for an unknown command or bad data. Base: EINVAL for all.
    /// An override handles its own commands and calls the base for the rest.
    virtual int performCommand(std::string_view command, void* data);

    // ---- the data path (the framework's entry points) -------------------------------------

    /// Receives up to @p max packets from receive queue @p queue into @p out, without blocking,
    /// and counts them (packets, bytes) on the queue. Called on the queue's thread by
    /// NetworkInterface::poll, interruptOccurred, a forwarding loop. The caller owns the netbufs.
    /// @return the number received (0 when none, when stopped, or for a queue out of range).
    unsigned receive(unsigned queue, Netbuf** out, unsigned max) {
        if (queue >= kMaxQueues) [[unlikely]]
            return 0;
        QueueGate::Pass pass(gate_, queue);
        if (!pass) [[unlikely]]
            return 0;
        unsigned n = receiveBurst(queue, out, max);
        if (n != 0) counters_[queue].countReceived(out, n);
        return n;
    }

    /// Receives one burst of up to @p max packets (at most kMaxBurst) from receive queue @p queue,
    /// as receive() does (counted), and hands it to the client, as an interrupt would: what a
    /// poll-mode loop calls (NetworkInterface::poll). On the queue's thread; never blocks.
    /// @return the number received and handed up.
    unsigned receiveAndDeliver(unsigned queue, unsigned max = kBurst);

    /// Queues up to @p count complete frames on transmit queue @p queue, without blocking, and
    /// counts what the driver accepted (less what it reported failed). Called on the queue's
    /// thread. The driver owns the accepted ones (the first n); the caller keeps the rest, to
    /// retry or free. Frames go out as they are: no address insertion or padding.
    /// @return n, the number accepted.
    unsigned send(unsigned queue, Netbuf** packets, unsigned count) {
        if (count == 0) [[unlikely]]
            return 0;
        queue = transmitQueue(queue);
        QueueGate::Pass pass(gate_, queue);
        if (!pass) [[unlikely]]
            return 0;
        QueueCounters& counters = counters_[queue];
        std::uint64_t bytes = QueueCounters::bytesOf(packets, count);
        unsigned n = transmitBurst(queue, packets, count);
        if (n != count) bytes -= QueueCounters::bytesOf(packets + n, count - n);
        counters.countTransmitted(n, bytes);
        return n;
    }

    /// The transmit queue send(@p queue) uses: @p queue itself below queueCount(), otherwise
    /// @p queue modulo queueCount(), so that each of the driver's queues has one gate. Any thread.
    unsigned transmitQueue(unsigned queue) const {
        unsigned queues = queues_.load(std::memory_order_relaxed);
        if (queues == 0) [[unlikely]]
            queues = cacheQueueCount();
        return queue < queues ? queue : queue % queues;
    }

    /// Counts @p count events the framework cannot see on @p queue, for the driver's data path
    /// (a receive ring it could not refill, a bad descriptor, a collision) and for the layers
    /// above (frames nobody took, an output queue that overflowed). Any thread: on the thread that
    /// holds the queue it is two plain stores; elsewhere (a control call dropping queued output)
    /// an atomic add on a counter of its own, summed into the queue's.
    void report(QueueEvent event, unsigned queue, std::uint64_t count = 1);
    /// Counts @p packet, which transmitBurst (or an earlier call of it) accepted, as failed
    /// (@p event transmitError or transmitDrop): it is then not counted as sent. Call it before
    /// freeing the packet; any thread, as report() (the queue's thread: no locked instruction).
    void report(QueueEvent event, unsigned queue, const Netbuf& packet);

    // ---- queues and interrupts ---------------------------------------------------------------

    /// Receive (and transmit) queues the driver has; constant from creation on. Any thread.
    /// Base: 1.
    virtual unsigned queueCount() const;

    /// A descriptor that is readable while receive queue @p queue has packets (or other work for
    /// interruptOccurred), or -1 when the driver has none (poll mode only). The event loop
    /// watches it level-triggered. It stays the same from creation to destruction (NetworkInterface
    /// watches it once, when attached). Any thread. Base: -1.
    virtual int interruptEventFd(unsigned queue) const;
    /// Turns interrupts of receive queue @p queue on (interrupt mode) or off (poll mode), on the
    /// control thread. @return 0, EINVAL for an unknown queue, EOPNOTSUPP when the driver has no
    /// interrupts. Base: 0 when interruptEventFd(queue) is a descriptor (one that always signals,
    /// as a socket, needs nothing armed), EOPNOTSUPP otherwise.
    virtual int setInterruptsEnabled(unsigned queue, bool enabled);
    /// Called on the queue's thread by the event loop when interruptEventFd(queue) is readable.
    /// Base: receives and hands up bursts until receive() returns 0, at most kInterruptBudget
    /// bursts; past the budget it asks the event loop to call it again on its next turn, so an
    /// edge-triggered source never stalls and other queues get their turn.
    /// An override must leave the descriptor not readable once the queue is empty (read its
    /// eventfd, acknowledge the device's cause register) and then call the base (or receive and
    /// hand up itself). A driver whose transmit completions free room calls transmitRoomAvailable.
    virtual void interruptOccurred(unsigned queue);
    /// Runs interruptOccurred(@p queue) as the data path: holding the queue through queueGate().
    /// What an event loop watching interruptEventFd(queue) calls, on the queue's thread.
    /// @return false when a control call holds the gate: nothing ran (the descriptor is still
    /// readable: the loop calls again).
    bool serviceInterrupt(unsigned queue) {
        if (queue >= kMaxQueues) [[unlikely]]
            return false;
        QueueGate::Pass pass(gate_, queue);
        if (!pass) return false;
        interruptOccurred(queue);
        return true;
    }
    /// The event loop queue @p queue's interrupts are delivered on (the base interruptOccurred
    /// posts its remaining work there): what setQueueEventLoop set, else eventLoop(). Any thread.
    EventLoop* queueEventLoop(unsigned queue) const {
        EventLoop* loop = queue < kMaxQueues ? queueLoops_[queue] : nullptr;
        return loop != nullptr ? loop : eventLoop();
    }
    /// Delivers queue @p queue's interrupts on @p loop (nullptr: eventLoop()), the loop of the
    /// thread that runs the queue. Called by NetworkInterface::attach, while the queue is not run.
    void setQueueEventLoop(unsigned queue, EventLoop* loop) {
        if (queue < kMaxQueues) queueLoops_[queue] = loop;
    }

    /// The gate that keeps control calls and each queue's data path apart (QueueGate.h).
    QueueGate& queueGate() { return gate_; }
    /// For a driver: transmit queue @p queue has room again (descriptors completed). The client
    /// retries the output it queued. Call it on the queue's thread, not from inside transmitBurst.
    void transmitRoomAvailable(unsigned queue);

    // ---- link ------------------------------------------------------------------------------

    /// Link state. Base: what the driver last set with setLinkStatus.
    LinkStatus linkStatus() const { return link_.load(std::memory_order_relaxed); }
    /// Records the link state and tells the client when it changes, once per change even when
    /// two threads notice it. Control or queue thread.
    void setLinkStatus(LinkStatus status);
    /// Maximum transmission unit: payload bytes after the link header.
    unsigned mtu() const { return mtu_; }
    /// Largest MTU the hardware accepts. Base: 1500.
    virtual unsigned maxMtu() const;
    /// Changes the MTU, on the control thread. An override programs the hardware and calls the
    /// base on success. @return 0, or EINVAL outside [68, maxMtu()].
    virtual int setMtu(unsigned mtu);

    /// A line saying how the driver runs, for a person ("io_uring writes", "IOMMU type1 mapping,
    /// 2 MiB pages", "native XDP, zero-copy"): nexnet never hides a slower mode. "" when the
    /// driver has nothing to say. The library does not print it; programs do.
    const std::string& modeDescription() const { return mode_; }
    /// Sets modeDescription(); a driver (or its factory) calls it once it knows how it runs.
    void setModeDescription(std::string description) { mode_ = std::move(description); }

    // ---- input -----------------------------------------------------------------------------

    /// Where received packets, link changes and transmit room go; without a client, received
    /// packets are freed and counted as drops. Set on the control thread while no burst runs.
    void setClient(IONetworkClient* client) { client_ = client; }
    /// The client set with setClient, or nullptr.
    IONetworkClient* client() const { return client_; }
    /// Hands one packet the driver received by itself (not through receiveBurst) up, as NeXT's
    /// handleInputPacket:extra:, on queue 0; counts it. @p extra is driver data passed through
    /// (unused by nexnet's clients). The client owns the netbuf afterwards.
    void handleInputPacket(Netbuf* packet, void* extra);
    /// Hands a burst the driver received by itself (a library callback) up from @p queue, and
    /// counts it. The client owns the netbufs afterwards.
    void handleInputBurst(unsigned queue, Netbuf** packets, unsigned count);

    // ---- buffers ---------------------------------------------------------------------------

    /// The pool the driver receives into and allocates from, or nullptr.
    NetbufPool* pool() const { return pool_.get(); }
    /// Gives the driver a pool (shared with others, or its own). Set before the driver runs.
    void setPool(std::shared_ptr<NetbufPool> pool) { pool_ = std::move(pool); }
    /// The pool as a shared pointer, to share it with another driver (forwarding without copies).
    const std::shared_ptr<NetbufPool>& sharedPool() const { return pool_; }

    // ---- statistics ------------------------------------------------------------------------

    /// Counters of receive queue @p queue (zeros for a queue out of range). Any thread.
    QueueStatistics receiveStatistics(unsigned queue) const;
    /// Counters of transmit queue @p queue (zeros for a queue out of range). Any thread.
    QueueStatistics transmitStatistics(unsigned queue) const;
    /// Receive counters summed over every queue. Any thread.
    QueueStatistics receiveTotals() const;
    /// Transmit counters summed over every queue. Any thread.
    QueueStatistics transmitTotals() const;

    std::uint64_t inputPackets() const { return receiveTotals().packets; }  ///< NeXT: packets received.
    std::uint64_t inputErrors() const { return receiveTotals().errors; }    ///< NeXT: receive errors.
    std::uint64_t inputDrops() const {
        return receiveTotals().drops;
    }  ///< Received packets lost for lack of room or taker.
    std::uint64_t outputPackets() const { return transmitTotals().packets; }  ///< NeXT: packets sent.
    std::uint64_t outputErrors() const { return transmitTotals().errors; }    ///< NeXT: transmit errors.
    std::uint64_t outputDrops() const {
        return transmitTotals().drops;
    }                                  ///< Packets dropped before the driver took them.
    std::uint64_t collisions() const;  ///< NeXT: collisions.

protected:
    IONetwork() = default;

    /// The driver's receive: takes up to @p max packets from receive queue @p queue into @p out,
    /// without blocking, on the queue's thread (called by receive() only). The caller owns the
    /// returned netbufs; each must hold a complete frame with its offload state (Netbuf::offload)
    /// and nothing left from an earlier use (see Netbuf::resetForReceive). Counts nothing: the
    /// framework counts what is returned; a frame lost on the way is report()ed.
    /// @return the number received (0 when none wait, when stopped, or for an unknown queue).
    /// Base: returns 0 (a driver that pushes with handleInputPacket needs no override).
    virtual unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max);

    /// The driver's transmit: takes up to @p count complete frames for transmit queue @p queue,
    /// without blocking, on the queue's thread (called by send() only). The driver owns the
    /// accepted ones (the first n) and frees each (to its own pool: NetbufPool::freeToOwners)
    /// once sent; the caller keeps the rest, to retry or free. A frame the driver takes but cannot
    /// send (too long for the hardware, link gone) it reports with report(transmitError, queue,
    /// packet), frees, and counts as accepted, so that one bad frame never blocks those behind it.
    /// Counts nothing else. @return n, the number accepted. Base: returns 0 (sends nothing).
    virtual unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count);

private:
    // Events reported for a queue by a thread that does not hold it (control calls), kept apart
    // from the single-writer counters and added to them when read.
    struct UnownedEvents {
        std::atomic<std::uint64_t> receiveErrors{0}, receiveDrops{0}, transmitErrors{0}, transmitDrops{0},
            collisions{0};
        std::atomic<std::uint64_t> failedPackets{0}, failedBytes{0};  // accepted, then reported failed
    };

    void deliverInput(unsigned queue, Netbuf** packets, unsigned count);
    unsigned cacheQueueCount() const;
    void reportUnowned(QueueEvent event, unsigned queue, std::uint64_t count);

    std::shared_ptr<NetbufPool> pool_;
    IONetworkClient* client_ = nullptr;
    std::atomic<LinkStatus> link_{LinkStatus::unknown};
    unsigned mtu_ = 1500;
    std::string mode_;
    mutable std::atomic<unsigned> queues_{0};  // queueCount(), read once: it never changes
    std::array<EventLoop*, kMaxQueues> queueLoops_{};
    QueueGate gate_;
    std::array<QueueCounters, kMaxQueues> counters_{};
    std::array<UnownedEvents, kMaxQueues> unowned_{};
};

}  // namespace nexnet
