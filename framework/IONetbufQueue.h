#pragma once
/// @file IONetbufQueue.h
/// @brief IONetbufQueue: NeXT's bounded queue of netbufs, for output waiting for a transmit ring.

#include "netbuf/NetbufQueue.h"

#include <cerrno>

namespace nexnet {

/// A FIFO of netbufs with a maximum count, as NeXT's IONetbufQueue: output waits here while the
/// driver's transmit ring is full, and is sent when descriptors come free (NetworkInterface keeps
/// one per interface). Never allocates: netbufs are linked through their own hook.
/// The queue owns what it holds: destroying it frees every queued netbuf.
/// Not thread-safe: one thread uses it (the transmit queue's).
class IONetbufQueue {
public:
    /// A queue that holds at most @p maxCount netbufs.
    explicit IONetbufQueue(unsigned maxCount) : maxCount_(maxCount) {}
    /// Frees what is still queued.
    ~IONetbufQueue() { freeAll(); }
    IONetbufQueue(const IONetbufQueue&) = delete;
    IONetbufQueue& operator=(const IONetbufQueue&) = delete;

    /// Most netbufs the queue holds.
    unsigned maxCount() const { return maxCount_; }
    /// Netbufs queued now.
    unsigned count() const { return static_cast<unsigned>(queue_.count()); }
    /// True when nothing is queued.
    bool empty() const { return queue_.empty(); }
    /// Appends @p netbuf. @return 0, or ENOBUFS when full (the caller keeps the netbuf).
    int enqueue(Netbuf* netbuf) {
        if (queue_.count() >= maxCount_) return ENOBUFS;
        queue_.enqueue(netbuf);
        return 0;
    }
    /// Removes and returns the oldest netbuf, or nullptr.
    Netbuf* dequeue() { return queue_.dequeue(); }
    /// Removes up to @p max netbufs into @p out, oldest first; returns how many.
    unsigned dequeueBurst(Netbuf** out, unsigned max) { return queue_.dequeueBurst(out, max); }
    /// Puts back @p count netbufs taken with dequeueBurst at the head, in their order: what a
    /// transmit ring refused goes first next time. Ignores maxCount (they were queued before).
    void requeue(Netbuf* const* netbufs, unsigned count) {
        for (unsigned i = count; i > 0; --i) queue_.pushFront(netbufs[i - 1]);
    }
    /// Frees everything queued.
    void freeAll() { queue_.freeAll(); }

private:
    unsigned maxCount_;
    NetbufQueue queue_;
};

}  // namespace nexnet
