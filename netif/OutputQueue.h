#pragma once
/// @file OutputQueue.h
/// @brief OutputQueue: one transmit queue's output waiting for room in the driver's ring.

#include "framework/IONetbufQueue.h"
#include "framework/IONetwork.h"

#include <cstdint>

namespace nexnet {

class EventLoop;

/// What NetworkInterface keeps for each of its driver's transmit queues: the frames the ring
/// could not take yet, in order, and where the queue runs. Only the transmit queue's thread uses
/// it (control calls too, while the driver's QueueGate is closed). On cache lines of its own, so
/// queues on different threads never share one.
class alignas(64) OutputQueue {
public:
    /// An empty queue holding at most @p limit frames.
    explicit OutputQueue(unsigned limit) : pending_(limit) {}

    /// Sends @p count frames on transmit queue @p queue of @p driver, in order: behind what waits
    /// here, else straight to the driver; what the ring does not take waits here, what this queue
    /// cannot hold is freed and counted as a transmit drop. The caller holds the queue.
    /// @return the number the driver accepted or this queue holds.
    unsigned send(IONetwork& driver, unsigned queue, Netbuf** packets, unsigned count);
    /// Sends what waits until the driver refuses or nothing is left. A driver reporting room from
    /// inside its send does not re-enter. The caller holds the queue. @return the number sent.
    unsigned flush(IONetwork& driver, unsigned queue);
    /// Frees what waits and counts it as transmit drops on @p queue (the interface went down).
    void drop(IONetwork& driver, unsigned queue);

    /// Frames waiting.
    unsigned count() const { return pending_.count(); }
    /// True when nothing waits.
    bool empty() const { return pending_.empty(); }

    /// The loop the queue runs on while its interface is attached, else nullptr.
    EventLoop* loop = nullptr;
    /// Interrupt mode: the timer that retries what waits, 0 when none is set.
    std::uint64_t retryTimer = 0;

private:
    IONetbufQueue pending_;
    bool flushing_ = false;
};

}  // namespace nexnet
