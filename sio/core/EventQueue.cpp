#include "sio/core/EventQueue.h"

namespace nexnet::sio {

EventQueue::EventQueue(std::size_t capacity) : cells_(new Cell[capacity]), mask_(capacity - 1) {
    for (std::size_t i = 0; i < capacity; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
}

bool EventQueue::push(const event_data_t& event) {
    std::size_t position = tail_.load(std::memory_order_relaxed);
    for (;;) {
        Cell& cell = cells_[position & mask_];
        std::size_t sequence = cell.sequence.load(std::memory_order_acquire);
        auto difference = static_cast<std::ptrdiff_t>(sequence - position);
        if (difference == 0) {
            if (tail_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
                cell.event = event;
                // Release: a consumer that sees the new sequence sees the event.
                cell.sequence.store(position + 1, std::memory_order_release);
                return true;
            }
        } else if (difference < 0) {
            return false;  // the cell still holds an event from one lap ago: full
        } else {
            position = tail_.load(std::memory_order_relaxed);
        }
    }
}

bool EventQueue::pop(event_data_t& event) {
    std::size_t position = head_.load(std::memory_order_relaxed);
    for (;;) {
        Cell& cell = cells_[position & mask_];
        std::size_t sequence = cell.sequence.load(std::memory_order_acquire);
        auto difference = static_cast<std::ptrdiff_t>(sequence - (position + 1));
        if (difference == 0) {
            if (head_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
                event = cell.event;
                // Release: the producer of the next lap sees the cell emptied.
                cell.sequence.store(position + mask_ + 1, std::memory_order_release);
                return true;
            }
        } else if (difference < 0) {
            return false;  // not yet written: empty
        } else {
            position = head_.load(std::memory_order_relaxed);
        }
    }
}

std::size_t EventQueue::size() const {
    std::size_t tail = tail_.load(std::memory_order_acquire);
    std::size_t head = head_.load(std::memory_order_acquire);
    return tail >= head ? tail - head : 0;
}

}  // namespace nexnet::sio
