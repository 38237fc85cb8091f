#pragma once
/// @file TapReceiveRing.h
/// @brief TapReceiveRing: a tap queue's receive through io_uring, one multishot read into netbufs
/// posted from the driver's pool, so that a burst of frames costs one system call or none.

#include "netbuf/NetbufPool.h"

#include <cstdint>
#include <memory>
#include <vector>

struct io_uring;
struct io_uring_buf_ring;

namespace nexnet {

/// Receives a tap queue's frames through one io_uring multishot read (IORING_OP_READ_MULTISHOT,
/// Linux 6.7) that picks its buffers from a provided-buffer ring filled with netbufs of the
/// driver's pool. Each frame the kernel queues on the tap is read, by the kernel, into the next
/// posted netbuf and announced by a completion (CQE); harvest() collects the completions from
/// the shared completion ring, without a system call when they are already there.
///
/// Why: a tap moves one frame per read and Linux has no batched read for it; a readv per frame
/// costs a system call per frame (bench/README.md has the figures).
///
/// Shared memory (the kernel's, io_uring_setup(2) and io_uring_register_buf_ring(3)):
///
///     provided-buffer ring (ours: tail)            completion ring (kernel's: tail)
///     +------+------+------+-- - -+                 +-----------------------------+
///     | addr | addr | addr |      |  kernel takes   | res = header + frame bytes  |
///     | len  | len  | len  |      |  from its head  | flags = bid << 16 | MORE    |
///     | bid  | bid  | bid  |      | --------------> +-----------------------------+
///     +------+------+------+-- - -+
///        |  bid indexes slots_: the Netbuf posted under that id (nullptr: none posted)
///        v
///     [prefix | frame ...........................]   netbuf: prefix bytes in the headroom,
///      ^ addr  ^ Netbuf::data()                      the frame at data()
///
/// Each posted buffer starts @p prefix bytes before the netbuf's data() (the virtio-net header
/// the tap writes before each frame lands in the headroom) and ends at the end of the netbuf.
///
/// Task work: the kernel reads frames in the context of the thread that armed the read, which it
/// wakes (or interrupts, once per batch of frames) to do so: harvest() itself makes no system
/// call, it reads the completion ring. That interruption ends a blocking call of that thread that
/// is not restarted (a recv with a timeout, epoll_wait) with EINTR, so only the queue's thread
/// arms the read: start(), usually on the control thread, posts netbufs but arms nothing, and
/// the queue's first harvest() arms it. Not IORING_SETUP_COOP_TASKRUN: that leaves the reads for
/// the thread's next system call, any of them, and a thread asleep in epoll is not woken, so
/// frames would wait in the kernel while the completions an event loop watches never come.
/// Not DEFER_TASKRUN: it ties the ring to one thread (SINGLE_ISSUER), and stop() runs on another.
///
/// Interrupt mode: completionFd() (an epoll descriptor over the ring and, until the read is
/// armed, the tap) is readable while completions wait, or while frames wait in the tap with no
/// read armed yet: what an event loop watches instead of the tap descriptor, which the read
/// empties.
///
/// Ownership: posted netbufs belong to the ring until harvest hands them out (the caller then
/// owns them) or stop() returns them to the pool. When the pool cannot refill the ring, the read
/// stops for want of buffers and frames wait in the kernel's queue (which drops, and counts in
/// the interface's tx_dropped, what overflows it): no frame is lost in the driver.
///
/// Threading: harvest() on the queue's thread; start() and stop() from the control thread while no
/// harvest runs. The first harvest() after start() arms the read on its thread; a harvest() from
/// yet another thread moves it there (a cancel and a new read in one system call). stop() waits up to a
/// second for a read armed by another thread to end, then takes the netbufs back anyway:
/// unregistering the buffer ring guarantees no later read uses them.
class TapReceiveRing {
public:
    /// Most netbufs posted per queue.
    static constexpr unsigned kMaxBuffers = 256;

