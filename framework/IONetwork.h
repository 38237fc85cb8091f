#pragma once
/// @file IONetwork.h
/// @brief IONetwork: the driver protocol of NeXT's IONetwork, with burst receive and transmit.

#include "framework/IOCommands.h"
#include "framework/IODevice.h"
#include "framework/IOInputSink.h"
#include "netbuf/Netbuf.h"
#include "netbuf/NetbufPool.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

namespace nexnet {

/// Packet and byte counters of one receive or transmit queue.
struct QueueStatistics {
    std::uint64_t packets = 0;  ///< Packets received or transmitted.
    std::uint64_t bytes = 0;    ///< Their bytes, Ethernet header included.
    std::uint64_t errors = 0;   ///< Packets lost to an error (bad frame, device error).
    std::uint64_t drops = 0;    ///< Packets dropped for lack of room (no netbuf, ring full).
};

/// Link state reported by a driver.
enum class LinkStatus { unknown, down, up };

/// The object between a network driver and the rest of nexnet, as NeXT's IONetwork protocol.
///
/// A driver subclasses IOEthernet (which implements most of this for Ethernet) or, for another
/// link type, IONetwork itself. The protocol has NeXT's four methods with their meaning kept:
/// allocateNetbuf, finishInitialization, outputPacket and performCommand. Beyond NeXT, for
/// speed, packets move in bursts: receiveBurst and transmitBurst are called once per burst of
/// up to 32-256 netbufs, so there is one virtual call per burst, never one per packet.
///
/// Received packets go up through an IOInputSink (handleInputPacket / handleInputBurst); the
/// framework never depends on what is above it.
///
/// Threading: a driver instance is used from one thread at a time, its event loop's thread,
/// unless the driver documents otherwise for its queues. Nothing here blocks.
class IONetwork : public IODevice {
public:
    /// Most queues a driver may have in each direction.
    static constexpr unsigned kMaxQueues = 16;

    ~IONetwork() override;

    // ---- NeXT's protocol -------------------------------------------------------------------

    /// A netbuf for an impending output, or nullptr when the driver's cap on buffers is reached
    /// (NeXT: numBufs == maxNumBufs). Callers must handle nullptr.
    /// Base: an empty netbuf from pool(), nullptr when the pool is exhausted or absent.
    virtual Netbuf* allocateNetbuf();

    /// Finishes bringing the hardware up, called by NetworkInterface once the interface went up
    /// (after IFCONTROL_SETFLAGS with IFF_UP made resetAndEnable enable it): what remains to do
    /// once running, such as waiting for the link. An override must check isRunning() and touch
    /// the hardware only when it is true. @return 0 or an errno. Base: returns 0 (the reset and
    /// enable already happened; doing them again here would reset the hardware twice).
    virtual int finishInitialization();

    /// Sends @p packet to the link-level @p address (6 bytes for Ethernet; nullptr keeps the
    /// destination already in the frame). The driver owns @p packet from the call on, whatever
    /// the result. An override must check isRunning() (ENETDOWN when not) and insert the
    /// hardware addresses and pad to the minimum frame size.
    /// @return 0 or an errno. Base: frees the packet and returns EOPNOTSUPP.
    virtual int outputPacket(Netbuf* packet, const void* address);

    /// Performs a control command (IFCONTROL_* from netif/netif.h, or one the driver defines).
    /// @p data is the command's argument, as documented with the command.
    /// @return 0 or an errno; EINVAL for an unknown command or bad data. Base: EINVAL for all.
    virtual int performCommand(std::string_view command, void* data);

    // ---- bursts ----------------------------------------------------------------------------

    /// Receives up to @p max packets from receive queue @p queue into @p out, without blocking.
    /// The caller owns the returned netbufs. An override counts what it returns (countReceived),
    /// as a NIC counts what comes off the wire: the callers (NetworkInterface::poll,
    /// interruptOccurred, a forwarding loop) count nothing more.
    /// @return the number received (0 when none).
    /// Base: returns 0 (a driver that only calls handleInputPacket needs no override).
    virtual unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max);

