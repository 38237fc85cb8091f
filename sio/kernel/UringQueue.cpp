#include "sio/kernel/UringQueue.h"

#include <cerrno>

namespace nexnet::sio {

UringQueue::~UringQueue() {
    if (ready_) io_uring_queue_exit(&ring_);
}

int UringQueue::setUp(unsigned sqEntries, unsigned cqEntries) {
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = cqEntries;
    int result = io_uring_queue_init_params(sqEntries, &ring_, &params);
    if (result < 0) return -result;
    ready_ = true;
    return 0;
}

int UringQueue::wait(std::uint64_t seenDrains) {
    std::unique_lock<std::mutex> lock(waitLock_);
    if (drains_.load(std::memory_order_acquire) != seenDrains) return 0;
    if (leaderAsleep_) {
        ++followerCount_;
        followers_.wait(lock);
        --followerCount_;
        return 0;
    }
    leaderAsleep_ = true;
    lock.unlock();
    // Sleeps until the completion ring is not empty. It also runs this thread's io_uring task
    // work, which is where completions of requests it submitted are made.
    int result = io_uring_enter(static_cast<unsigned>(ring_.ring_fd), 0, 1, IORING_ENTER_GETEVENTS, nullptr);
    lock.lock();
    leaderAsleep_ = false;
    if (followerCount_ > 0) followers_.notify_one();  // one of them becomes the next leader
    return result < 0 && -result == EINTR ? EINTR : 0;
}

void UringQueue::wake() {
    bool leader;
    {
        std::lock_guard<std::mutex> lock(waitLock_);
        leader = leaderAsleep_;
        if (followerCount_ > 0) followers_.notify_all();
    }
    if (leader) {
        submit([](auto next) {
            if (io_uring_sqe* sqe = next()) {
                io_uring_prep_nop(sqe);
                io_uring_sqe_set_data64(sqe, kWakeTag);
            }
        });
    }
}

}  // namespace nexnet::sio
