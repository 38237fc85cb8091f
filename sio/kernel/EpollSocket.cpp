#include "sio/kernel/EpollSocket.h"

#include "sio/core/Channel.h"
#include "sio/core/Failure.h"
#include "sio/core/Memory.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace nexnet::sio {

namespace {

bool isSend(AioOp op) { return op == AioOp::send || op == AioOp::sendto || op == AioOp::sendmsg; }

std::size_t totalOf(const msghdr& message) {
    std::size_t total = 0;
    for (std::size_t i = 0; i < message.msg_iovlen; ++i) total += message.msg_iov[i].iov_len;
    return total;
}

}  // namespace

EpollSocket::EpollSocket(int fd, int type, int family) : KernelSocket(fd, type, family) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    work_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = work_;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, work_, &event);
}

EpollSocket::~EpollSocket() {
    close(work_);
    close(epoll_);
}

// ---- receiving ------------------------------------------------------------------------------

void EpollSocket::lend(std::uint32_t id) {
    bool wasEmpty = free_.empty();
    free_.push_back(id);
    if (wasEmpty && receivesPending()) {  // buffers again: watch for data again
        wantIn_.store(true, std::memory_order_release);
        updateInterest();
    }
}

void EpollSocket::stopReceiving() { free_.clear(); }

bool EpollSocket::hasReceiveAssociation() {
    for (unsigned i = 0; i < kMaxAssociations; ++i)
        if (association(static_cast<int>(i)).receive) return true;
    return false;
}

int EpollSocket::receiveBatch() {
    if (free_.empty()) return ENOBUFS;
    std::array<mmsghdr, kBatch> messages{};
    std::array<iovec, kBatch> vectors{};
    std::size_t count = std::min<std::size_t>(kBatch, free_.size());
    if (stream()) count = std::min<std::size_t>(count, 16);
    for (std::size_t i = 0; i < count; ++i) {
        std::uint32_t id = free_[free_.size() - 1 - i];
        std::uint8_t* buffer = bufferOf(id);
        vectors[i] = iovec{buffer + payloadOffset(), bufferSize(id) - payloadOffset()};
        msghdr& header = messages[i].msg_hdr;
        header.msg_iov = &vectors[i];
        header.msg_iovlen = 1;
        if (!stream()) {
            // io_uring's multishot recvmsg layout (KernelSocket): header, name, control, payload.
            header.msg_name = buffer + sizeof(io_uring_recvmsg_out);
            header.msg_namelen = nameRoom();
            header.msg_control = buffer + sizeof(io_uring_recvmsg_out) + nameRoom();
            header.msg_controllen = controlRoom();
        }
    }
    if (stream()) {
        // One recvmsg scattering over several buffers: a stream has no message boundaries.
        msghdr header{};
        header.msg_iov = vectors.data();
        header.msg_iovlen = count;
        ssize_t n = recvmsg(fd(), &header, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return EAGAIN;
            Filled error;
            error.error = errno;
            pushFilled(error);
            return 0;
        }
        if (n == 0) {
            Filled end;
            end.end = true;
            pushFilled(end);
            return 0;
        }
        auto left = static_cast<std::size_t>(n);
        while (left > 0) {
            std::uint32_t id = free_.back();
            free_.pop_back();
            std::size_t taken = std::min(left, bufferSize(id));
            Association* a = associationOfId(id);
            a->memory->markReceived(id - a->base);
            Filled filled;
            filled.id = id;
            filled.bytes = static_cast<std::uint32_t>(taken);
            pushFilled(filled);
            left -= taken;
        }
        return 0;
    }
    // MSG_TRUNC: msg_len is the datagram's real length, as io_uring's payloadlen is.
    int got = recvmmsg(fd(), messages.data(), static_cast<unsigned>(count), MSG_DONTWAIT | MSG_TRUNC, nullptr);
    if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) return EAGAIN;
        Filled error;  // ECONNREFUSED from an ICMP error, and the like: the next receive says so
        error.error = errno;
        pushFilled(error);
        return 0;
    }
    for (int i = 0; i < got; ++i) {
        std::uint32_t id = free_.back();
        free_.pop_back();
        std::uint8_t* buffer = bufferOf(id);
        const msghdr& header = messages[static_cast<std::size_t>(i)].msg_hdr;
        io_uring_recvmsg_out out{};
        out.namelen = header.msg_namelen;
        out.controllen = static_cast<std::uint32_t>(header.msg_controllen);
        out.payloadlen = messages[static_cast<std::size_t>(i)].msg_len;
        out.flags = static_cast<std::uint32_t>(header.msg_flags);
        std::memcpy(buffer, &out, sizeof out);
        Association* a = associationOfId(id);
        a->memory->markReceived(id - a->base);
        Filled filled;
        filled.id = id;
        filled.bytes = static_cast<std::uint32_t>(
            payloadOffset() + std::min<std::size_t>(out.payloadlen, vectors[static_cast<std::size_t>(i)].iov_len));
        pushFilled(filled);
    }
    return got > 0 ? 0 : EAGAIN;
}

