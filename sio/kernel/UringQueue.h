#pragma once
/// @file UringQueue.h
/// @brief UringQueue: one io_uring instance shared by the threads using a socket: a lock for
/// each ring, and waiting threads that never miss a completion.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <liburing.h>
#include <mutex>

namespace nexnet::sio {

/// One io_uring (liburing's struct io_uring) used from many threads.
///
/// The submission ring is filled under one lock, the completion ring drained under another, so
/// a thread submitting never waits for one draining. Whoever drains takes every completion
/// there is and hands each to its owner (the socket's backlog, a send slot, a request): a
/// completion ring is read in order, it cannot be picked from.
///
/// Waiting: of the threads waiting for completions, one (the leader) sleeps in io_uring_enter,
/// the others on a condition variable. A thread that drained completions other threads want
/// calls wake(): followers are notified, and a leader asleep in the kernel is woken with a NOP
/// (it would otherwise sleep on, since what it waited for was taken off the ring already).
/// A drain counter lets a waiter notice a drain that happened between its look and its sleep.
class UringQueue {
public:
    /// user_data of the NOPs that wake a leader.
    static constexpr std::uint64_t kWakeTag = ~0ull;

    UringQueue() = default;
    ~UringQueue();
    UringQueue(const UringQueue&) = delete;
    UringQueue& operator=(const UringQueue&) = delete;

    /// Creates the rings: @p sqEntries submissions, @p cqEntries completions.
    /// @return 0 or io_uring_setup's errno.
    int setUp(unsigned sqEntries, unsigned cqEntries);
    /// True once setUp succeeded.
    bool ready() const { return ready_; }
    /// The ring's descriptor (readable when completions wait: what event channels watch).
    int fd() const { return ring_.ring_fd; }
    /// liburing's ring, for registrations (buffers, buffer rings).
    io_uring& ring() { return ring_; }

    /// Fills submissions with @p fill(io_uring_sqe* (*next)()) under the submission lock and
    /// submits them. @p fill gets SQEs by calling next(), which returns nullptr when the ring
    /// is full (then what was filled is submitted and fill is called again).
    /// @return 0 or the errno of io_uring_enter.
    template <typename Fill>
    int submit(Fill&& fill) {
        std::lock_guard<std::mutex> lock(submitLock_);
        fill([this]() -> io_uring_sqe* {
            io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
            if (sqe == nullptr && io_uring_submit(&ring_) >= 0) sqe = io_uring_get_sqe(&ring_);
            return sqe;
        });
        int submitted = io_uring_submit(&ring_);
        return submitted < 0 ? -submitted : 0;
    }

    /// Fills submissions like submit() but leaves them for flush() (lio_listio gathers a list
    /// into one io_uring_enter). @return 0, or the errno of an io_uring_enter a full ring needed.
    template <typename Fill>
    int queue(Fill&& fill) {
        std::lock_guard<std::mutex> lock(submitLock_);
        int error = 0;
        fill([this, &error]() -> io_uring_sqe* {
            io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
            if (sqe == nullptr) {
                int submitted = io_uring_submit(&ring_);
                if (submitted < 0) error = -submitted;
                sqe = io_uring_get_sqe(&ring_);
            }
            return sqe;
        });
        return error;
    }
    /// Submits what queue() left. @return 0 or the errno of io_uring_enter.
    int flush() {
        std::lock_guard<std::mutex> lock(submitLock_);
        int submitted = io_uring_submit(&ring_);
        return submitted < 0 ? -submitted : 0;
    }

    /// The lock held while draining completions.
    std::mutex& completionLock() { return completionLock_; }

    /// Under completionLock(): calls @p visit(const io_uring_cqe&) for every completion there
    /// is (NOPs of wake() excluded), then frees their places. @return how many were visited.
    template <typename Visit>
    unsigned drain(Visit&& visit) {
        unsigned seen = 0, visited = 0;
        io_uring_cqe* cqe;
        unsigned head;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            ++seen;
            if (cqe->user_data == kWakeTag) continue;
            visit(*cqe);
            ++visited;
        }
        if (seen > 0) {
            io_uring_cq_advance(&ring_, seen);
            drains_.fetch_add(1, std::memory_order_release);
        }
        return visited;
    }

    /// Under completionLock(): the drain counter, read before releasing the lock to wait.
    std::uint64_t drains() const { return drains_.load(std::memory_order_acquire); }

    /// Waits (without completionLock()) until completions may be there, or another thread
    /// drained since @p seenDrains. Returns at once when either is already true.
    /// @return 0, or EINTR when a signal interrupted the wait.
    int wait(std::uint64_t seenDrains);

    /// After a drain that left completions for other threads: wakes them (see the class).
    void wake();

private:
    io_uring ring_{};
    bool ready_ = false;
    std::mutex submitLock_;
    std::mutex completionLock_;
    std::atomic<std::uint64_t> drains_{0};

    std::mutex waitLock_;
    std::condition_variable followers_;
    int followerCount_ = 0;
    bool leaderAsleep_ = false;
};

}  // namespace nexnet::sio
