#pragma once
/// @file AioQueue.h
/// @brief AioQueue: requests waiting in order, linked through their own control blocks.

#include "sio/core/AioRequest.h"

#include <cerrno>

namespace nexnet::sio {

/// A FIFO of aio requests linked through AioRequest::next: queueing allocates nothing. Not
/// thread-safe: its owner's lock guards it.
class AioQueue {
public:
    /// True when no request waits.
    bool empty() const { return head_ == nullptr; }
    /// The oldest request (the queue must not be empty).
    sio_aiocb& front() const { return *head_; }
    /// Appends @p request.
    void push(sio_aiocb& request) {
        requestOf(request).next = nullptr;
        if (tail_ != nullptr) requestOf(*tail_).next = &request;
        else head_ = &request;
        tail_ = &request;
    }
    /// Removes and returns the oldest request (the queue must not be empty).
    sio_aiocb& pop() {
        sio_aiocb& request = *head_;
        head_ = requestOf(request).next;
        if (head_ == nullptr) tail_ = nullptr;
        return request;
    }
    /// Removes every request @p matches says yes to, calling @p removed on each after
    /// unlinking it (it may finish the request). @return how many were removed.
    template <typename Matches, typename Removed>
    int removeIf(Matches matches, Removed removed) {
        int count = 0;
        sio_aiocb* previous = nullptr;
        for (sio_aiocb* p = head_; p != nullptr;) {
            sio_aiocb* next = requestOf(*p).next;
            if (matches(*p)) {
                if (previous != nullptr) requestOf(*previous).next = next;
                else head_ = next;
                if (tail_ == p) tail_ = previous;
                removed(*p);
                ++count;
            } else {
                previous = p;
            }
            p = next;
        }
        return count;
    }
    /// aio_cancel of queued requests: finishes @p request (every one when nullptr) with
    /// ECANCELED if queued. @return AIO_CANCELED; else AIO_ALLDONE when it finished already (or
    /// nothing was queued), AIO_NOTCANCELED when it runs elsewhere.
    int cancel(sio_aiocb* request) {
        int cancelled = removeIf([&](sio_aiocb& p) { return request == nullptr || &p == request; },
                                 [](sio_aiocb& p) { finishRequest(p, -1, ECANCELED, false); });
        if (cancelled > 0) return AIO_CANCELED;
        if (request == nullptr) return AIO_ALLDONE;
        return stateOf(*request) == kAioDone ? AIO_ALLDONE : AIO_NOTCANCELED;
    }
    /// True when @p request is queued.
    bool contains(const sio_aiocb* request) const {
        for (sio_aiocb* p = head_; p != nullptr; p = requestOf(*p).next)
            if (p == request) return true;
        return false;
    }

private:
    sio_aiocb* head_ = nullptr;
    sio_aiocb* tail_ = nullptr;
};

}  // namespace nexnet::sio
