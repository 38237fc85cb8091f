#pragma once
/// @file ControlQueue.h
/// @brief ControlQueue: work another thread hands to the control thread, which runs it when it
/// next turns (the telemetry thread's snapshots and commands).

#include "netbuf/Result.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace nexnet {

/// A queue of functions for the control thread (the thread that runs the interfaces), posted from
/// any other thread, with an eventfd the control loop watches. The control thread pays one relaxed
/// load per run() while nothing is queued: no lock, no syscall.
class ControlQueue {
public:
    /// Makes the queue and its eventfd. Errors: the errno of eventfd.
    static Result<std::unique_ptr<ControlQueue>> create();
    /// Closes the eventfd; work still queued is dropped (its callers see no answer).
    ~ControlQueue();
    ControlQueue(const ControlQueue&) = delete;
    ControlQueue& operator=(const ControlQueue&) = delete;

    /// Queues @p work for the control thread and signals the eventfd. Any thread; takes a lock
    /// the control thread holds only while swapping the queue.
    void post(std::function<void()> work);

    /// Runs @p work on the control thread and waits for its value, at most @p timeout, or until
    /// close() is called. Any thread but the control thread (it would wait for itself).
    /// @return the value, or nothing when the control thread did not answer in time.
    template <typename T>
    std::optional<T> call(std::function<T()> work, std::chrono::milliseconds timeout) {
        auto promise = std::make_shared<std::promise<T>>();
        std::future<T> future = promise->get_future();
        post([promise, work = std::move(work)] { promise->set_value(work()); });
        auto deadline = std::chrono::steady_clock::now() + timeout;
        // In slices, so that close() (the control thread shutting down) ends the wait at once.
        while (future.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
            if (closed_.load() || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        }
        try {
            return future.get();
        } catch (const std::future_error&) {  // the queue went away with the work: no answer
            return std::nullopt;
        }
    }

    /// Runs everything queued, in order. Control thread only. @return the number run.
    unsigned run();
    /// Makes every call() waiting now or later give up: the control thread will not run work
    /// any more. Any thread.
    void close() { closed_.store(true); }
    /// Readable while work is queued.
    int eventFd() const { return eventFd_; }

private:
    explicit ControlQueue(int eventFd) : eventFd_(eventFd) {}

    int eventFd_;
    std::atomic<bool> pending_{false};
    std::atomic<bool> closed_{false};
    std::mutex lock_;
    std::vector<std::function<void()>> queued_;
    std::vector<std::function<void()>> running_;
};

}  // namespace nexnet
