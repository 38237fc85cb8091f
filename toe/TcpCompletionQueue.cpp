#include "toe/TcpCompletionQueue.h"

#include <cerrno>
#include <cstring>
#include <sys/eventfd.h>
#include <unistd.h>

namespace nexnet {

Result<std::unique_ptr<TcpCompletionQueue>> TcpCompletionQueue::create(unsigned capacity) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return Result<std::unique_ptr<TcpCompletionQueue>>::failure(errno,
                                                                    std::string("eventfd: ") + std::strerror(errno));
    return std::unique_ptr<TcpCompletionQueue>(new TcpCompletionQueue(fd, capacity == 0 ? 1 : capacity));
}

TcpCompletionQueue::TcpCompletionQueue(int eventFd, unsigned capacity) : eventFd_(eventFd), ring_(capacity) {}

TcpCompletionQueue::~TcpCompletionQueue() { close(eventFd_); }

void TcpCompletionQueue::grow() {
    std::vector<TcpCompletion> bigger(ring_.size() * 2);
    for (std::size_t i = 0; i < count_; ++i) bigger[i] = ring_[(head_ + i) % ring_.size()];
    ring_.swap(bigger);
    head_ = 0;
}

void TcpCompletionQueue::complete(const TcpCompletion& completion) {
    if (count_ == ring_.size()) grow();
    ring_[(head_ + count_) % ring_.size()] = completion;
    // Signalled on the empty -> non-empty edge only: one write per batch the application takes.
    if (count_++ == 0) {
        std::uint64_t one = 1;
        [[maybe_unused]] ssize_t written = write(eventFd_, &one, sizeof one);
    }
}

unsigned TcpCompletionQueue::take(TcpCompletion* out, unsigned max) {
    unsigned n = 0;
    for (; n < max && count_ > 0; ++n, --count_) {
        out[n] = ring_[head_];
        head_ = (head_ + 1) % ring_.size();
    }
    if (n > 0 && count_ == 0) {
        std::uint64_t value;
        [[maybe_unused]] ssize_t got = read(eventFd_, &value, sizeof value);
    }
    return n;
}

}  // namespace nexnet
