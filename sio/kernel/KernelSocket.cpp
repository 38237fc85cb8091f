#include "sio/kernel/KernelSocket.h"

#include "sio/core/Channel.h"
#include "sio/core/Failure.h"
#include "sio/core/Memory.h"
#include "sio/core/Runtime.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>

namespace nexnet::sio {

KernelSocket::KernelSocket(int fd, int type, int family)
    : SioSocket(fd),
      stream_(type == SOCK_STREAM),
      nameRoom_(family == AF_UNIX ? 112 : 32),
      controlRoom_(family == AF_UNIX ? 128 : 80) {
    backlog_.resize(64);
    live_.fetch_add(1, std::memory_order_acq_rel);
}

KernelSocket::~KernelSocket() { live_.fetch_sub(1, std::memory_order_acq_rel); }

// ---- associations ---------------------------------------------------------------------------

int KernelSocket::freeRange(unsigned units) const {
    // First fit among the ranges of associations still in use (active or retiring).
    unsigned base = 0;
    for (;;) {
        bool moved = false;
        for (const Association& a : associations_) {
            if (a.memory != nullptr && base < a.base + a.units && a.base < base + units) {
                base = a.base + a.units;
                moved = true;
            }
        }
        if (!moved) break;
    }
    return base + units <= kMaxBufferIds ? static_cast<int>(base) : -1;
}

int KernelSocket::associate(Memory& memory, unsigned flags) {
    if ((flags & ~unsigned{DMA_ASSOC_SEND}) != 0) return fail(EINVAL, "dma_assoc: unknown flags 0x%x", flags);
    std::unique_lock<std::mutex> lock(receiveLock_);
    if (closing_) return fail(EBADF, "dma_assoc: socket %d is being closed", fd());
    std::lock_guard<std::mutex> changes(associationsLock_);
    int index = -1;
    for (unsigned i = 0; i < kMaxAssociations; ++i) {
        if (associations_[i].memory == &memory && !associations_[i].retiring)
            return fail(EEXIST, "dma_assoc: the memory is associated with socket %d already", fd());
        if (associations_[i].memory == nullptr && index < 0) index = static_cast<int>(i);
    }
    if (index < 0) return fail(ENOSPC, "dma_assoc: socket %d has %u memories already", fd(), kMaxAssociations);
    if (memory.units() > kMaxBufferIds)
        return fail(EINVAL, "dma_assoc: %zu units are more than one socket can name (%u)", memory.units(),
                    kMaxBufferIds);
    int base = freeRange(static_cast<unsigned>(memory.units()));
    if (base < 0)
        return fail(EINVAL, "dma_assoc: socket %d's memories would span more than %u units", fd(), kMaxBufferIds);
    int slot = memory.addAssociation(handle());
    if (slot < 0) return -1;
    Association& a = associations_[static_cast<unsigned>(index)];
    a = Association{};
    a.memory = &memory;
    a.handle = memory.handle();
    a.start = memory.base();
    a.bytes = memory.units() * memory.unit();
    a.slot = slot;
    a.base = static_cast<unsigned>(base);
    a.units = static_cast<unsigned>(memory.units());
    a.receive = (flags & DMA_ASSOC_SEND) == 0;
    std::size_t ids = 0;
    for (const Association& other : associations_)
        if (other.memory != nullptr) ids = std::max<std::size_t>(ids, other.base + other.units);
    if (backlog_.size() < ids + 64) {
        // Every buffer id may wait in the backlog at once, plus errors and the end of stream.
        std::vector<Filled> grown(ids + 64);
        for (std::size_t i = 0; i < backlogCount_; ++i) grown[i] = backlog_[(backlogHead_ + i) % backlog_.size()];
        backlog_.swap(grown);
        backlogHead_ = 0;
    }
    associationChanged(static_cast<unsigned>(index));
    active_[static_cast<unsigned>(index)].store(true, std::memory_order_release);
    if (a.receive) {
        std::vector<std::uint32_t> taken;
        if (takeBuffers(static_cast<unsigned>(index), taken) == 0) {
            active_[static_cast<unsigned>(index)].store(false, std::memory_order_release);
            memory.removeAssociation(static_cast<unsigned>(slot));
            a = Association{};
            associationChanged(static_cast<unsigned>(index));
            return fail(ENOMEM, "dma_assoc: no free unit of the memory is left for receive buffers");
        }
        stopReceiving();
        for (std::uint32_t id : taken) lend(id);
        resumeReceiving();
    }
    return 0;
}

std::size_t KernelSocket::takeBuffers(unsigned index, std::vector<std::uint32_t>& ids) {
    Association& a = associations_[index];
    dma_info info{};
    a.memory->info(info);
    std::size_t count = std::max<std::size_t>(1, info.di_free / a.memory->unit() / 2);
    std::vector<std::uint32_t> units(count);
    std::size_t n = a.memory->takeReceiveUnits(static_cast<unsigned>(a.slot), count, units.data());
    for (std::size_t i = 0; i < n; ++i) ids.push_back(a.base + units[i]);
    return n;
}

int KernelSocket::disassociate(Memory& memory) {
    std::unique_lock<std::mutex> lock(receiveLock_);
    std::lock_guard<std::mutex> changes(associationsLock_);
    unsigned index = kMaxAssociations;
    for (unsigned i = 0; i < kMaxAssociations; ++i)
        if (associations_[i].memory == &memory && !associations_[i].retiring) index = i;
    if (index == kMaxAssociations)
        return fail(ENOENT, "dma_disassoc: the memory is not associated with socket %d", fd());
    Association& a = associations_[index];
    active_[index].store(false, std::memory_order_release);  // no more sends from it
    stopReceiving();
    // The kernel holds none of the socket's buffers now: give back this memory's, re-lend the rest.
    for (std::size_t u = 0; u < a.units; ++u)
        if (a.receive && memory.isPosted(u, static_cast<unsigned>(a.slot))) memory.unpost(u);
    a.receive = false;
    a.retiring = true;
    associationChanged(index);
    for (const Association& other : associations_) {
        if (other.memory == nullptr || !other.receive) continue;
        for (std::size_t u = 0; u < other.units; ++u)
            if (other.memory->isPosted(u, static_cast<unsigned>(other.slot)))
                lend(other.base + static_cast<std::uint32_t>(u));
    }
    retireDrained();
    resumeReceiving();
    return 0;
}

bool KernelSocket::backlogReferences(unsigned index) const {
    const Association& a = associations_[index];
    for (std::size_t i = 0; i < backlogCount_; ++i) {
        const Filled& f = backlog_[(backlogHead_ + i) % backlog_.size()];
        if (f.error == 0 && !f.end && f.id >= a.base && f.id < a.base + a.units) return true;
    }
    return false;
}

void KernelSocket::retireDrained() {
    for (unsigned i = 0; i < kMaxAssociations; ++i) {
        Association& a = associations_[i];
        if (a.memory == nullptr || !a.retiring || backlogReferences(i)) continue;
        a.memory->removeAssociation(static_cast<unsigned>(a.slot));
        a = Association{};
    }
}

bool KernelSocket::recycle(Memory& memory, std::size_t unit) {
    std::lock_guard<std::mutex> lock(receiveLock_);
    if (closing_) return false;
    for (const Association& a : associations_) {
        if (a.memory == &memory && a.receive) {
            lend(a.base + static_cast<std::uint32_t>(unit));
            return true;
        }
    }
    return false;
}

KernelSocket::Association* KernelSocket::associationOfId(std::uint32_t id) {
    for (Association& a : associations_)
        if (a.memory != nullptr && id >= a.base && id < a.base + a.units) return &a;
    return nullptr;
}

std::uint8_t* KernelSocket::bufferOf(std::uint32_t id) {
    Association* a = associationOfId(id);
    return a->memory->unitAddress(id - a->base);
}

std::size_t KernelSocket::bufferSize(std::uint32_t id) { return associationOfId(id)->memory->unit(); }

long KernelSocket::idOf(const Memory& memory, std::size_t unit) {
    for (const Association& a : associations_)
        if (a.memory == &memory && unit < a.units) return a.base + static_cast<long>(unit);
    return -1;
}

int KernelSocket::findSendMemory(const void* p, std::size_t length) {
    auto byte = static_cast<const std::uint8_t*>(p);
    for (unsigned i = 0; i < kMaxAssociations; ++i) {
        if (!active_[i].load(std::memory_order_acquire)) continue;
        const Association& a = associations_[i];
        if (byte >= a.start && byte < a.start + a.bytes && length <= static_cast<std::size_t>(a.start + a.bytes - byte))
            return static_cast<int>(i);
    }
    return fail(EINVAL, "send on socket %d: %zu bytes at %p are not in memory associated with it (dma_assoc)", fd(),
                length, p);
}

int KernelSocket::checkSendBuffers(const msghdr& message) {
    for (std::size_t i = 0; i < message.msg_iovlen; ++i) {
        const iovec& v = message.msg_iov[i];
        int index = findSendMemory(v.iov_base, v.iov_len);
        if (index < 0) return -1;
        auto memory = Runtime::instance().memories().acquire(associations_[static_cast<unsigned>(index)].handle);
        if (!memory) return fail(EINVAL, "send: the memory at %p was freed", v.iov_base);
        if (memory->checkSendable(v.iov_base, v.iov_len) < 0) return -1;
    }
    return 0;
}

msghdr KernelSocket::messageOf(sio_aiocb& request, iovec& single) {
    AioRequest& r = requestOf(request);
    if (r.op == AioOp::sendmsg) return *request.aio_msg;
    msghdr message{};
    single = iovec{const_cast<void*>(request.aio_buf), request.aio_nbytes};
    message.msg_iov = &single;
    message.msg_iovlen = 1;
    if (r.op == AioOp::sendto) {
        message.msg_name = const_cast<void*>(r.address);
        message.msg_namelen = r.addressLength;
    }
    return message;
}

bool KernelSocket::nonBlocking(int flags) const {
    if (flags & MSG_DONTWAIT) return true;
    int status = fcntl(fd(), F_GETFL);
    return status >= 0 && (status & O_NONBLOCK);
}

// ---- the backlog ----------------------------------------------------------------------------

void KernelSocket::pushFilled(const Filled& filled) {
    // Room for every buffer id and 64 errors is kept; errors beyond that would mean a kernel
    // repeating one failure with nobody reading: the newest is dropped.
    if (backlogCount_ == backlog_.size()) return;
    backlog_[(backlogHead_ + backlogCount_) % backlog_.size()] = filled;
    ++backlogCount_;
}

void KernelSocket::popFilled() {
    backlogHead_ = (backlogHead_ + 1) % backlog_.size();
    --backlogCount_;
}

KernelSocket::Portion KernelSocket::takePortion(SioReceived& out, std::size_t size, bool toProgram) {
    Filled& f = frontFilled();
    Association* a = associationOfId(f.id);
    Portion portion;
    portion.memory = a->memory;
    portion.unit = f.id - a->base;
    portion.id = f.id;
    std::uint8_t* buffer = a->memory->unitAddress(portion.unit);
    out = SioReceived{};
    bool last;
    if (stream_) {
        std::size_t n = std::min<std::size_t>(size, f.bytes - f.consumed);
        out.data = buffer + f.consumed;
        out.length = n;
        f.consumed += static_cast<std::uint32_t>(n);
        last = f.consumed == f.bytes;
        // The backlog holds one part; a part handed out before the last needs one of its own.
        if (toProgram && !last) a->memory->addPart(portion.unit);
    } else {
        auto* header = reinterpret_cast<const io_uring_recvmsg_out*>(buffer);
        std::size_t inBuffer = f.bytes - std::min<std::size_t>(f.bytes, payloadOffset());
        std::size_t n = std::min(size, inBuffer);
        out.data = buffer + payloadOffset();
        out.length = n;
        out.flags = static_cast<int>(header->flags) & (MSG_TRUNC | MSG_CTRUNC);
        if (n < header->payloadlen) out.flags |= MSG_TRUNC;
        out.name = header->namelen > 0 ? reinterpret_cast<const sockaddr*>(buffer + sizeof *header) : nullptr;
        out.nameLength = std::min<socklen_t>(header->namelen, nameRoom_);
        out.control = header->controllen > 0 ? buffer + sizeof *header + nameRoom_ : nullptr;
        out.controlLength = std::min<std::size_t>(header->controllen, controlRoom_);
        last = true;  // the rest of a datagram is dropped, as recv(2) drops it
    }
    if (last) popFilled();
    portion.length = out.length;
    portion.giveBack = last && !toProgram;
    return portion;
}

void KernelSocket::giveBack(const Portion& portion) {
    // receiveLock_ is held: the buffer goes straight back to the pool (Memory::release would
    // come back here through recycle and take the lock again).
    if (!portion.giveBack) return;
    Association* a = associationOfId(portion.id);
    if (portion.memory->returnToPool(portion.unit, a != nullptr && a->receive)) lend(portion.id);
}

ssize_t KernelSocket::takeFilled(SioReceived& out, std::size_t size) {
    Filled& f = frontFilled();
    if (f.error != 0) {
        int error = f.error;
        popFilled();
        return fail(error, "receive on socket %d: %s", fd(), std::strerror(error));
    }
    if (f.end) return 0;  // stays: every later receive sees the end too
    auto n = static_cast<ssize_t>(takePortion(out, size, true).length);
    retireDrained();
    return n;
}

ssize_t KernelSocket::receive(SioReceived& out, std::size_t size, int flags) {
    if (flags & (MSG_PEEK | MSG_WAITALL | MSG_OOB | MSG_ERRQUEUE))
        return fail(EINVAL,
                    "sio_recv: flags 0x%x: MSG_PEEK, MSG_WAITALL, MSG_OOB, MSG_ERRQUEUE cannot return one "
                    "buffer the implementation chose",
                    flags);
    if (size == 0) return fail(EINVAL, "sio_recv: size 0");
    std::unique_lock<std::mutex> lock(receiveLock_);
    for (;;) {
        if (closing_) return fail(EBADF, "sio_recv: socket %d is being closed", fd());
        if (!pending_.empty()) return fail(EBUSY, "sio_recv: aio receives are pending on socket %d", fd());
        if (backlogCount_ > 0) return takeFilled(out, size);
        int error = collect(lock, false);
        if (backlogCount_ > 0) continue;
        if (error != 0 && error != EAGAIN) return fail(error, "sio_recv on socket %d: %s", fd(), std::strerror(error));
        // Only now, with nothing to take, is it worth a system call to ask whether to wait.
        if (nonBlocking(flags)) return fail(EAGAIN, "sio_recv: nothing received on socket %d yet", fd());
        error = collect(lock, true);
        if (error != 0 && error != EAGAIN && backlogCount_ == 0)
            return fail(error, "sio_recv on socket %d: %s", fd(), std::strerror(error));
    }
}

// ---- pre-posted aio receives ----------------------------------------------------------------

void KernelSocket::queueReceive(sio_aiocb& request, Channel* channelThread) {
    pending_.push(request);
    matchReceives(channelThread);
}

void KernelSocket::matchReceives(Channel* channelThread) {
    while (!pending_.empty() && backlogCount_ > 0) {
        Channel* channel = requestOf(pending_.front()).channel;
        if (channel != nullptr && channel->room() == 0) break;  // the data waits, not lost
        deliverTo(pending_.pop(), channelThread);
    }
    retireDrained();
}

void KernelSocket::deliverTo(sio_aiocb& request, Channel* channelThread) {
    AioRequest& r = requestOf(request);
    bool channelThreadPosts = r.channel != nullptr && r.channel == channelThread;
    Filled& f = frontFilled();
    if (f.error != 0) {
        int error = f.error;
        popFilled();
        finishRequest(request, -1, error, channelThreadPosts);
        return;
    }
    if (f.end) {
        finishRequest(request, 0, 0, channelThreadPosts);
        return;
    }
    msghdr* message = (r.op == AioOp::recvmsg) ? request.aio_msg : nullptr;
    std::size_t room = request.aio_nbytes;
    if (message != nullptr && !r.dma) {
        room = 0;
        for (std::size_t i = 0; i < message->msg_iovlen; ++i) room += message->msg_iov[i].iov_len;
    }
    if (r.dma && room == 0) room = SIZE_MAX;
    SioReceived got;
    Portion portion;
    std::size_t n;
    if (r.dma) {
        portion = takePortion(got, room, true);
        n = portion.length;
        request.aio_buf = got.data;
        if (message != nullptr && message->msg_iovlen > 0) {
            message->msg_iov[0].iov_base = got.data;
            message->msg_iov[0].iov_len = n;
        }
    } else {
        portion = takePortion(got, room, false);  // copied out below, then given back
        n = portion.length;
        if (message != nullptr) {
            std::size_t done = 0;
            for (std::size_t i = 0; i < message->msg_iovlen && done < n; ++i) {
                std::size_t part = std::min(n - done, message->msg_iov[i].iov_len);
                std::memcpy(message->msg_iov[i].iov_base, static_cast<std::uint8_t*>(got.data) + done, part);
                done += part;
            }
        } else {
            std::memcpy(const_cast<void*>(request.aio_buf), got.data, n);
        }
    }
    if (r.op == AioOp::recvfrom && r.address != nullptr && r.fromLength != nullptr) {
        if (got.name != nullptr)
            std::memcpy(const_cast<void*>(r.address), got.name, std::min(*r.fromLength, got.nameLength));
        *r.fromLength = got.nameLength;
    }
    if (message != nullptr) fillReceivedMessage(*message, got);
    giveBack(portion);
    finishRequest(request, static_cast<ssize_t>(n), 0, channelThreadPosts);
}

void KernelSocket::cancelReceives() {
    while (!pending_.empty()) finishRequest(pending_.pop(), -1, ECANCELED, false);
}

void KernelSocket::dropEverything() {
    std::lock_guard<std::mutex> changes(associationsLock_);
    while (backlogCount_ > 0) {
        Filled& f = frontFilled();
        if (f.error == 0 && !f.end) {
            Association* a = associationOfId(f.id);
            a->memory->returnToPool(f.id - a->base, false);
        }
        popFilled();
    }
    for (unsigned i = 0; i < kMaxAssociations; ++i) {
        Association& a = associations_[i];
        if (a.memory == nullptr) continue;
        active_[i].store(false, std::memory_order_release);
        for (std::size_t u = 0; u < a.units; ++u)
            if (a.memory->isPosted(u, static_cast<unsigned>(a.slot))) a.memory->unpost(u);
        a.memory->removeAssociation(static_cast<unsigned>(a.slot));
        a = Association{};
        associationChanged(i);
    }
}

int KernelSocket::cancel(sio_aiocb* request) {
    std::lock_guard<std::mutex> lock(receiveLock_);
    return pending_.cancel(request);
}

}  // namespace nexnet::sio