    /// Queues up to @p count packets (complete frames) on transmit queue @p queue, without
    /// blocking. The driver owns and will free the accepted ones (the first n); the caller keeps
    /// the rest, to retry or free. Packets are sent as they are: no address insertion or padding.
    /// @return n, the number accepted. Base: returns 0.
    virtual unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count);

    /// Receive (and transmit) queues the driver has. Base: 1.
    virtual unsigned queueCount() const;

    /// An eventfd that becomes readable when receive queue @p queue has packets, for interrupt
    /// mode, or -1 when the driver has none (poll only). Base: -1.
    virtual int interruptEventFd(unsigned queue) const;
    /// Turns interrupts of receive queue @p queue on or off (off: poll mode).
    /// @return 0, or EOPNOTSUPP when the driver has no interrupts. Base: EOPNOTSUPP.
    virtual int setInterruptsEnabled(unsigned queue, bool enabled);
    /// Called by the event loop when interruptEventFd(queue) is readable. Base: receives bursts of
    /// 32 from @p queue until it is empty and hands them to handleInputBurst.
    virtual void interruptOccurred(unsigned queue);

    // ---- link ------------------------------------------------------------------------------

    /// Link state. Base: what the driver last set with setLinkStatus.
    LinkStatus linkStatus() const { return link_; }
    /// Records the link state and tells the input sink when it changes.
    void setLinkStatus(LinkStatus status);
    /// Maximum transmission unit: payload bytes after the link header.
    unsigned mtu() const { return mtu_; }
    /// Largest MTU the hardware accepts. Base: 1500.
    virtual unsigned maxMtu() const;
    /// Changes the MTU. An override programs the hardware and calls the base on success.
    /// @return 0, or EINVAL outside [68, maxMtu()].
    virtual int setMtu(unsigned mtu);

    // ---- input -----------------------------------------------------------------------------

    /// Where received packets go; without a sink they are freed and counted as drops.
    void setInputSink(IOInputSink* sink) { sink_ = sink; }
    /// The sink set with setInputSink, or nullptr.
    IOInputSink* inputSink() const { return sink_; }
    /// Hands one received packet up (NeXT's handleInputPacket:extra:), as handleInputBurst on
    /// queue 0. @p extra is driver data passed through (unused by nexnet's sinks). The sink owns
    /// the netbuf afterwards. Counts nothing: a driver that pushes packets it did not get from
    /// receiveBurst counts them with countReceived first.
    void handleInputPacket(Netbuf* packet, void* extra);
    /// Hands a burst received on @p queue up to the input sink, which owns the netbufs
    /// afterwards. Without a sink the packets are freed and counted as drops (inputDrops and the
    /// queue's drops). Counts nothing else: receiveBurst already counted the packets.
    void handleInputBurst(unsigned queue, Netbuf** packets, unsigned count);

    // ---- buffers ---------------------------------------------------------------------------

    /// The pool the driver receives into and allocates from, or nullptr.
    NetbufPool* pool() const { return pool_.get(); }
    /// Gives the driver a pool (shared with others, or its own). Set before the driver runs.
    void setPool(std::shared_ptr<NetbufPool> pool) { pool_ = std::move(pool); }
    /// The pool as a shared pointer, to share it with another driver (forwarding without copies).
    const std::shared_ptr<NetbufPool>& sharedPool() const { return pool_; }

    // ---- statistics (NeXT's counters) ------------------------------------------------------

    std::uint64_t inputPackets() const { return inputPackets_; }    ///< Packets received.
    std::uint64_t inputErrors() const { return inputErrors_; }      ///< Receive errors.
    std::uint64_t outputPackets() const { return outputPackets_; }  ///< Packets sent.
    std::uint64_t outputErrors() const { return outputErrors_; }    ///< Transmit errors.
    std::uint64_t collisions() const { return collisions_; }        ///< Collisions (half duplex).
    std::uint64_t inputDrops() const { return inputDrops_; }        ///< Received packets nobody took.
    /// Adds @p count to inputPackets().
    void incrementInputPackets(std::uint64_t count = 1) { inputPackets_ += count; }
    /// Adds @p count to inputErrors().
    void incrementInputErrors(std::uint64_t count = 1) { inputErrors_ += count; }
    /// Adds @p count to outputPackets().
    void incrementOutputPackets(std::uint64_t count = 1) { outputPackets_ += count; }
    /// Adds @p count to outputErrors().
    void incrementOutputErrors(std::uint64_t count = 1) { outputErrors_ += count; }
    /// Adds @p count to collisions().
    void incrementCollisions(std::uint64_t count = 1) { collisions_ += count; }
    /// Adds @p count to inputDrops().
    void incrementInputDrops(std::uint64_t count = 1) { inputDrops_ += count; }

    /// Counters of receive queue @p queue (zeros for a queue out of range).
    const QueueStatistics& receiveStatistics(unsigned queue) const;
    /// Counters of transmit queue @p queue (zeros for a queue out of range).
    const QueueStatistics& transmitStatistics(unsigned queue) const;
    /// Mutable receive counters of @p queue, for the driver's own data path.
    QueueStatistics& receiveStatisticsFor(unsigned queue) { return rxStats_[queue % kMaxQueues]; }
    /// Mutable transmit counters of @p queue, for the driver's own data path.
    QueueStatistics& transmitStatisticsFor(unsigned queue) { return txStats_[queue % kMaxQueues]; }
    /// Adds a transmitted burst (the accepted packets) to the counters of @p queue and to
    /// outputPackets(); a driver's transmitBurst calls it before freeing what it sent.
    void countTransmitted(unsigned queue, Netbuf* const* packets, unsigned count);
    /// Adds a received burst to the counters of @p queue and to inputPackets(); a driver's
    /// receiveBurst calls it for what it returns.
    void countReceived(unsigned queue, Netbuf* const* packets, unsigned count);

protected:
    IONetwork() = default;

private:
    std::shared_ptr<NetbufPool> pool_;
    IOInputSink* sink_ = nullptr;
    LinkStatus link_ = LinkStatus::unknown;
    unsigned mtu_ = 1500;
    std::uint64_t inputPackets_ = 0;
    std::uint64_t inputErrors_ = 0;
    std::uint64_t outputPackets_ = 0;
    std::uint64_t outputErrors_ = 0;
    std::uint64_t collisions_ = 0;
    std::uint64_t inputDrops_ = 0;
    std::array<QueueStatistics, kMaxQueues> rxStats_{};
    std::array<QueueStatistics, kMaxQueues> txStats_{};
};

}  // namespace nexnet
