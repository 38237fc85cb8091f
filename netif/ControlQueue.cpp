#include "netif/ControlQueue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace nexnet {

Result<std::unique_ptr<ControlQueue>> ControlQueue::create() {
    using R = Result<std::unique_ptr<ControlQueue>>;
    int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return R::failure(errno, "eventfd for the control queue");
    return std::unique_ptr<ControlQueue>(new ControlQueue(fd));
}

ControlQueue::~ControlQueue() { ::close(eventFd_); }

void ControlQueue::post(std::function<void()> work) {
    {
        std::lock_guard<std::mutex> lock(lock_);
        queued_.push_back(std::move(work));
        pending_.store(true, std::memory_order_release);
    }
    std::uint64_t one = 1;
    (void)!::write(eventFd_, &one, sizeof one);  // a full counter still leaves it readable
}

unsigned ControlQueue::run() {
    if (!pending_.load(std::memory_order_acquire)) return 0;
    std::uint64_t count = 0;
    (void)!::read(eventFd_, &count, sizeof count);
    {
        std::lock_guard<std::mutex> lock(lock_);
        running_.swap(queued_);
        pending_.store(false, std::memory_order_relaxed);
    }
    unsigned ran = 0;
    for (auto& work : running_) {
        work();
        ++ran;
    }
    running_.clear();
    return ran;
}

}  // namespace nexnet
