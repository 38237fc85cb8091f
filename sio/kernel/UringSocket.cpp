#include "sio/kernel/UringSocket.h"

#include "sio/core/Channel.h"
#include "sio/core/Failure.h"
#include "sio/core/Memory.h"
#include "sio/core/Mode.h"
#include "sio/core/Runtime.h"
#include "sio/sio.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/mman.h>

namespace nexnet::sio {

namespace {

// <linux/io_uring.h> of Linux 6.1 declares the buffer ring's entries with __DECLARE_FLEX_ARRAY,
// which in C++ puts them 8 bytes into the ring (an empty struct has size 1 there): the kernel
// and this code would disagree about every entry. liburing's copy of the header (included
// first, through KernelSocket.h) declares them at offset 0; this holds it to that.
static_assert(offsetof(io_uring_buf_ring, bufs) == 0, "provided-buffer ring entries must start at offset 0");
static_assert(offsetof(io_uring_buf_ring, tail) == 14, "the ring tail overlays the first entry's resv field");

// user_data of the receive ring's requests and of the send ring's (tag | slot).
constexpr std::uint64_t kArmTag = 1;
constexpr std::uint64_t kCancelTag = 2;
constexpr std::uint64_t kSendTag = 1ull << 32;
constexpr unsigned kMaxRingBuffers = 32768;  // io_uring's limit for one provided-buffer ring

bool isSend(AioOp op) { return op == AioOp::send || op == AioOp::sendto || op == AioOp::sendmsg; }

// Linux 6.2 (include/uapi/linux/io_uring.h), newer than Debian 12's headers: ask the
// notification to say whether the kernel copied the data after all, and where it says so.
constexpr unsigned kSendZcReportUsage = 1u << 3;         // IORING_SEND_ZC_REPORT_USAGE
constexpr std::uint32_t kNotifUsageZcCopied = 1u << 31;  // IORING_NOTIF_USAGE_ZC_COPIED

std::atomic<unsigned long long> zeroCopySends{0};
std::atomic<unsigned long long> zeroCopyCopied{0};

}  // namespace

void UringSocket::zeroCopyStatistics(unsigned long long* sent, unsigned long long* copied) {
    if (sent != nullptr) *sent = zeroCopySends.load(std::memory_order_relaxed);
    if (copied != nullptr) *copied = zeroCopyCopied.load(std::memory_order_relaxed);
}

UringSocket::UringSocket(int fd, int type, int family) : KernelSocket(fd, type, family) {
    fixedIndexes_.fill(-1);
    receiveHeader_.msg_namelen = nameRoom();
    receiveHeader_.msg_controllen = controlRoom();
}

UringSocket::~UringSocket() {
    if (bufferRing_ != nullptr) munmap(bufferRing_, bufferRingBytes_);
}

// ---- receiving ------------------------------------------------------------------------------

int UringSocket::setUpReceiving() {
    if (receiveRing_.ready()) return 0;
    // One multishot request, its cancellation, and wake-up NOPs: a small submission ring. The
    // completion ring holds a completion for every buffer the ring can lend.
    return receiveRing_.setUp(8, kMaxRingBuffers * 2);
}

void UringSocket::lend(std::uint32_t id) {
    if (stopped_ || bufferRing_ == nullptr) {
        waitingLends_.push_back(id);
        return;
    }
    if (lentInRing_ == bufferRingEntries_) {
        // More buffers than one provided-buffer ring holds: this one goes back to its memory.
        Association* a = associationOfId(id);
        a->memory->unpost(id - a->base);
        return;
    }
    io_uring_buf_ring_add(bufferRing_, bufferOf(id), static_cast<unsigned>(bufferSize(id)),
                          static_cast<unsigned short>(id), io_uring_buf_ring_mask(bufferRingEntries_), 0);
    // Publishes the entry: io_uring_buf_ring_advance is a store-release of the ring's tail.
    io_uring_buf_ring_advance(bufferRing_, 1);
    ++lentInRing_;
    if (!armed_ && !closing_) arm();  // buffers came back to a stopped receive
}

void UringSocket::arm() {
    if (armed_ || bufferRing_ == nullptr || lentInRing_ == 0 || stopped_) return;
    receiveRing_.submit([&](auto next) {
        io_uring_sqe* sqe = next();
        if (stream()) io_uring_prep_recv_multishot(sqe, fd(), nullptr, 0, 0);
        else io_uring_prep_recvmsg_multishot(sqe, fd(), &receiveHeader_, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = 0;
        io_uring_sqe_set_data64(sqe, kArmTag);
    });
    armed_ = true;
}

void UringSocket::drainReceives() {
    receiveRing_.drain([&](const io_uring_cqe& cqe) {
        if (cqe.user_data != kArmTag) return;  // a cancellation's own completion
        if (!(cqe.flags & IORING_CQE_F_MORE)) armed_ = false;
        if (cqe.flags & IORING_CQE_F_BUFFER) {
            auto id = static_cast<std::uint32_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
            --lentInRing_;
            Association* a = associationOfId(id);
            a->memory->markReceived(id - a->base);
            Filled filled;
            filled.id = id;
            if (cqe.res > 0) {
                filled.bytes = static_cast<std::uint32_t>(cqe.res);
                pushFilled(filled);
                return;
            }
            // A buffer without data: give it back.
            if (a->memory->returnToPool(id - a->base, a->receive)) lend(id);
        }
        if (cqe.res == 0 && stream()) {
            Filled end;
            end.end = true;
            pushFilled(end);
        } else if (cqe.res < 0 && cqe.res != -ENOBUFS && cqe.res != -ECANCELED && cqe.res != -EAGAIN &&
                   cqe.res != -EINTR) {
            Filled error;
            error.error = -cqe.res;
            pushFilled(error);
        }
    });
    if (!armed_ && !closing_ && !stopped_) arm();
}

void UringSocket::stopReceiving() {
    if (setUpReceiving() != 0) return;
    stopped_ = true;
    if (armed_) {
        receiveRing_.submit([&](auto next) {
            io_uring_sqe* sqe = next();
            io_uring_prep_cancel64(sqe, kArmTag, 0);
            io_uring_sqe_set_data64(sqe, kCancelTag);
        });
        // The multishot request's last completion (without F_MORE) says it ended; what it
        // filled before goes into the backlog meanwhile.
        while (armed_) {
            drainReceives();
            if (armed_) io_uring_enter(static_cast<unsigned>(receiveRing_.fd()), 0, 1, IORING_ENTER_GETEVENTS, nullptr);
        }
    }
    if (bufferRing_ != nullptr) {
        io_uring_unregister_buf_ring(&receiveRing_.ring(), 0);
        munmap(bufferRing_, bufferRingBytes_);
        bufferRing_ = nullptr;
    }
    lentInRing_ = 0;
    waitingLends_.clear();  // the owner re-lends what it wants the kernel to hold
}

void UringSocket::resumeReceiving() {
    stopped_ = false;
    if (waitingLends_.empty() || closing_) return;
    if (int error = setUpReceiving(); error != 0) return;
    bufferRingEntries_ =
        std::min<unsigned>(kMaxRingBuffers, std::bit_ceil(static_cast<unsigned>(waitingLends_.size())));
    bufferRingBytes_ = (bufferRingEntries_ * sizeof(io_uring_buf) + 4095) / 4096 * 4096;
    void* memory = mmap(nullptr, bufferRingBytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return;
    bufferRing_ = static_cast<io_uring_buf_ring*>(memory);
    io_uring_buf_ring_init(bufferRing_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(bufferRing_);
    reg.ring_entries = bufferRingEntries_;
    reg.bgid = 0;
    if (io_uring_register_buf_ring(&receiveRing_.ring(), &reg, 0) != 0) {
        munmap(bufferRing_, bufferRingBytes_);
        bufferRing_ = nullptr;
        return;
    }
    std::vector<std::uint32_t> ids;
    ids.swap(waitingLends_);
    for (std::uint32_t id : ids) lend(id);
}

int UringSocket::collect(std::unique_lock<std::mutex>& lock, bool wait) {
    if (!receiveRing_.ready() || (bufferRing_ == nullptr && waitingLends_.empty() && lentInRing_ == 0)) {
        bool any = false;
        for (unsigned i = 0; i < kMaxAssociations; ++i) any = any || association(static_cast<int>(i)).receive;
        return any ? ENOBUFS : EINVAL;
    }
    drainReceives();
    // What this drain took is on no ring any more: waiting for the ring now would sleep on it.
    if (backlogged()) return 0;
    if (!armed_) return lentInRing_ == 0 ? ENOBUFS : EAGAIN;
    if (!wait) return EAGAIN;
    std::uint64_t seen = receiveRing_.drains();
    lock.unlock();
    int error = receiveRing_.wait(seen);
    lock.lock();
    drainReceives();
    return error;
}

// ---- sending --------------------------------------------------------------------------------

int UringSocket::setUpSending() {
    std::lock_guard<std::mutex> lock(sendRing_.completionLock());
    if (sendRing_.ready()) return 0;
    if (int error = sendRing_.setUp(kSendSlots, kSendSlots * 4); error != 0) return error;
    slots_ = std::make_unique<SendSlot[]>(kSendSlots);
    for (unsigned i = kSendSlots; i > 0; --i) freeSlots_.push_back(i - 1);
    // Associated memory becomes fixed buffers: the kernel pins it once, not per send.
    io_uring_register_buffers_sparse(&sendRing_.ring(), kMaxAssociations);
    std::lock_guard<std::mutex> receive(receiveLock_);
    for (unsigned i = 0; i < kMaxAssociations; ++i) associationChanged(i);
    return 0;
}

void UringSocket::associationChanged(unsigned index) {
    if (!sendRing_.ready()) return;
    const Association& a = association(static_cast<int>(index));
    bool wanted = a.memory != nullptr && !a.retiring;
    iovec vector{wanted ? a.start : nullptr, wanted ? a.bytes : 0};
    // Registration can fail (RLIMIT_MEMLOCK for an unprivileged process, more than 1 GiB):
    // zero-copy sends from that memory then pin pages per send instead.
    int result = io_uring_register_buffers_update_tag(&sendRing_.ring(), index, &vector, nullptr, 1);
    fixedIndexes_[index] = wanted && result >= 0 ? static_cast<int>(index) : -1;
}

int UringSocket::acquireSlot(std::unique_lock<std::mutex>& lock, bool wait) {
    while (freeSlots_.empty()) {
        drainSends(nullptr);
        if (!freeSlots_.empty()) break;
        if (!wait) return -1;
        std::uint64_t seen = sendRing_.drains();
        lock.unlock();
        sendRing_.wait(seen);
        lock.lock();
    }
    unsigned index = freeSlots_.back();
    freeSlots_.pop_back();
    slots_[index] = SendSlot{};
    slots_[index].inUse = true;
    return static_cast<int>(index);
}

void UringSocket::releaseSlot(unsigned index) {
    slots_[index].inUse = false;
    freeSlots_.push_back(index);
}

void UringSocket::endSends(SendSlot& slot) {
    for (unsigned i = 0; i < slot.buffers; ++i) slot.memories[i]->endSend(slot.units[i]);
    slot.buffers = 0;
}

void UringSocket::drainSends(Channel* channelThread) {
    sendRing_.drain([&](const io_uring_cqe& cqe) {
        if (cqe.user_data < kSendTag) return;
        auto index = static_cast<unsigned>(cqe.user_data - kSendTag);
        SendSlot& slot = slots_[index];
        if (cqe.flags & IORING_CQE_F_NOTIF) {
            // SEND_ZC's second completion: the kernel let go of the buffers.
            zeroCopySends.fetch_add(1, std::memory_order_relaxed);
            if (static_cast<std::uint32_t>(cqe.res) & kNotifUsageZcCopied)
                zeroCopyCopied.fetch_add(1, std::memory_order_relaxed);
            endSends(slot);
            slot.notifyPending = false;
            if (!slot.waiterHolds && slot.done) releaseSlot(index);
            return;
        }
        slot.result = cqe.res;
        slot.done = true;
        slot.notifyPending = (cqe.flags & IORING_CQE_F_MORE) != 0;
        if (!slot.notifyPending) endSends(slot);
        if (slot.request != nullptr) {
            sio_aiocb& request = *slot.request;
            Channel* channel = requestOf(request).channel;
            bool wasStream = stream();
            slot.request = nullptr;
            if (!slot.notifyPending) releaseSlot(index);
            if (cqe.res < 0) finishRequest(request, -1, -cqe.res, channel != nullptr && channel == channelThread);
            else finishRequest(request, cqe.res, 0, channel != nullptr && channel == channelThread);
            if (wasStream) streamSendInFlight_ = false;
        }
    });
    if (stream() && !closing_) startQueuedStreamSend();
}

int UringSocket::startSend(unsigned index, const msghdr& message, int flags, bool zeroCopy, const int* fixedIndexes) {
    SendSlot& slot = slots_[index];
    std::uint64_t tag = kSendTag + index;
    auto fill = [&](auto next) {
        io_uring_sqe* sqe = next();
        if (message.msg_iovlen == 1 && zeroCopy && message.msg_control == nullptr) {
            const iovec& v = message.msg_iov[0];
            unsigned zcFlags = Mode::instance().features().zeroCopyReport ? kSendZcReportUsage : 0;
            if (fixedIndexes[0] >= 0)
                io_uring_prep_send_zc_fixed(sqe, fd(), v.iov_base, v.iov_len, flags, zcFlags,
                                            static_cast<unsigned>(fixedIndexes[0]));
            else io_uring_prep_send_zc(sqe, fd(), v.iov_base, v.iov_len, flags, zcFlags);
            if (message.msg_name != nullptr)
                io_uring_prep_send_set_addr(sqe, static_cast<const sockaddr*>(message.msg_name),
                                            static_cast<__u16>(message.msg_namelen));
        } else {
            // The kernel reads the header when it runs the request: keep a copy in the slot.
            slot.header = message;
            std::size_t vectors = std::min<std::size_t>(message.msg_iovlen, kMaxVectors);
            std::copy_n(message.msg_iov, vectors, slot.vectors.begin());
            slot.header.msg_iov = slot.vectors.data();
            if (zeroCopy) io_uring_prep_sendmsg_zc(sqe, fd(), &slot.header, static_cast<unsigned>(flags));
            else io_uring_prep_sendmsg(sqe, fd(), &slot.header, static_cast<unsigned>(flags));
        }
        io_uring_sqe_set_data64(sqe, tag);
    };
    // A lio_listio list goes to the kernel in one io_uring_enter, when it is complete (progress).
    return submittingBatch() ? sendRing_.queue(fill) : sendRing_.submit(fill);
}

ssize_t UringSocket::send(const msghdr& message, int flags) {
    if (message.msg_iovlen == 0 || message.msg_iov == nullptr) return fail(EINVAL, "sio_send: nothing to send");
    bool zeroCopyRequired = (flags & MSG_ZEROCOPY) != 0;
    flags &= ~MSG_ZEROCOPY;
    const UringFeatures& features = Mode::instance().features();
    if (zeroCopyRequired && !features.sendZeroCopy)
        return fail(ENOTSUP, "sio_send: MSG_ZEROCOPY: this kernel has no IORING_OP_SEND_ZC");
    // Every vector must be one of the program's buffers in memory associated with the socket.
    std::size_t total = 0;
    std::array<int, kMaxVectors> fixed{};
    std::array<std::pair<HandleTable<Memory>::Ref, long>, kMaxVectors> buffers;
    bool zeroCopy = features.sendZeroCopy && message.msg_iovlen <= kMaxVectors;
    for (std::size_t i = 0; i < message.msg_iovlen; ++i) {
        const iovec& v = message.msg_iov[i];
        int index = findSendMemory(v.iov_base, v.iov_len);
        if (index < 0) return -1;
        auto memory = Runtime::instance().memories().acquire(association(index).handle);
        if (!memory) return fail(EINVAL, "sio_send: the memory at %p was freed", v.iov_base);
        long unit = memory->checkSendable(v.iov_base, v.iov_len);
        if (unit < 0) return -1;
        total += v.iov_len;
        if (i < kMaxVectors) {
            fixed[i] = fixedIndexes_[static_cast<unsigned>(index)];
            buffers[i] = {std::move(memory), unit};
        }
    }
    zeroCopy = zeroCopy && (zeroCopyRequired || total >= sio_zerocopy_threshold());
    if (zeroCopyRequired && !zeroCopy)
        return fail(ENOTSUP, "sio_send: MSG_ZEROCOPY with more than %u vectors", kMaxVectors);
    if (!zeroCopy) {
        ssize_t sent = sendmsg(fd(), &message, flags);
        return sent >= 0 ? sent : failSystem(errno, "sio_send: sendmsg");
    }
    if (int error = setUpSending(); error != 0) return failSystem(error, "sio_send: io_uring_setup");
    std::unique_lock<std::mutex> lock(sendRing_.completionLock());
    if (closing_) return fail(EBADF, "sio_send: socket %d is being closed", fd());
    if (stream() && (streamSendInFlight_ || !streamQueue_.empty()))
        return fail(EBUSY, "sio_send: aio sends are pending on stream socket %d", fd());
    int index = acquireSlot(lock, true);
    SendSlot& slot = slots_[static_cast<unsigned>(index)];
    slot.waiterHolds = true;
    for (std::size_t i = 0; i < message.msg_iovlen; ++i) {
        const iovec& v = message.msg_iov[i];
        if (buffers[i].first->beginSend(v.iov_base, v.iov_len) < 0) {
            endSends(slot);
            releaseSlot(static_cast<unsigned>(index));
            return -1;
        }
        slot.memories[slot.buffers] = buffers[i].first.get();
        slot.units[slot.buffers++] = static_cast<std::uint32_t>(buffers[i].second);
    }
    // A stream send waits until all of it is queued, as send(2) on a blocking socket does.
    int kernelFlags = flags | (stream() && !nonBlocking(flags) ? MSG_WAITALL : 0);
    if (int error = startSend(static_cast<unsigned>(index), message, kernelFlags, true, fixed.data()); error != 0) {
        endSends(slot);
        releaseSlot(static_cast<unsigned>(index));
        return failSystem(error, "sio_send: io_uring_enter");
    }
    while (!slot.done) {
        drainSends(nullptr);
        if (slot.done) break;
        std::uint64_t seen = sendRing_.drains();
        lock.unlock();
        sendRing_.wait(seen);
        lock.lock();
    }
    ssize_t result = slot.result;
    slot.waiterHolds = false;
    if (!slot.notifyPending) releaseSlot(static_cast<unsigned>(index));
    if (result < 0) return failSystem(static_cast<int>(-result), "sio_send");
    return result;
}

// ---- asynchronous requests ------------------------------------------------------------------

int UringSocket::startAioSend(sio_aiocb& request) {
    // Under the send lock (the submission itself takes the ring's submission lock).
    AioRequest& r = requestOf(request);
    iovec single;
    msghdr message = messageOf(request, single);
    if (freeSlots_.empty()) drainSends(nullptr);
    if (freeSlots_.empty()) return fail(EAGAIN, "aio send: %u sends in flight on socket %d", kSendSlots, fd());
    unsigned index = freeSlots_.back();
    freeSlots_.pop_back();
    slots_[index] = SendSlot{};
    slots_[index].inUse = true;
    SendSlot& slot = slots_[index];
    slot.request = &request;
    std::array<int, kMaxVectors> fixed;
    fixed.fill(-1);
    std::size_t total = 0;
    for (std::size_t i = 0; i < message.msg_iovlen; ++i) total += message.msg_iov[i].iov_len;
    bool zeroCopy = r.dma && Mode::instance().features().sendZeroCopy && message.msg_iovlen <= kMaxVectors &&
        total >= sio_zerocopy_threshold();
    // A DMA send must come from the program's buffers of memory associated with the socket,
    // whether or not it goes zero-copy.
    for (std::size_t i = 0; i < message.msg_iovlen && r.dma; ++i) {
        const iovec& v = message.msg_iov[i];
        int association = findSendMemory(v.iov_base, v.iov_len);
        auto memory = association < 0 ? HandleTable<Memory>::Ref()
                                      : Runtime::instance().memories().acquire(this->association(association).handle);
        long unit = !memory ? -1
            : zeroCopy      ? memory->beginSend(v.iov_base, v.iov_len)
                            : memory->checkSendable(v.iov_base, v.iov_len);
        if (unit < 0) {
            endSends(slot);
            releaseSlot(index);
            return -1;
        }
        if (!zeroCopy) continue;
        fixed[i] = fixedIndexes_[static_cast<unsigned>(association)];
        slot.memories[slot.buffers] = memory.get();
        slot.units[slot.buffers++] = static_cast<std::uint32_t>(unit);
    }
    // Never SIGPIPE from a request running on whatever thread moves it.
    int kernelFlags = r.flags | MSG_NOSIGNAL | (stream() ? MSG_WAITALL : 0);
    if (int error = startSend(index, message, kernelFlags, zeroCopy, fixed.data()); error != 0) {
        endSends(slot);
        releaseSlot(index);
        return failSystem(error, "aio send: io_uring_enter");
    }
    if (stream()) streamSendInFlight_ = true;
    return 0;
}

void UringSocket::startQueuedStreamSend() {
    // Under the send lock. One send in flight per stream socket: io_uring may run two sends on
    // one socket side by side, and a stream's bytes must stay in order.
    while (!streamSendInFlight_ && !streamQueue_.empty()) {
        sio_aiocb& request = streamQueue_.pop();
        if (startAioSend(request) != 0) finishRequest(request, -1, errno, false);
    }
}

int UringSocket::submit(sio_aiocb& request) {
    AioRequest& r = requestOf(request);
    if (isSend(r.op)) {
        if (int error = setUpSending(); error != 0) return failSystem(error, "aio send: io_uring_setup");
        std::lock_guard<std::mutex> lock(sendRing_.completionLock());
        if (closing_) return fail(EBADF, "aio send: socket %d is being closed", fd());
        if (stream() && (streamSendInFlight_ || !streamQueue_.empty())) {
            streamQueue_.push(request);
            return 0;
        }
        return startAioSend(request);
    }
    std::unique_lock<std::mutex> lock(receiveLock_);
    if (closing_) return fail(EBADF, "aio receive: socket %d is being closed", fd());
    int error = collect(lock, false);
    if (error == EINVAL) return fail(EINVAL, "aio receive: no memory is associated with socket %d (dma_assoc)", fd());
    queueReceive(request, nullptr);
    return 0;
}

int UringSocket::cancel(sio_aiocb* request) {
    int received = KernelSocket::cancel(request);
    if ((received == AIO_CANCELED && request != nullptr) || !sendRing_.ready()) return received;
    std::lock_guard<std::mutex> lock(sendRing_.completionLock());
    int cancelled = streamQueue_.removeIf([&](sio_aiocb& p) { return request == nullptr || &p == request; },
                                          [](sio_aiocb& p) { finishRequest(p, -1, ECANCELED, false); });
    bool running = false;  // in the kernel: it finishes on its own
    for (unsigned i = 0; i < kSendSlots; ++i)
        if (slots_[i].inUse && slots_[i].request != nullptr && (request == nullptr || slots_[i].request == request))
            running = true;
    return combineCancel(request, received, cancelled > 0, running);
}

void UringSocket::progress(bool wait) {
    {
        std::unique_lock<std::mutex> lock(receiveLock_);
        if (receiveRing_.ready()) {
            drainReceives();
            matchReceives(nullptr);
        }
    }
    if (sendRing_.ready()) {
        sendRing_.flush();
        std::lock_guard<std::mutex> lock(sendRing_.completionLock());
        drainSends(nullptr);
    }
    if (!wait) return;
    pollfd rings[2];
    int n = 0;
    if (receiveRing_.ready()) rings[n++] = {receiveRing_.fd(), POLLIN, 0};
    if (sendRing_.ready()) rings[n++] = {sendRing_.fd(), POLLIN, 0};
    // poll sleeps until a completion is posted; the task work that makes completions of this
    // thread's requests interrupts it.
    if (n > 0) poll(rings, static_cast<nfds_t>(n), 100);
}

void UringSocket::deliver(Channel& channel) {
    {
        std::unique_lock<std::mutex> lock(receiveLock_, std::try_to_lock);
        if (lock.owns_lock() && receiveRing_.ready()) {
            drainReceives();
            if (receivesPending()) matchReceives(&channel);
        }
    }
    if (sendRing_.ready()) {
        std::unique_lock<std::mutex> lock(sendRing_.completionLock(), std::try_to_lock);
        if (lock.owns_lock()) drainSends(&channel);
    }
}

void UringSocket::shutDown() {
    {
        std::unique_lock<std::mutex> lock(receiveLock_);
        closing_ = true;
        cancelReceives();
        if (receiveRing_.ready()) stopReceiving();
        dropEverything();  // nothing is lent to the kernel now: every buffer goes back
    }
    if (sendRing_.ready()) {
        std::unique_lock<std::mutex> lock(sendRing_.completionLock());
        while (!streamQueue_.empty()) finishRequest(streamQueue_.pop(), -1, ECANCELED, false);
        sendRing_.submit([](auto next) {
            io_uring_sqe* sqe = next();
            io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
            io_uring_sqe_set_data64(sqe, kCancelTag);
        });
        // Zero-copy notifications come when the kernel frees the buffers: wait for every slot.
        while (freeSlots_.size() < kSendSlots) {
            drainSends(nullptr);
            if (freeSlots_.size() == kSendSlots) break;
            lock.unlock();
            io_uring_enter(static_cast<unsigned>(sendRing_.fd()), 0, 1, IORING_ENTER_GETEVENTS, nullptr);
            lock.lock();
        }
    }
    receiveRing_.wake();
}

}  // namespace nexnet::sio
