#include "drivers/tap/TapUring.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nexnet {

namespace {

template <typename T>
T* at(void* base, std::uint32_t offset) {
    return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
}

void* mapRing(int fd, std::size_t size, off_t offset) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
    return p == MAP_FAILED ? nullptr : p;
}

}  // namespace

int TapUring::setUp() {
    io_uring_params params{};
    int fd = static_cast<int>(syscall(__NR_io_uring_setup, kDepth, &params));
    if (fd < 0) return errno;
    ring_ = fd;
    sqRingSize_ = params.sq_off.array + params.sq_entries * sizeof(unsigned);
    cqRingSize_ = params.cq_off.cqes + params.cq_entries * sizeof(io_uring_cqe);
    sqesSize_ = params.sq_entries * sizeof(io_uring_sqe);
    sqRing_ = mapRing(fd, sqRingSize_, IORING_OFF_SQ_RING);
    cqRing_ = mapRing(fd, cqRingSize_, IORING_OFF_CQ_RING);
    sqes_ = static_cast<io_uring_sqe*>(mapRing(fd, sqesSize_, IORING_OFF_SQES));
    if (sqRing_ == nullptr || cqRing_ == nullptr || sqes_ == nullptr) return errno;  // the destructor unmaps
    sqTail_ = at<unsigned>(sqRing_, params.sq_off.tail);
    sqMask_ = at<unsigned>(sqRing_, params.sq_off.ring_mask);
    sqArray_ = at<unsigned>(sqRing_, params.sq_off.array);
    cqHead_ = at<unsigned>(cqRing_, params.cq_off.head);
    cqTail_ = at<unsigned>(cqRing_, params.cq_off.tail);
    cqMask_ = at<unsigned>(cqRing_, params.cq_off.ring_mask);
    cqes_ = at<io_uring_cqe>(cqRing_, params.cq_off.cqes);
    ready_ = true;
    return 0;
}

TapUring::~TapUring() {
    if (sqes_ != nullptr) munmap(sqes_, sqesSize_);
    if (cqRing_ != nullptr) munmap(cqRing_, cqRingSize_);
    if (sqRing_ != nullptr) munmap(sqRing_, sqRingSize_);
    if (ring_ >= 0) close(ring_);
}

int TapUring::writeBurst(int fd, const iovec (*vectors)[2], unsigned count, int* results) {
    if (count == 0) return 0;
    if (count > kDepth) return EINVAL;
    // We are the only producer of submissions: the tail is ours to read plainly.
    unsigned tail = *sqTail_;
    for (unsigned i = 0; i < count; ++i) {
        unsigned slot = (tail + i) & *sqMask_;
        io_uring_sqe& sqe = sqes_[slot];
        std::memset(&sqe, 0, sizeof sqe);
        sqe.opcode = IORING_OP_WRITEV;
        sqe.fd = fd;
        sqe.addr = reinterpret_cast<std::uint64_t>(vectors[i]);
        sqe.len = 2;
        sqe.user_data = i;
        sqArray_[slot] = slot;
    }
    // Release: the kernel must see the SQEs before the new tail.
    std::atomic_ref<unsigned>(*sqTail_).store(tail + count, std::memory_order_release);
    long entered = syscall(__NR_io_uring_enter, ring_, count, count, IORING_ENTER_GETEVENTS, nullptr, 0);
    if (entered < 0) return errno;
    // Tap reads and writes complete inside the call; should one not have, wait for it, so that no
    // completion is left behind to be mistaken for one of the next burst.
    unsigned reaped = 0;
    unsigned head = *cqHead_;
    while (reaped < count) {
        // Acquire: the CQEs are complete once we see the tail that covers them.
        unsigned end = std::atomic_ref<unsigned>(*cqTail_).load(std::memory_order_acquire);
        for (; head != end; ++head, ++reaped) {
            const io_uring_cqe& cqe = cqes_[head & *cqMask_];
            if (cqe.user_data < count) results[cqe.user_data] = cqe.res;
        }
        std::atomic_ref<unsigned>(*cqHead_).store(head, std::memory_order_release);
        if (reaped < count &&
            syscall(__NR_io_uring_enter, ring_, 0, count - reaped, IORING_ENTER_GETEVENTS, nullptr, 0) < 0 &&
            errno != EINTR)
            return errno;
    }
    return 0;
}

}  // namespace nexnet
