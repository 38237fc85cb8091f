#pragma once
/// @file EventQueue.h
/// @brief EventQueue: the bounded queue of an event channel, lock-free for many producers and
/// many consumers.

#include "sio/ec.h"

#include <atomic>
#include <cstddef>
#include <memory>

namespace nexnet::sio {

/// A bounded queue of event_data_t that any thread may push to and pop from without a lock:
/// Dmitry Vyukov's bounded MPMC queue (each cell carries a sequence number saying whose turn
/// it is; producers and consumers each claim positions with one compare-and-swap).
///
/// The capacity is a power of two. A push to a full queue fails and changes nothing: the
/// channel decides what a full queue means (EventChannel: lost, counted, remembered).
class EventQueue {
public:
    /// A queue of @p capacity cells (a power of two, at least 2).
    explicit EventQueue(std::size_t capacity);
    EventQueue(const EventQueue&) = delete;
    EventQueue& operator=(const EventQueue&) = delete;

    /// Appends @p event. @return false when the queue is full (nothing changes).
    bool push(const event_data_t& event);
    /// Removes the oldest event into @p event. @return false when the queue is empty.
    bool pop(event_data_t& event);
    /// Events queued right now (a snapshot; exact only when no one pushes or pops).
    std::size_t size() const;
    /// Cells.
    std::size_t capacity() const { return mask_ + 1; }

private:
    struct alignas(64) Cell {
        std::atomic<std::size_t> sequence;
        event_data_t event;
    };
    std::unique_ptr<Cell[]> cells_;
    std::size_t mask_;
    alignas(64) std::atomic<std::size_t> tail_{0};  // next position to push
    alignas(64) std::atomic<std::size_t> head_{0};  // next position to pop
};

}  // namespace nexnet::sio
