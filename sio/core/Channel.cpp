#include "sio/core/Channel.h"

#include "sio/core/EventSource.h"
#include "sio/core/MqNotifier.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace nexnet::sio {

namespace {

constexpr unsigned kMaxCapacity = 65536;

long long nowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

Result<std::unique_ptr<Channel>> Channel::create(unsigned flags, unsigned capacity) {
    if ((flags & ~unsigned{EC_NONBLOCK}) != 0 || capacity == 0 || capacity > kMaxCapacity)
        return Result<std::unique_ptr<Channel>>::failure(EINVAL);
    int eventFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (eventFd < 0) return Result<std::unique_ptr<Channel>>::failure(errno);
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    if (epoll < 0) {
        int e = errno;
        close(eventFd);
        return Result<std::unique_ptr<Channel>>::failure(e);
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = eventFd;
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, eventFd, &event) != 0) {
        int e = errno;
        close(epoll);
        close(eventFd);
        return Result<std::unique_ptr<Channel>>::failure(e);
    }
    std::size_t cells = std::max<std::size_t>(2, std::bit_ceil(capacity));
    return std::unique_ptr<Channel>(new Channel(flags, cells, eventFd, epoll));
}

Channel::Channel(unsigned flags, std::size_t capacity, int eventFd, int epoll)
    : flags_(flags), queue_(capacity), eventFd_(eventFd), epoll_(epoll) {}

Channel::~Channel() {
    mqNotifier_.reset();  // ends the registrations before the epoll set goes
    close(epoll_);
    close(eventFd_);
}

bool Channel::post(const event_data_t& event, bool fromOtherThread) {
    if (!queue_.push(event)) {
        {
            std::lock_guard<std::mutex> lock(lostMutex_);
            if (lost_.size() == queue_.capacity()) lost_.pop_front();  // remember the newest
            lost_.push_back(event);
        }
        lostSinceOverflow_.fetch_add(1, std::memory_order_release);
        if (fromOtherThread) signal();
        return false;
    }
    if (fromOtherThread) signal();
    return true;
}

void Channel::signal() {
    // One write per empty-to-signalled change: the taker clears the flag when it drains the
    // eventfd, so a burst of posts costs one system call.
    if (!signalled_.exchange(true, std::memory_order_acq_rel)) {
        std::uint64_t one = 1;
        [[maybe_unused]] ssize_t n = write(eventFd_, &one, sizeof one);
    }
    std::lock_guard<std::mutex> lock(waitMutex_);
    if (followerCount_ > 0 && !leader_) followers_.notify_one();
}

void Channel::drainSignal() {
    if (signalled_.exchange(false, std::memory_order_acq_rel)) {
        std::uint64_t count;
        [[maybe_unused]] ssize_t n = read(eventFd_, &count, sizeof count);
    }
}

int Channel::takeReady(event_data_t* out, int max) {
    int n = 0;
    if (lostSinceOverflow_.load(std::memory_order_acquire) != 0) {
        event_data_t overflow{};
        overflow.ev_type = event_type_overflow;
        overflow.ev_result = static_cast<ssize_t>(lostSinceOverflow_.exchange(0, std::memory_order_acq_rel));
        overflow.ev_errno = EOVERFLOW;
        out[n++] = overflow;
    }
    while (n < max && queue_.pop(out[n])) ++n;
    if (n == 0) return 0;
    if (queue_.size() == 0) {
        drainSignal();
    } else {
        std::lock_guard<std::mutex> lock(waitMutex_);
        if (followerCount_ > 0) followers_.notify_one();  // events remain: another taker may help
    }
    return n;
}

