#pragma once
/// @file AioGroup.h
/// @brief AioGroup: the requests of one lio_listio call, counted down as they finish.

#include "sio/aio.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace nexnet::sio {

class Channel;

/// The requests of one lio_listio call: LIO_WAIT waits for the count to reach zero,
/// LIO_NOWAIT with a SIGEV_EC sigevent posts one event then (and the group deletes itself).
class AioGroup {
public:
    /// A group of @p count requests; @p channel and @p data: the event at the end (LIO_NOWAIT
    /// with SIGEV_EC), or nullptr. A group with a channel deletes itself after its event.
    AioGroup(int count, Channel* channel, void* data) : left_(count), count_(count), channel_(channel), data_(data) {}

    /// One request finished (with @p error). Called once per request, from any thread.
    void finishOne(int error);
    /// LIO_WAIT: waits until every request finished. @return true when all succeeded.
    bool wait();
    /// A request the submission could not queue: it will never finish, count it now.
    void abandonOne() { finishOne(EAGAIN); }

private:
    std::atomic<int> left_;
    int count_;
    std::atomic<bool> failed_{false};
    Channel* channel_;
    void* data_;
    std::mutex mutex_;
    std::condition_variable done_;
    bool finished_ = false;
};

}  // namespace nexnet::sio
