#pragma once
/// @file QueueCounters.h
/// @brief QueueStatistics and QueueCounters: one queue's packet, byte, error and drop counters,
/// written by the queue's thread and readable from any other.

#include "netbuf/Netbuf.h"

#include <atomic>
#include <cstdint>

namespace nexnet {

/// Packet and byte counters of one direction of a queue (or of an interface, summed), as
/// `ip -s link` shows them.
struct QueueStatistics {
    std::uint64_t packets = 0;  ///< Packets received, or sent (accepted by the driver and not failed).
    std::uint64_t bytes = 0;    ///< Their bytes, link header included.
    std::uint64_t errors = 0;   ///< Packets lost to an error (bad frame, device error).
    std::uint64_t drops = 0;    ///< Packets dropped for lack of room (no netbuf, queue full, no taker).

    /// Adds @p other's counters to these.
    QueueStatistics& operator+=(const QueueStatistics& other) {
        packets += other.packets;
        bytes += other.bytes;
        errors += other.errors;
        drops += other.drops;
        return *this;
    }
};

/// The counters of one queue pair, owned by IONetwork.
///
/// Single writer, many readers: only the queue's thread adds to them (a load and a store, no
/// locked instruction, as a DPDK PMD's per-queue stats), any thread reads them. The fields are
/// relaxed atomics so a reader never sees a torn value and ThreadSanitizer sees no race; a
/// reader may see one counter of a burst updated before another.
///
/// Layout: the receive and transmit counters fill one 64-byte cache line, touched once per
/// burst; what changes rarely (collisions, failed sends waiting to be subtracted) sits on the
/// next, so queues on different cores never share a line.
class alignas(64) QueueCounters {
public:
    /// Sum of the sizes of @p count packets. Four at a time through a moving pointer, with two
    /// sums: the loads are independent and the loop costs about 3.5 instructions a packet
    /// (callgrind on nexnet-fwd null: null:, where this is the framework's per-packet cost).
    static std::uint64_t bytesOf(Netbuf* const* packets, unsigned count) {
        std::uint64_t even = 0, odd = 0;
        Netbuf* const* end = packets + count;
        for (; end - packets >= 4; packets += 4) {
            even += std::uint64_t{packets[0]->size()} + packets[2]->size();
            odd += std::uint64_t{packets[1]->size()} + packets[3]->size();
        }
        for (; packets != end; ++packets) even += (*packets)->size();
        return even + odd;
    }

    /// Counts a received burst. Queue thread only.
    void countReceived(Netbuf* const* packets, unsigned count) {
        add(rxPackets_, count);
        add(rxBytes_, bytesOf(packets, count));
    }
    /// Counts a burst of @p count packets of @p bytes the driver accepted; failures reported
    /// since the last call (report with a packet) are taken off here, in one store each, so a
    /// reader never sees a counter go backwards. Queue thread only.
    void countTransmitted(unsigned count, std::uint64_t bytes) {
        std::uint64_t failedPackets = load(failedPackets_);
        if (failedPackets != 0) [[unlikely]] {
            std::uint64_t failedBytes = load(failedBytes_);
            failedPackets_.store(0, std::memory_order_relaxed);
            failedBytes_.store(0, std::memory_order_relaxed);
            add(txPackets_, count - failedPackets);
            add(txBytes_, bytes - failedBytes);
            return;
        }
        add(txPackets_, count);
        add(txBytes_, bytes);
    }
    /// A packet of @p bytes the driver accepted (now or earlier) failed: not sent after all.
    /// Queue thread only.
    void countFailedTransmit(std::uint64_t bytes) {
        add(failedPackets_, 1);
        add(failedBytes_, bytes);
    }

    /// Adds to the receive errors. Queue thread only.
    void addReceiveErrors(std::uint64_t n) { add(rxErrors_, n); }
    /// Adds to the receive drops. Queue thread only.
    void addReceiveDrops(std::uint64_t n) { add(rxDrops_, n); }
    /// Adds to the transmit errors. Queue thread only.
    void addTransmitErrors(std::uint64_t n) { add(txErrors_, n); }
    /// Adds to the transmit drops. Queue thread only.
    void addTransmitDrops(std::uint64_t n) { add(txDrops_, n); }
    /// Adds to the collisions. Queue thread only.
    void addCollisions(std::uint64_t n) { add(collisions_, n); }

    /// The receive counters. Any thread.
    QueueStatistics receive() const { return {load(rxPackets_), load(rxBytes_), load(rxErrors_), load(rxDrops_)}; }
    /// The transmit counters, failures reported since the last burst already taken off. Any thread.
    QueueStatistics transmit() const {
        // A failure reported inside a burst is taken off when the burst is counted: clamp, so a
        // reader on another thread in between never sees a counter wrap.
        std::uint64_t packets = load(txPackets_), failed = load(failedPackets_);
        std::uint64_t bytes = load(txBytes_), failedBytes = load(failedBytes_);
        return {packets > failed ? packets - failed : 0, bytes > failedBytes ? bytes - failedBytes : 0, load(txErrors_),
                load(txDrops_)};
    }
    /// Collisions. Any thread.
    std::uint64_t collisions() const { return load(collisions_); }

private:
    using Counter = std::atomic<std::uint64_t>;
    static std::uint64_t load(const Counter& counter) { return counter.load(std::memory_order_relaxed); }
    static void add(Counter& counter, std::uint64_t n) {
        counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

    Counter rxPackets_{0}, rxBytes_{0}, rxErrors_{0}, rxDrops_{0};
    Counter txPackets_{0}, txBytes_{0}, txErrors_{0}, txDrops_{0};
    alignas(64) Counter failedPackets_{0};
    Counter failedBytes_{0};
    Counter collisions_{0};
};

static_assert(sizeof(QueueCounters) == 128, "QueueCounters: one line of burst counters, one of rare ones");

}  // namespace nexnet
