#pragma once
/// @file NetbufQueue.h
/// @brief NetbufQueue: a FIFO of netbufs that never allocates (Boost.Intrusive).

#include "netbuf/Netbuf.h"

#include <boost/intrusive/slist.hpp>

#include <cstddef>

namespace nexnet {

/// A first-in first-out queue of netbufs, linked through the hook inside each netbuf, so
/// enqueueing and dequeueing never allocate. A netbuf can be in one queue at a time.
/// The queue does not own its netbufs: clear() or freeAll() before destroying a non-empty queue.
class NetbufQueue {
public:
    NetbufQueue() = default;
    NetbufQueue(const NetbufQueue&) = delete;
    NetbufQueue& operator=(const NetbufQueue&) = delete;
    /// Frees whatever the queue still holds, so a queue never leaks netbufs.
    ~NetbufQueue() { freeAll(); }

    /// Appends @p netbuf at the tail.
    void enqueue(Netbuf* netbuf) { list_.push_back(*netbuf); }
    /// Puts @p netbuf back at the head (before everything queued).
    void pushFront(Netbuf* netbuf) { list_.push_front(*netbuf); }
    /// Removes and returns the head, or nullptr when empty.
    Netbuf* dequeue() {
        if (list_.empty()) return nullptr;
        Netbuf& head = list_.front();
        list_.pop_front();
        return &head;
    }
    /// Removes up to @p max netbufs from the head into @p out; returns how many.
    unsigned dequeueBurst(Netbuf** out, unsigned max) {
        unsigned n = 0;
        while (n < max && !list_.empty()) {
            out[n++] = &list_.front();
            list_.pop_front();
        }
        return n;
    }
    /// The head without removing it, or nullptr.
    Netbuf* peek() { return list_.empty() ? nullptr : &list_.front(); }
    /// Number of netbufs queued (constant time).
    std::size_t count() const { return list_.size(); }
    /// True when nothing is queued.
    bool empty() const { return list_.empty(); }
    /// Forgets every netbuf without freeing it.
    void clear() { list_.clear(); }
    /// Frees every queued netbuf back to its pool (or wrapper callback).
    void freeAll() {
        while (Netbuf* nb = dequeue()) nb->free();
    }

private:
    using List =
        boost::intrusive::slist<Netbuf, boost::intrusive::member_hook<Netbuf, Netbuf::QueueHook, &Netbuf::queueHook_>,
                                boost::intrusive::cache_last<true>, boost::intrusive::constant_time_size<true>>;
    List list_;
};

}  // namespace nexnet
