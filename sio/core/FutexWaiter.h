#pragma once
/// @file FutexWaiter.h
/// @brief FutexWaiter: the helper thread behind sem_await and pthread_mutex_alock.

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <pthread.h>
#include <semaphore.h>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace nexnet::sio {

class Channel;

/// Takes semaphores and mutexes on behalf of threads that asked with sem_await or
/// pthread_mutex_alock, and posts an event when it did.
///
/// The kernel offers no asynchronous wait on a futex that completes into a queue (io_uring's
/// FUTEX_WAIT, Linux 6.7, still leaves taking the lock to user space). So one thread per
/// process, started on first use, sleeps in futex_waitv(2) on every pending object's futex word
/// at once (plus one word of its own, bumped to wake it for a new request). Woken, it takes what
/// it can with glibc's protocol, posts the events, and sleeps again; it never polls.
///
/// glibc's protocols, from its sources (nptl/sem_waitcommon.c, nptl/lowlevellock.c,
/// sysdeps/nptl/internaltypes.h) and stable since glibc 2.21:
/// - a semaphore's 64-bit word holds the value (low half, the futex word) and the number of
///   waiters (high half); sem_post wakes one futex waiter only when that number is not 0, so a
///   waiter counts itself in first, then takes with one compare-and-swap that decrements both;
/// - a normal mutex's lock word is 0 (free), 1 (locked) or 2 (locked, maybe waiters);
///   pthread_mutex_unlock wakes a waiter only for 2, so a waiter takes it by exchanging in 2
///   (getting 0 back means it is its own now) and sleeps while it reads 2.
class FutexWaiter {
public:
    /// The one instance.
    static FutexWaiter& instance();

    /// sem_await. @return 0, or an errno (EAGAIN: too many waits; ENOTSUP: no futex_waitv).
    int awaitSemaphore(sem_t* semaphore, const timespec* deadline, Channel& channel, void* data);
    /// pthread_mutex_alock. @return 0, or an errno (EINVAL: a mutex type it cannot take).
    int lockMutex(pthread_mutex_t* mutex, Channel& channel, void* data);
    /// Cancels every wait that reports to @p channel (ec_destroy). When it returns, the helper
    /// no longer touches @p channel.
    void forget(Channel& channel);
    /// Waits pending (for tests).
    std::size_t pending();

private:
    struct Wait {
        bool semaphore = false;
        void* object = nullptr;
        bool shared = false;  // process-shared: a futex without FUTEX_PRIVATE_FLAG
        bool hasDeadline = false;
        timespec deadline{};
        Channel* channel = nullptr;
        void* data = nullptr;
        pid_t requester = 0;
    };
    static constexpr std::size_t kMaxWaits = 127;

    FutexWaiter() = default;
    int add(const Wait& wait);
    void run();
    bool tryTake(Wait& wait);
    void finish(const Wait& wait, int error);
    void wake();

    std::mutex mutex_;
    std::vector<Wait> waits_;
    std::atomic<std::uint32_t> wakeWord_{0};
    bool started_ = false;
    std::thread thread_;
};

}  // namespace nexnet::sio