void Channel::deliverSources() {
    // One thread delivers at a time; the others wait for what it posts.
    std::unique_lock<std::mutex> lock(sourcesMutex_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    if (mqNotifier_) mqNotifier_->deliver(*this);
    for (std::size_t i = 0; i < sources_.size();) {
        if (deliverFrom(sources_[i], *this)) {
            ++i;
        } else {
            sources_[i] = sources_.back();  // the source is gone (sio_close)
            sources_.pop_back();
        }
    }
}

int Channel::take(event_data_t* out, int max, int timeoutMs) {
    long long deadline = timeoutMs < 0 ? -1 : nowNs() + static_cast<long long>(timeoutMs) * 1000000;
    for (;;) {
        if (closing_.load(std::memory_order_acquire)) return -EBADF;
        int n = takeReady(out, max);
        if (n > 0) return n;
        deliverSources();
        n = takeReady(out, max);
        if (n > 0) return n;
        long long left = deadline < 0 ? -1 : deadline - nowNs();
        if (deadline >= 0 && left <= 0) return 0;
        int waited = wait(deadline, deadline < 0 ? -1 : static_cast<int>((left + 999999) / 1000000));
        if (waited < 0) return waited;
    }
}

int Channel::wait(long long deadlineNs, int timeoutMs) {
    std::unique_lock<std::mutex> lock(waitMutex_);
    if (closing_.load(std::memory_order_acquire)) return -EBADF;
    if (queue_.size() > 0 || lostSinceOverflow_.load(std::memory_order_acquire) != 0) return 0;
    if (leader_) {
        ++followerCount_;
        if (deadlineNs < 0) {
            followers_.wait(lock);
        } else {
            followers_.wait_until(lock, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadlineNs)));
        }
        --followerCount_;
        return 0;
    }
    leader_ = true;
    lock.unlock();
    // poll on the epoll descriptor rather than epoll_wait: io_uring interrupts a thread that
    // submitted requests to make their completions (task work), and epoll_wait would report
    // that as EINTR; poll is restarted by the kernel then, and fails with EINTR only when a
    // signal handler ran.
    pollfd descriptor{epoll_, POLLIN, 0};
    int n = poll(&descriptor, 1, timeoutMs);
    int error = n < 0 ? errno : 0;
    lock.lock();
    leader_ = false;
    // Hand the kernel wait to a follower: this thread goes to take events and may return.
    if (followerCount_ > 0) followers_.notify_one();
    return error == EINTR ? -EINTR : 0;
}

int Channel::lost(event_data_t* out, int max) {
    std::lock_guard<std::mutex> lock(lostMutex_);
    int n = 0;
    while (n < max && !lost_.empty()) {
        out[n++] = lost_.front();
        lost_.pop_front();
    }
    return n;
}

int Channel::attach(std::uintptr_t sourceHandle, int fd) {
    std::lock_guard<std::mutex> lock(sourcesMutex_);
    if (fd >= 0) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = sourceHandle;
        if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0 && errno != EEXIST) return errno;
    }
    if (std::find(sources_.begin(), sources_.end(), sourceHandle) == sources_.end()) sources_.push_back(sourceHandle);
    return 0;
}

void Channel::detach(std::uintptr_t sourceHandle, int fd) {
    std::lock_guard<std::mutex> lock(sourcesMutex_);
    auto it = std::find(sources_.begin(), sources_.end(), sourceHandle);
    if (it == sources_.end()) return;
    sources_.erase(it);
    if (fd >= 0) epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
}

void Channel::watch(int fd, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &event);
}

MqNotifier* Channel::mqNotifier() {
    std::lock_guard<std::mutex> lock(sourcesMutex_);
    if (!mqNotifier_) {
        auto made = MqNotifier::create();
        if (!made) {
            errno = made.error();
            return nullptr;
        }
        epoll_event event{};
        event.events = EPOLLIN;
        if (epoll_ctl(epoll_, EPOLL_CTL_ADD, made.value()->fd(), &event) != 0) return nullptr;
        mqNotifier_ = std::move(made.value());
    }
    return mqNotifier_.get();
}

sio_aiocb* Channel::allocateRequest() {
    std::lock_guard<std::mutex> lock(requestsMutex_);
    if (!requests_) {
        requests_ = std::make_unique<sio_aiocb[]>(capacity());
        for (std::size_t i = capacity(); i > 0; --i) freeRequests_.push_back(&requests_[i - 1]);
    }
    if (freeRequests_.empty()) return nullptr;
    sio_aiocb* request = freeRequests_.back();
    freeRequests_.pop_back();
    *request = sio_aiocb{};
    return request;
}

void Channel::freeRequest(sio_aiocb* request) {
    std::lock_guard<std::mutex> lock(requestsMutex_);
    freeRequests_.push_back(request);
}

void Channel::shutDown() {
    closing_.store(true, std::memory_order_release);
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(eventFd_, &one, sizeof one);
    std::lock_guard<std::mutex> lock(waitMutex_);
    followers_.notify_all();
}

}  // namespace nexnet::sio