int EpollSocket::collect(std::unique_lock<std::mutex>& lock, bool wait) {
    if (!hasReceiveAssociation()) return EINVAL;
    int error = receiveBatch();
    if (error != EAGAIN || !wait) return error;
    lock.unlock();
    pollfd descriptor{fd(), POLLIN, 0};
    int n = poll(&descriptor, 1, -1);
    int pollError = n < 0 ? errno : 0;
    lock.lock();
    if (pollError == EINTR) return EINTR;
    error = receiveBatch();
    return error == EAGAIN ? 0 : error;
}

// ---- sending --------------------------------------------------------------------------------

ssize_t EpollSocket::send(const msghdr& message, int flags) {
    if (message.msg_iovlen == 0 || message.msg_iov == nullptr) return fail(EINVAL, "sio_send: nothing to send");
    if (flags & MSG_ZEROCOPY)
        return fail(ENOTSUP, "sio_send: MSG_ZEROCOPY: epoll mode has no zero-copy send (%s)",
                    "io_uring SEND_ZC needed");
    if (checkSendBuffers(message) != 0) return -1;
    {
        std::lock_guard<std::mutex> lock(sendLock_);
        if (closing_) return fail(EBADF, "sio_send: socket %d is being closed", fd());
        if (stream() && !sends_.empty())
            return fail(EBUSY, "sio_send: aio sends are pending on stream socket %d", fd());
    }
    ssize_t sent = sendmsg(fd(), &message, flags);
    return sent >= 0 ? sent : failSystem(errno, "sio_send: sendmsg");
}

void EpollSocket::flushSends(Channel* channelThread) {
    // Under sendLock_.
    blocked_ = false;
    while (!sends_.empty()) {
        if (stream()) {
            sio_aiocb& request = sends_.front();
            iovec single;
            msghdr message = messageOf(request, single);
            std::size_t total = totalOf(message);
            // Skip what an earlier, partial sendmsg took.
            std::vector<iovec> rest;
            std::size_t skip = streamOffset_;
            for (std::size_t i = 0; i < message.msg_iovlen; ++i) {
                iovec v = message.msg_iov[i];
                std::size_t cut = std::min(skip, v.iov_len);
                skip -= cut;
                if (cut < v.iov_len) rest.push_back({static_cast<std::uint8_t*>(v.iov_base) + cut, v.iov_len - cut});
            }
            message.msg_iov = rest.data();
            message.msg_iovlen = rest.size();
            ssize_t n = total == streamOffset_
                ? 0
                : sendmsg(fd(), &message, MSG_DONTWAIT | MSG_NOSIGNAL | requestOf(request).flags);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                blocked_ = errno == EAGAIN;
                break;
            }
            bool channelPosts = requestOf(request).channel != nullptr && requestOf(request).channel == channelThread;
            if (n < 0) {
                sends_.pop();
                streamOffset_ = 0;
                finishRequest(request, -1, errno, channelPosts);
                continue;
            }
            streamOffset_ += static_cast<std::size_t>(n);
            if (streamOffset_ < total) continue;
            sends_.pop();
            streamOffset_ = 0;
            finishRequest(request, static_cast<ssize_t>(total), 0, channelPosts);
            continue;
        }
        // Datagrams: up to kBatch requests in one sendmmsg.
        std::array<mmsghdr, kBatch> messages{};
        std::array<iovec, kBatch> singles{};
        unsigned count = 0;
        for (sio_aiocb* p = &sends_.front(); p != nullptr && count < kBatch; p = requestOf(*p).next) {
            messages[count].msg_hdr = messageOf(*p, singles[count]);
            ++count;
        }
        int sent = sendmmsg(fd(), messages.data(), count, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0 && (errno == EAGAIN || errno == EINTR)) {
            blocked_ = errno == EAGAIN;
            break;
        }
        int error = sent < 0 ? errno : 0;
        unsigned done = sent < 0 ? 1 : static_cast<unsigned>(sent);  // a failure is the first one's
        for (unsigned i = 0; i < done; ++i) {
            sio_aiocb& request = sends_.pop();
            bool channelPosts = requestOf(request).channel != nullptr && requestOf(request).channel == channelThread;
            if (error != 0) finishRequest(request, -1, error, channelPosts);
            else finishRequest(request, static_cast<ssize_t>(messages[i].msg_len), 0, channelPosts);
        }
    }
    wantOut_.store(blocked_, std::memory_order_release);
    updateInterest();
}

// ---- asynchronous requests ------------------------------------------------------------------