    /// What one harvest() found.
    struct Harvest {
        unsigned frames = 0;  ///< Netbufs handed out.
        int error = 0;        ///< errno that ended the read (EBADFD: the interface was deleted), or 0.
    };

    /// An empty ring: setUp() makes it.
    TapReceiveRing();
    /// stop(), then closes the ring.
    ~TapReceiveRing();
    TapReceiveRing(const TapReceiveRing&) = delete;
    TapReceiveRing& operator=(const TapReceiveRing&) = delete;

    /// Creates the rings for tap descriptor @p tapFd (not owned) with room for @p buffers (rounded
    /// down to a power of two, 1 to kMaxBuffers) netbufs of @p pool, each read starting @p prefix
    /// bytes before data(). Posts nothing yet (start() does). Called once, by the driver's
    /// factory. @return 0, ENOTSUP when the kernel lacks multishot reads or buffer rings, EINVAL
    /// when the pool's headroom is under @p prefix, or the errno of io_uring_setup (ENOSYS,
    /// EPERM: io_uring disabled).
    int setUp(int tapFd, NetbufPool& pool, unsigned buffers, std::uint32_t prefix);

    /// Posts up to @p limit netbufs of @p pool (the driver's pool now: it may have been replaced
    /// since setUp) until the pool runs dry, and makes completionFd() readable when frames wait
    /// in the tap. Arms nothing: the next harvest() does, on its thread.
    /// @return 0 or the errno of registering the buffer ring or watching the tap.
    int start(NetbufPool& pool, unsigned limit);
    /// Cancels the read, takes back every posted netbuf (read or not: what was read is
    /// discarded) and returns them to the pool. The pool is full again once the caller frees
    /// what harvest handed out. Also consumes late completions of an earlier read.
    void stop();

    /// Refills and re-arms the read when needed, then hands out up to @p max received netbufs into
    /// @p out with the bytes the kernel wrote into each (prefix included) in @p bytes, in the
    /// order the tap queued them. Never blocks. Malformed frames are the caller's to judge.
    Harvest harvest(Netbuf** out, std::uint32_t* bytes, unsigned max);

    /// Netbufs the ring holds (posted, or read and not yet harvested).
    unsigned posted() const { return static_cast<unsigned>(slots_.size() - empty_.size()); }
    /// Netbufs the ring holds when full.
    unsigned capacity() const { return static_cast<unsigned>(slots_.size()); }
    /// What an event loop watches in interrupt mode: readable while completions wait, or while
    /// frames wait in the tap and no read is armed (after start(), before the first harvest()).
    /// -1 before setUp().
    int completionFd() const;

private:
    int registerBuffers();
    void refill();
    int arm();
    int watchTap(bool watch);
    void release();
    std::uint64_t currentTag() const;
    unsigned reap(Netbuf** out, std::uint32_t* bytes, unsigned max, int& error);

    std::unique_ptr<io_uring> ring_;  // liburing's handle, set up (nullptr: not yet)
    bool registered_ = false;         // buffer ring registered with the kernel
    bool armed_ = false;              // a multishot read is pending
    bool polling_ = false;            // a poll on the tap is pending (nothing posted to read into)
    const void* armer_ = nullptr;     // the thread that armed it (a thread_local's address)
    // user_data of a read: epoch << 32 | read. The epoch changes at stop(): completions of an older
    // one carry netbufs already returned and are ignored.
    std::uint32_t epoch_ = 1;
    std::uint32_t read_ = 0;
    int fd_ = -1;
    int wakeFd_ = -1;           // epoll over the ring and, while watchingTap_, the tap
    bool watchingTap_ = false;  // the tap is in wakeFd_'s set
    NetbufPool* pool_ = nullptr;
    std::uint32_t prefix_ = 0;
    unsigned limit_ = 0;                    // netbufs posted at most (start())
    io_uring_buf_ring* buffers_ = nullptr;  // mmap'd, page aligned
    std::size_t buffersSize_ = 0;
    std::vector<Netbuf*> slots_;        // by buffer id
    std::vector<std::uint16_t> empty_;  // ids with no netbuf posted
};

}  // namespace nexnet
