#pragma once
/// @file Channel.h
/// @brief Channel: the event channel behind an ec_t.

#include "netbuf/Result.h"
#include "sio/aio.h"
#include "sio/core/EventQueue.h"
#include "sio/ec.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace nexnet::sio {

class EventSource;
class MqNotifier;

/// The event channel behind an ec_t (see ec.h for what a user sees).
///
/// Parts: an EventQueue of the channel's capacity; a list of lost events; an eventfd that
/// posts from other threads write; an epoll descriptor (ec_to_fd) over that eventfd and the
/// descriptors of the sources that have requests for the channel; the waiters.
///
/// Waiting (leader and followers): of the threads waiting at once, one (the leader) sleeps in
/// epoll_wait on the channel's descriptor, the others on a condition variable. The leader,
/// woken, hands the role to one follower and takes events; a follower is also woken when events
/// remain after a thread took its batch. So one event wakes one thread, and nobody sleeps while
/// events wait.
class Channel {
public:
    /// A channel queueing @p capacity events (rounded up to a power of two).
    /// Errors: EINVAL (flags, capacity), or the errno of eventfd/epoll_create1.
    static Result<std::unique_ptr<Channel>> create(unsigned flags, unsigned capacity);
    ~Channel();
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    /// The handle the caller holds (set once by the table that owns the channel).
    void setHandle(std::uintptr_t handle) { handle_ = handle; }
    /// The handle the caller holds.
    std::uintptr_t handle() const { return handle_; }
    /// The descriptor ec_to_fd returns.
    int fd() const { return epoll_; }
    /// Events the queue holds at most.
    std::size_t capacity() const { return queue_.capacity(); }
    /// Free places in the queue (a snapshot): a source delivers receives only while there is room.
    std::size_t room() const { return queue_.capacity() - queue_.size(); }

    /// Queues @p event. When the queue is full the event is lost (counted, remembered for
    /// ec_lost, announced by an overflow event). @p fromOtherThread: the poster is not a thread
    /// taking events from this channel, so the channel's descriptor must become readable.
    /// @return true when queued, false when lost.
    bool post(const event_data_t& event, bool fromOtherThread);

    /// Takes up to @p max events, waiting up to @p timeoutMs for the first (-1: no limit).
    /// @return how many, or -errno (EINTR, EBADF when the channel is being destroyed).
    int take(event_data_t* out, int max, int timeoutMs);

    /// The lost events not yet listed (ec_lost). @return how many were written.
    int lost(event_data_t* out, int max);

    /// True when made with EC_NONBLOCK.
    bool nonBlocking() const { return (flags_ & EC_NONBLOCK) != 0; }

    /// Adds the source named by @p sourceHandle (a socket's handle), whose readiness shows on
    /// @p fd, to the sources driven while taking events. Idempotent. @return 0 or an errno.
    int attach(std::uintptr_t sourceHandle, int fd);
    /// Removes a source (its descriptor leaves the epoll set).
    void detach(std::uintptr_t sourceHandle, int fd);
    /// Sets how a source's descriptor is watched (EPOLLIN, EPOLLOUT, 0 for not at all).
    void watch(int fd, std::uint32_t events);

    /// A request naming this channel was submitted / finished (ec_destroy refuses while any
    /// is pending).
    void addPending() { pending_.fetch_add(1, std::memory_order_relaxed); }
    /// See addPending.
    void removePending() { pending_.fetch_sub(1, std::memory_order_acq_rel); }
    /// Requests pending now.
    long pending() const { return pending_.load(std::memory_order_acquire); }

    /// Makes every waiter return EBADF (ec_destroy, before the channel goes).
    void shutDown();

    /// The channel's message-queue notifier (made on first use, its socket watched with the
    /// channel's sources). @return nullptr with the errno set when it cannot be made.
    MqNotifier* mqNotifier();
    /// The notifier if one was made, else nullptr.
    MqNotifier* existingMqNotifier() {
        std::lock_guard<std::mutex> lock(sourcesMutex_);
        return mqNotifier_.get();
    }

    /// A zeroed control block for an ev_* request (Figure 1 has none of its own), from a pool
    /// of the channel's capacity. @return nullptr when all are in use.
    sio_aiocb* allocateRequest();
    /// Gives a control block of allocateRequest back.
    void freeRequest(sio_aiocb* request);

private:
    Channel(unsigned flags, std::size_t capacity, int eventFd, int epoll);

    int takeReady(event_data_t* out, int max);
    void deliverSources();
    int wait(long long deadlineNs, int timeoutMs);
    void signal();
    void drainSignal();

    unsigned flags_;
    EventQueue queue_;
    int eventFd_;
    int epoll_;
    std::uintptr_t handle_ = 0;

    std::atomic<long> pending_{0};
    std::atomic<bool> signalled_{false};
    std::atomic<bool> closing_{false};

    // Lost events: counted for the next overflow event, remembered for ec_lost.
    std::atomic<std::size_t> lostSinceOverflow_{0};
    std::mutex lostMutex_;
    std::deque<event_data_t> lost_;

    // Waiters.
    std::mutex waitMutex_;
    std::condition_variable followers_;
    int followerCount_ = 0;
    bool leader_ = false;

    // Control blocks of ev_* requests.
    std::mutex requestsMutex_;
    std::unique_ptr<sio_aiocb[]> requests_;
    std::vector<sio_aiocb*> freeRequests_;

    // mq_notify registrations (deliverSources drives it).
    std::unique_ptr<MqNotifier> mqNotifier_;

    // Sources (by handle), driven when the queue is empty.
    std::mutex sourcesMutex_;
    std::vector<std::uintptr_t> sources_;
};

}  // namespace nexnet::sio
