#pragma once
/// @file TapUring.h
/// @brief TapUring: a minimal io_uring (raw system calls, no liburing) that runs a burst of writev
/// calls on a tap descriptor with one system call.

#include <cstdint>
#include <sys/uio.h>

struct io_uring_sqe;
struct io_uring_cqe;

namespace nexnet {

/// One io_uring instance used synchronously: a burst of up to kDepth writev requests is submitted
/// and waited for with a single io_uring_enter. A tap write never sleeps (tun drops and counts
/// when its backlog is full), so every request completes inside that call.
///
/// Only writes: io_uring does not honour O_NONBLOCK for a tun read and would wait for a frame
/// instead of returning EAGAIN on an empty queue; receiving uses that waiting instead, with a
/// multishot read into posted netbufs (TapReceiveRing).
///
/// Why: a tap moves one frame per read or write and Linux has no batched call for it; measured
/// here (bench/tap/README.md), 32 tap writes through one io_uring_enter run 1.3-1.6x faster than
/// 32 writev calls on this shared 2-core machine, and never slower.
///
/// Shared memory layout (the kernel's, see io_uring_setup(2)): a submission ring of indices into
/// an array of 64-byte SQEs, and a completion ring of 16-byte CQEs; head and tail of each are
/// 32-bit counters, the side that consumes owns head, the side that produces owns tail.
///
/// Not thread-safe: one instance per queue, used by the queue's thread.
class TapUring {
public:
    /// Most requests in one burst.
    static constexpr unsigned kDepth = 32;

    TapUring() = default;
    ~TapUring();
    TapUring(const TapUring&) = delete;
    TapUring& operator=(const TapUring&) = delete;

    /// Creates the rings. @return 0, or the errno of io_uring_setup/mmap (ENOSYS, EPERM when
    /// io_uring is disabled: the caller then uses plain readv/writev).
    int setUp();
    /// True once setUp succeeded.
    bool ok() const { return ready_; }

    /// Runs @p count (at most kDepth) writev calls on @p fd, request i with the two-piece vector
    /// @p vectors[i], in order, and waits for all of them.
    /// @p results[i] receives request i's result: bytes written, or -errno.
    /// @return 0, or the errno of io_uring_enter (then no result is valid).
    int writeBurst(int fd, const iovec (*vectors)[2], unsigned count, int* results);

private:
    int ring_ = -1;
    bool ready_ = false;
    void* sqRing_ = nullptr;
    std::size_t sqRingSize_ = 0;
    void* cqRing_ = nullptr;
    std::size_t cqRingSize_ = 0;
    io_uring_sqe* sqes_ = nullptr;
    std::size_t sqesSize_ = 0;
    // Pointers into the rings (offsets from io_uring_params).
    unsigned* sqTail_ = nullptr;
    unsigned* sqMask_ = nullptr;
    unsigned* sqArray_ = nullptr;
    unsigned* cqHead_ = nullptr;
    unsigned* cqTail_ = nullptr;
    unsigned* cqMask_ = nullptr;
    io_uring_cqe* cqes_ = nullptr;
};

}  // namespace nexnet
