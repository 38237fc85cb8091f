#pragma once
/// @file IONetbufQueue.h
/// @brief IONetbufQueue: NeXT's bounded queue of netbufs, for a driver's transmit backlog.

#include "netbuf/NetbufQueue.h"

#include <cerrno>

namespace nexnet {

/// A FIFO of netbufs with a maximum count, as NeXT's IONetbufQueue: a driver queues output
/// while its hardware ring is full and drains it when descriptors come free. Never allocates.
/// The queue owns what it holds: destroying it frees every queued netbuf.
class IONetbufQueue {
public:
    /// A queue that holds at most @p maxCount netbufs.
    explicit IONetbufQueue(unsigned maxCount) : maxCount_(maxCount) {}

    /// Most netbufs the queue holds.
    unsigned maxCount() const { return maxCount_; }
    /// Netbufs queued now.
    unsigned count() const { return static_cast<unsigned>(queue_.count()); }
    /// Appends @p netbuf. @return 0, or ENOBUFS when full (the caller keeps the netbuf).
    int enqueue(Netbuf* netbuf) {
        if (queue_.count() >= maxCount_) return ENOBUFS;
        queue_.enqueue(netbuf);
        return 0;
    }
    /// Removes and returns the oldest netbuf, or nullptr.
    Netbuf* dequeue() { return queue_.dequeue(); }
    /// Removes up to @p max netbufs into @p out; returns how many.
    unsigned dequeueBurst(Netbuf** out, unsigned max) { return queue_.dequeueBurst(out, max); }
    /// Frees everything queued.
    void freeAll() { queue_.freeAll(); }

private:
    unsigned maxCount_;
    NetbufQueue queue_;
};

}  // namespace nexnet
