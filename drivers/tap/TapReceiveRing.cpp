#include "drivers/tap/TapReceiveRing.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <liburing.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

namespace nexnet {

namespace {
// IORING_OP_READ_MULTISHOT (Linux 6.7) follows IORING_OP_SENDMSG_ZC in enum io_uring_op; Debian
// 12's headers (6.1) stop before it.
constexpr unsigned kOpReadMultishot = IORING_OP_SENDMSG_ZC + 1;
constexpr std::uint16_t kBufferGroup = 0;
constexpr std::uint64_t kCancelTag = 0;  // user_data of a cancel request: epoch 0 is no read's
constexpr std::uint64_t kPollTag = 1;    // user_data of the poll on the tap while nothing is posted
// Which thread armed the read: the address of a thread_local, with no system call to ask.
thread_local const char tThreadMarker = 0;
// How long stop() waits for a cancelled read's last completion, when another thread armed it.
constexpr unsigned kStopWaits = 20;
constexpr long kStopWaitNanoseconds = 50'000'000;
}  // namespace

TapReceiveRing::TapReceiveRing() = default;

int TapReceiveRing::setUp(int tapFd, NetbufPool& pool, unsigned buffers, std::uint32_t prefix) {
    if (pool.headroom() < prefix || buffers == 0) return EINVAL;
    unsigned entries = std::bit_floor(std::min(buffers, kMaxBuffers));
    io_uring_params params{};
    // One CQE per posted buffer at most between two harvests, plus a read's end and a cancel: the
    // completion ring never overflows (an overflow would end a multishot read). No COOP_TASKRUN:
    // see the header (task work).
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = 2 * entries;
    auto ring = std::make_unique<io_uring>();
    if (int r = io_uring_queue_init_params(8, ring.get(), &params); r < 0) return -r;
    ring_ = std::move(ring);
    // What an event loop watches: the ring (completions wait) and, until the queue's thread has
    // armed the read, the tap (frames wait): see the header (task work).
    wakeFd_ = epoll_create1(EPOLL_CLOEXEC);
    if (wakeFd_ < 0) return errno;
    epoll_event ringReady{};
    ringReady.events = EPOLLIN;
    if (epoll_ctl(wakeFd_, EPOLL_CTL_ADD, ring_->ring_fd, &ringReady) != 0) return errno;
    io_uring_probe* probe = io_uring_get_probe_ring(ring_.get());
    bool multishot = probe != nullptr && io_uring_opcode_supported(probe, static_cast<int>(kOpReadMultishot));
    if (probe != nullptr) io_uring_free_probe(probe);
    if (!multishot) return ENOTSUP;

    buffersSize_ = entries * sizeof(io_uring_buf);
    void* memory = mmap(nullptr, buffersSize_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return errno;
    buffers_ = static_cast<io_uring_buf_ring*>(memory);
    fd_ = tapFd;
    pool_ = &pool;
    prefix_ = prefix;
    slots_.assign(entries, nullptr);
    for (unsigned id = entries; id-- > 0;) empty_.push_back(static_cast<std::uint16_t>(id));
    // Registered now so that a kernel without buffer rings (before 5.19) is found at once.
    if (int error = registerBuffers()) return error == EINVAL ? ENOTSUP : error;
    return 0;
}

TapReceiveRing::~TapReceiveRing() {
    stop();
    if (buffers_ != nullptr) munmap(buffers_, buffersSize_);
    if (ring_) io_uring_queue_exit(ring_.get());
    if (wakeFd_ >= 0) close(wakeFd_);
}

int TapReceiveRing::registerBuffers() {
    if (registered_) return 0;
    // A new registration starts the kernel's head at 0: so does our tail.
    io_uring_buf_ring_init(buffers_);
    io_uring_buf_reg registration{};
    registration.ring_addr = reinterpret_cast<std::uint64_t>(buffers_);
    registration.ring_entries = capacity();
    registration.bgid = kBufferGroup;
    if (int r = io_uring_register_buf_ring(ring_.get(), &registration, 0); r < 0) return -r;
    registered_ = true;
    return 0;
}

int TapReceiveRing::start(NetbufPool& pool, unsigned limit) {
    pool_ = &pool;
    limit_ = std::min(limit, capacity());
    if (int error = registerBuffers()) return error;
    refill();
    // Not armed here: the thread that arms the read is the one the kernel interrupts to read each
    // frame, and this is usually the control thread. The queue's first harvest arms it; until then
    // the tap itself wakes whoever watches completionFd.
    return watchTap(true);
}

int TapReceiveRing::completionFd() const { return wakeFd_; }

int TapReceiveRing::watchTap(bool watch) {
    if (watch == watchingTap_) return 0;
    epoll_event tapReady{};
    tapReady.events = EPOLLIN;
    if (epoll_ctl(wakeFd_, watch ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd_, &tapReady) != 0 && errno != ENOENT &&
        errno != EBADF)
        return errno;
    watchingTap_ = watch;
    return 0;
}

void TapReceiveRing::refill() {
    unsigned missing = limit_ > posted() ? limit_ - posted() : 0;
    if (missing == 0 || !registered_) return;
    Netbuf* fresh[kMaxBuffers];
    unsigned got = missing;
    if (pool_->getBulk(fresh, missing) != 0) {
        // The pool runs low: take what is left; the rest stays unposted until netbufs come back.
        for (got = 0; got < missing; ++got) {
            if ((fresh[got] = pool_->allocate()) == nullptr) break;
        }
    }
    int mask = io_uring_buf_ring_mask(capacity());
    for (unsigned i = 0; i < got; ++i) {
        Netbuf* netbuf = fresh[i];
        netbuf->resetForReceive(pool_->headroom());  // getBulk leaves a past use's metadata
        std::uint16_t id = empty_.back();
        empty_.pop_back();
        slots_[id] = netbuf;
        io_uring_buf_ring_add(buffers_, netbuf->data() - prefix_, netbuf->tailroom() + prefix_, id, mask,
                              static_cast<int>(i));
    }
    // Release store of the tail: the kernel sees the entries before it sees them counted.
    io_uring_buf_ring_advance(buffers_, static_cast<int>(got));
}

std::uint64_t TapReceiveRing::currentTag() const { return std::uint64_t{epoch_} << 32 | read_; }

int TapReceiveRing::arm() {
    if (armed_ && armer_ != &tThreadMarker) {
        // Armed by another thread (start() on the control thread): the kernel would read frames in
        // that thread's task work. Move the read here: cancel it, arm a new one in the same call.
        // Frames the old one read stay valid (same epoch); its end is ignored (another read).
        io_uring_sqe* cancel = io_uring_get_sqe(ring_.get());
        if (cancel == nullptr) return EBUSY;
        io_uring_prep_cancel64(cancel, currentTag(), 0);
        cancel->user_data = kCancelTag;
        ++read_;
        armed_ = false;
    }
    if (armed_ || posted() == 0) return 0;
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
    if (sqe == nullptr) return EBUSY;
    // Length 0: each read takes a whole posted buffer (io_uring_prep_read_multishot(3)).
    io_uring_prep_rw(static_cast<int>(kOpReadMultishot), sqe, fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    sqe->user_data = currentTag();
    // The read runs at once: what the tap holds now arrives with this call.
    if (int r = io_uring_submit(ring_.get()); r < 0) return -r;
    armed_ = true;
    armer_ = &tThreadMarker;
    // From now on the read empties the tap and its completions wake the watcher: a tap left in the
    // set would only wake it early, before the frame's completion is there.
    return watchTap(false);
}

TapReceiveRing::Harvest TapReceiveRing::harvest(Netbuf** out, std::uint32_t* bytes, unsigned max) {
    Harvest result;
    refill();
    result.error = arm();
    // Completions the kernel could not fit in the ring wait in its overflow list until an entry.
    if (io_uring_cq_ready(ring_.get()) < max && io_uring_cq_has_overflow(ring_.get())) io_uring_get_events(ring_.get());
    result.frames = reap(out, bytes, max, result.error);
    if (!armed_ && result.error == 0) {
        // The read ended in this reap (ENOBUFS): arm the next one now, or completionFd would stay
        // quiet while frames wait in the kernel and an event loop would never call again.
        refill();
        result.error = arm();
    }
    // Nothing posted (the pool is dry): a poll on the tap makes completionFd readable when frames
    // wait, as the tap descriptor itself is for rx=readv.
    if (!armed_ && !polling_ && result.error == 0) {
        if (io_uring_sqe* sqe = io_uring_get_sqe(ring_.get())) {
            io_uring_prep_poll_add(sqe, fd_, POLLIN);
            sqe->user_data = kPollTag;
            polling_ = io_uring_submit(ring_.get()) == 1;
        }
    }
    return result;
}

// Takes up to @p max frames from the completion ring into @p out (nullptr: frees them all);
// completions that carry no frame (the read's end, a cancel) are consumed whatever @p max is.
unsigned TapReceiveRing::reap(Netbuf** out, std::uint32_t* bytes, unsigned max, int& error) {
    unsigned frames = 0, seen = 0, head = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(ring_.get(), head, cqe) {
        if (cqe->user_data == kPollTag) polling_ = false;
        // Frames of any read since the last start() are ours; only the current read's end matters.
        bool sameEpoch = cqe->user_data >> 32 == epoch_;
        bool current = cqe->user_data == currentTag();
        if (sameEpoch && (cqe->flags & IORING_CQE_F_BUFFER) != 0) {
            if (out != nullptr && frames == max) break;
            auto id = static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
            Netbuf* netbuf = id < slots_.size() ? slots_[id] : nullptr;
            if (netbuf != nullptr) {
                slots_[id] = nullptr;
                empty_.push_back(id);
                if (cqe->res > 0 && out != nullptr) {
                    out[frames] = netbuf;
                    bytes[frames++] = static_cast<std::uint32_t>(cqe->res);
                } else {
                    netbuf->free();  // stop() discarding what was read
                }
            }
        }
        ++seen;
        if (!current || (cqe->flags & IORING_CQE_F_MORE) != 0) continue;
        // The read ended. ENOBUFS: every posted netbuf is used; the next harvest refills and
        // re-arms. ECANCELED: stop() asked for it. Anything else ends the queue.
        armed_ = false;
        if (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED) error = -cqe->res;
    }
    io_uring_cq_advance(ring_.get(), seen);
    return frames;
}

void TapReceiveRing::stop() {
    if (!ring_) return;
    watchTap(false);
    if (registered_) release();
    // Completions of an old read (another thread's, late) are consumed: completionFd stays quiet.
    int ignored = 0;
    reap(nullptr, nullptr, 0, ignored);
}

void TapReceiveRing::release() {
    if (polling_) {
        if (io_uring_sqe* sqe = io_uring_get_sqe(ring_.get())) {
            io_uring_prep_cancel64(sqe, kPollTag, 0);
            sqe->user_data = kCancelTag;
            io_uring_submit(ring_.get());
        }
        polling_ = false;
    }
    if (armed_) {
        io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
        if (sqe != nullptr) {
            io_uring_prep_cancel64(sqe, currentTag(), 0);
            sqe->user_data = kCancelTag;
            io_uring_submit(ring_.get());
        }
        // The read's last completion comes from task work of the thread that armed it: at once
        // when that is this thread; a bounded wait otherwise.
        int ignored = 0;
        for (unsigned i = 0; armed_ && i < kStopWaits; ++i) {
            __kernel_timespec wait{0, kStopWaitNanoseconds};
            io_uring_cqe* cqe = nullptr;
            io_uring_wait_cqe_timeout(ring_.get(), &cqe, &wait);
            reap(nullptr, nullptr, 0, ignored);
        }
        armed_ = false;
    }
    // After this the kernel picks no buffer of ours: whatever a late read of this epoch
    // could still do, it cannot touch the netbufs returned below.
    io_uring_unregister_buf_ring(ring_.get(), kBufferGroup);
    registered_ = false;
    ++epoch_;
    for (std::size_t id = 0; id < slots_.size(); ++id) {
        if (slots_[id] == nullptr) continue;
        slots_[id]->free();
        slots_[id] = nullptr;
        empty_.push_back(static_cast<std::uint16_t>(id));
    }
}

}  // namespace nexnet
