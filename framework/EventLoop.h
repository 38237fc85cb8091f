#pragma once
/// @file EventLoop.h
/// @brief EventLoop: one thread's loop over file descriptors (epoll), timers (timerfd) and pollers.

#include "netbuf/Result.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

namespace nexnet {

/// The loop a driver and its interface run in: DriverKit's work loop.
///
/// Interrupt mode: a driver's queue signals an eventfd (MSI-X through VFIO, a readable tap fd),
/// the loop wakes in epoll_wait and calls the handler registered with watchReadable().
/// Poll mode: handlers registered with addPoller() run on every turn and the loop never sleeps
/// while any of them reports work done, as a DPDK lcore spins on rx bursts; while they do, it looks
/// at its descriptors and timers every 200 microseconds at most, not on every turn.
/// Timers (setRelativeTimeout of IOEthernet) are timerfds in the same epoll set.
///
/// Everything but stop() must be called from the loop's own thread. Handlers may add and remove
/// watches, timers and pollers, including their own.
class EventLoop {
public:
    /// Identifies a timer or a poller for removal.
    using Token = std::uint64_t;

    /// Makes a loop (an epoll set and an eventfd for stop()). Errors: the errno of epoll_create1/eventfd.
    static Result<std::unique_ptr<EventLoop>> create();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    /// Calls @p handler whenever @p fd is readable (level-triggered). One handler per fd.
    /// @return 0, EEXIST when @p fd is already watched, or the errno of epoll_ctl.
    int watchReadable(int fd, std::function<void()> handler);
    /// Stops watching @p fd. @return 0 or ENOENT.
    int unwatch(int fd);

    /// Calls @p handler once after @p delay, or every @p delay when @p repeat.
    /// Errors: the errno of timerfd_create/timerfd_settime.
    Result<Token> addTimer(std::chrono::nanoseconds delay, std::function<void()> handler, bool repeat = false);
    /// Cancels a timer; @return 0 or ENOENT (already fired, or unknown).
    int cancelTimer(Token timer);

    /// Adds a poll-mode handler, called on every turn of the loop; it returns true when it did
    /// some work. While any poller works, the loop does not sleep.
    Token addPoller(std::function<bool()> handler);
    /// Removes a poller; @return 0 or ENOENT.
    int removePoller(Token poller);

    /// Calls @p handler once, on the loop's next turn, before the pollers; the loop does not sleep
    /// while calls are posted. For work that must yield to other handlers and then continue (the
    /// base IONetwork::interruptOccurred past its budget). Loop thread only.
    void post(std::function<void()> handler);

    /// Runs one turn: posted calls, pollers, then ready descriptors, waiting at most @p timeout for them
    /// (never when a poller did work). @return the number of handlers that ran, or -errno.
    int runOnce(std::chrono::milliseconds timeout);
    /// Runs turns until stop() is called, then clears the request so the loop can run again.
    /// A stop() that came before run() (another thread was quicker) makes it return at once.
    void run();
    /// Makes run() return; safe from any thread and from signal handlers (an atomic store and
    /// a write to an eventfd).
    void stop();
    /// True while run() is turning and has not been asked to stop.
    bool isRunning() const {
        return running_.load(std::memory_order_acquire) && !stopRequested_.load(std::memory_order_acquire);
    }

private:
    EventLoop() = default;
    struct Timer;

    int epoll_ = -1;
    int wakeFd_ = -1;
    std::atomic<bool> stopRequested_{false};  // lock-free: stop() may run in a signal handler
    std::atomic<bool> running_{false};
    Token nextToken_ = 1;
    std::vector<std::function<void()>> posted_;
    std::vector<std::function<void()>> runningPosted_;
    unsigned busyTurns_ = 0;
    std::chrono::steady_clock::time_point lastDescriptorCheck_{};
    // 200 us: an epoll_wait costs about 1 us here, 0.5% of a busy core, and timers and
    // descriptors of a poll-mode loop are served that much later at most (measured: every 64th
    // turn of a null forwarder, ~60 us, cost 8% of it).
    static constexpr std::chrono::microseconds kBusyDescriptorCheck{200};
    std::unordered_map<int, std::shared_ptr<std::function<void()>>> readers_;
    std::unordered_map<Token, std::unique_ptr<Timer>> timers_;
    // Copy-on-write: runOnce iterates the current list without copying it or counting references
    // (no locked instruction per turn); a handler that adds or removes a poller replaces the list,
    // and the one being iterated is kept in retired_ until the turn ends.
    using Pollers = std::vector<std::pair<Token, std::function<bool()>>>;
    std::shared_ptr<const Pollers> pollers_ = std::make_shared<const Pollers>();
    std::vector<std::shared_ptr<const Pollers>> retired_;
    bool polling_ = false;
    void replacePollers(std::shared_ptr<const Pollers> next);
};

}  // namespace nexnet