int EpollSocket::submit(sio_aiocb& request) {
    AioRequest& r = requestOf(request);
    if (isSend(r.op)) {
        if (r.dma) {
            iovec single;
            if (checkSendBuffers(messageOf(request, single)) != 0) return -1;
        }
        std::lock_guard<std::mutex> lock(sendLock_);
        if (closing_) return fail(EBADF, "aio send: socket %d is being closed", fd());
        bool wasEmpty = sends_.empty();
        sends_.push(request);
        if (submittingBatch()) {
            // lio_listio sends the whole list with one sendmmsg when it is queued.
            return 0;
        }
        if (wasEmpty) {
            // Sent now when the socket takes it, as the kernel would start it in io_uring mode;
            // what the socket cannot take yet waits for the channel's thread (woken here).
            flushSends(nullptr);
            if (!sends_.empty()) {
                std::uint64_t one = 1;
                [[maybe_unused]] ssize_t n = write(work_, &one, sizeof one);
            }
        }
        return 0;
    }
    std::unique_lock<std::mutex> lock(receiveLock_);
    if (closing_) return fail(EBADF, "aio receive: socket %d is being closed", fd());
    if (!hasReceiveAssociation())
        return fail(EINVAL, "aio receive: no memory is associated with socket %d (dma_assoc)", fd());
    queueReceive(request, nullptr);
    wantIn_.store(receivesPending() && !free_.empty(), std::memory_order_release);
    updateInterest();
    return 0;
}

int EpollSocket::cancel(sio_aiocb* request) {
    int received = KernelSocket::cancel(request);
    if (received == AIO_CANCELED && request != nullptr) return received;
    std::lock_guard<std::mutex> lock(sendLock_);
    // A stream send partly sent cannot be taken back: its bytes are in the stream already.
    const sio_aiocb* started = streamOffset_ > 0 && !sends_.empty() ? &sends_.front() : nullptr;
    int cancelled =
        sends_.removeIf([&](sio_aiocb& p) { return (request == nullptr || &p == request) && &p != started; },
                        [](sio_aiocb& p) { finishRequest(p, -1, ECANCELED, false); });
    bool running = started != nullptr && (request == nullptr || request == started);
    return combineCancel(request, received, cancelled > 0, running);
}

void EpollSocket::updateInterest() {
    std::lock_guard<std::mutex> lock(interestLock_);
    std::uint32_t wanted = (wantIn_.load(std::memory_order_acquire) ? EPOLLIN : 0u) |
        (wantOut_.load(std::memory_order_acquire) ? EPOLLOUT : 0u);
    if (wanted == interest_) return;
    epoll_event event{};
    event.events = wanted;
    event.data.fd = fd();
    // Off means out of the set: a socket reports errors and hang-ups whatever it is asked for.
    int op = interest_ == 0 ? EPOLL_CTL_ADD : wanted == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    epoll_ctl(epoll_, op, fd(), &event);
    interest_ = wanted;
}

void EpollSocket::deliver(Channel& channel) {
    {
        std::unique_lock<std::mutex> lock(receiveLock_, std::try_to_lock);
        if (lock.owns_lock() && receivesPending()) {
            collect(lock, false);
            matchReceives(&channel);
            wantIn_.store(receivesPending() && !free_.empty(), std::memory_order_release);
            updateInterest();
        }
    }
    std::unique_lock<std::mutex> lock(sendLock_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    std::uint64_t count;
    [[maybe_unused]] ssize_t n = read(work_, &count, sizeof count);
    if (!sends_.empty()) flushSends(&channel);
}

void EpollSocket::progress(bool wait) {
    bool receiving;
    {
        std::unique_lock<std::mutex> lock(receiveLock_);
        if (receivesPending() && hasReceiveAssociation()) {
            collect(lock, false);
            matchReceives(nullptr);
            wantIn_.store(receivesPending() && !free_.empty(), std::memory_order_release);
            updateInterest();
        }
        receiving = receivesPending();
    }
    bool sending;
    {
        std::lock_guard<std::mutex> lock(sendLock_);
        if (!sends_.empty()) flushSends(nullptr);
        sending = !sends_.empty();
    }
    if (!wait || (!receiving && !sending)) return;
    pollfd descriptor{fd(), static_cast<short>((receiving ? POLLIN : 0) | (sending ? POLLOUT : 0)), 0};
    poll(&descriptor, 1, 100);
}

void EpollSocket::shutDown() {
    {
        std::unique_lock<std::mutex> lock(receiveLock_);
        closing_ = true;
        cancelReceives();
        stopReceiving();
        dropEverything();
        wantIn_.store(false, std::memory_order_release);
    }
    std::lock_guard<std::mutex> lock(sendLock_);
    while (!sends_.empty()) finishRequest(sends_.pop(), -1, ECANCELED, false);
}

}  // namespace nexnet::sio
