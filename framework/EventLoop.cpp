#include "framework/EventLoop.h"

#include <cerrno>
#include <cstdint>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace nexnet {

struct EventLoop::Timer {
    int fd = -1;
    bool repeat = false;
    std::shared_ptr<std::function<void()>> handler;
    ~Timer() {
        if (fd >= 0) close(fd);
    }
};

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    using R = Result<std::unique_ptr<EventLoop>>;
    std::unique_ptr<EventLoop> loop(new EventLoop());
    loop->epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epoll_ < 0) return R::failure(errno);
    loop->wakeFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wakeFd_ < 0) return R::failure(errno);
    int wake = loop->wakeFd_;
    int error = loop->watchReadable(wake, [wake] {
        std::uint64_t value;
        while (read(wake, &value, sizeof value) > 0) {
        }
    });
    if (error != 0) return R::failure(error);
    return R(std::move(loop));
}

EventLoop::~EventLoop() {
    timers_.clear();
    if (wakeFd_ >= 0) close(wakeFd_);
    if (epoll_ >= 0) close(epoll_);
}

int EventLoop::watchReadable(int fd, std::function<void()> handler) {
    if (readers_.count(fd) != 0) return EEXIST;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) return errno;
    readers_[fd] = std::make_shared<std::function<void()>>(std::move(handler));
    return 0;
}

int EventLoop::unwatch(int fd) {
    auto it = readers_.find(fd);
    if (it == readers_.end()) return ENOENT;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
    readers_.erase(it);
    return 0;
}

Result<EventLoop::Token> EventLoop::addTimer(std::chrono::nanoseconds delay, std::function<void()> handler,
                                             bool repeat) {
    auto timer = std::make_unique<Timer>();
    timer->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (timer->fd < 0) return Result<Token>::failure(errno);
    auto count = delay.count() > 0 ? delay.count() : 1;  // a zero it_value would disarm the timer
    itimerspec spec{};
    spec.it_value.tv_sec = count / 1'000'000'000;
    spec.it_value.tv_nsec = count % 1'000'000'000;
    if (repeat) spec.it_interval = spec.it_value;
    if (timerfd_settime(timer->fd, 0, &spec, nullptr) != 0) return Result<Token>::failure(errno);
    timer->repeat = repeat;
    timer->handler = std::make_shared<std::function<void()>>(std::move(handler));
    Token token = nextToken_++;
    int fd = timer->fd;
    int error = watchReadable(fd, [this, token, fd] {
        std::uint64_t expirations = 0;
        if (read(fd, &expirations, sizeof expirations) <= 0) return;
        auto it = timers_.find(token);
        if (it == timers_.end()) return;
        auto handlerCopy = it->second->handler;  // the handler may cancel its own timer
        if (!it->second->repeat) cancelTimer(token);
        (*handlerCopy)();
    });
    if (error != 0) return Result<Token>::failure(error);
    timers_[token] = std::move(timer);
    return token;
}

int EventLoop::cancelTimer(Token timer) {
    auto it = timers_.find(timer);
    if (it == timers_.end()) return ENOENT;
    unwatch(it->second->fd);
    timers_.erase(it);
    return 0;
}

EventLoop::Token EventLoop::addPoller(std::function<bool()> handler) {
    Token token = nextToken_++;
    auto next = std::make_shared<Pollers>(*pollers_);
    next->emplace_back(token, std::move(handler));
    replacePollers(std::move(next));
    return token;
}

void EventLoop::replacePollers(std::shared_ptr<const Pollers> next) {
    if (polling_) retired_.push_back(std::move(pollers_));  // runOnce is iterating it
    pollers_ = std::move(next);
}

int EventLoop::removePoller(Token poller) {
    auto next = std::make_shared<Pollers>(*pollers_);
    for (auto it = next->begin(); it != next->end(); ++it) {
        if (it->first == poller) {
            next->erase(it);
            replacePollers(std::move(next));
            return 0;
        }
    }
    return ENOENT;
}

void EventLoop::post(std::function<void()> handler) { posted_.push_back(std::move(handler)); }

int EventLoop::runOnce(std::chrono::milliseconds timeout) {
    int ran = 0;
    bool busy = false;
    if (!posted_.empty()) {
        // Swap out first: a posted call may post again, for the turn after this one.
        runningPosted_.swap(posted_);
        for (auto& handler : runningPosted_) {
            handler();
            ++ran;
        }
        runningPosted_.clear();
    }
    // The list stays alive while it runs (retired_), even when a poller removes itself.
    const Pollers& pollers = *pollers_;
    polling_ = true;
    for (const auto& [token, handler] : pollers) {
        busy |= handler();
        ++ran;
    }
    polling_ = false;
    if (!retired_.empty()) [[unlikely]]
        retired_.clear();
    // A busy poll-mode loop looks at its descriptors at most every kBusyDescriptorCheck: no
    // syscall per burst. The clock (vDSO, no syscall) is read every 16th turn only.
    if (busy) {
        if ((++busyTurns_ & 15) != 0) return ran;
        auto now = std::chrono::steady_clock::now();
        if (now - lastDescriptorCheck_ < kBusyDescriptorCheck) return ran;
        lastDescriptorCheck_ = now;
    }
    epoll_event events[64];
    int wait = busy || !pollers_->empty() || !posted_.empty() ? 0 : static_cast<int>(timeout.count());
    int n = epoll_wait(epoll_, events, 64, wait);
    if (n < 0) return errno == EINTR ? ran : -errno;
    for (int i = 0; i < n; ++i) {
        auto it = readers_.find(events[i].data.fd);
        if (it == readers_.end()) continue;
        auto handler = it->second;
        (*handler)();
        ++ran;
    }
    return ran;
}

void EventLoop::run() {
    // The request is consumed on the way out, not cleared on the way in: a stop() from another
    // thread before this thread got here must not be lost (the loop would never return).
    running_.store(true, std::memory_order_release);
    while (!stopRequested_.load(std::memory_order_acquire)) {
        if (runOnce(std::chrono::milliseconds(100)) < 0) break;
    }
    running_.store(false, std::memory_order_release);
    stopRequested_.store(false, std::memory_order_release);
}

void EventLoop::stop() {
    stopRequested_.store(true, std::memory_order_release);
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = write(wakeFd_, &one, sizeof one);
}

}  // namespace nexnet
