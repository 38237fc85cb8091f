#include "sio/nexnet/NexnetSocket.h"

#include "netbuf/Netbuf.h"
#include "sio/core/AioRequest.h"
#include "sio/core/Channel.h"
#include "sio/core/Failure.h"
#include "sio/core/Runtime.h"
#include "sio/nexnet/NexnetEndpoint.h"
#include "sio/nexnet/PoolMemory.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <unistd.h>

namespace nexnet::sio {

namespace {

sockaddr_in addressOf(const UdpDatagram& datagram) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr = datagram.source;
    address.sin_port = htons(datagram.sourcePort);
    return address;
}

}  // namespace

NexnetSocket::NexnetSocket(int fd, std::unique_ptr<NexnetEndpoint> endpoint, std::uintptr_t memoryHandle,
                           PoolMemory& memory)
    : SioSocket(fd), endpoint_(std::move(endpoint)), memoryHandle_(memoryHandle), memory_(memory), backlog_(kBacklog) {}

NexnetSocket::~NexnetSocket() {
    endpoint_->stop();
    memory_.releaseAll();  // while the stack's pools live
    endpoint_.reset();     // frees the sends still in the driver's hands: they end in the memory
    Runtime::instance().removeRange(memoryHandle_ | PoolMemory::kTag);
    PoolMemory::table().destroy(memoryHandle_, [](PoolMemory&) {});
}

int NexnetSocket::associate(Memory&, unsigned) {
    return fail(ENOTSUP,
                "dma_assoc: descriptor %d is a nexnet endpoint: it receives into its interface's pool, "
                "the memory sio_nexnet_open returned",
                fd());
}

int NexnetSocket::disassociate(Memory&) {
    return fail(ENOENT, "dma_disassoc: descriptor %d is a nexnet endpoint: its pool stays associated until sio_close",
                fd());
}

bool NexnetSocket::recycle(Memory&, std::size_t) { return false; }

int NexnetSocket::eventDescriptor(bool send) const { return send ? -1 : endpoint_->readinessFd(); }

// ---- receiving ------------------------------------------------------------------------------

bool NexnetSocket::pull() {
    // Into the ring's free run after its tail, then (when that ran to the ring's end) its start.
    for (int piece = 0; piece < 2 && backlogCount_ < kBacklog; ++piece) {
        std::size_t tail = (backlogHead_ + backlogCount_) % kBacklog;
        std::size_t room = std::min(kBacklog - backlogCount_, kBacklog - tail);
        unsigned n = endpoint_->receive(backlog_.data() + tail, static_cast<unsigned>(room));
        backlogCount_ += n;
        if (n < room) break;
    }
    return backlogCount_ > 0;
}

UdpDatagram NexnetSocket::popDatagram() {
    UdpDatagram datagram = backlog_[backlogHead_];
    backlogHead_ = (backlogHead_ + 1) % kBacklog;
    --backlogCount_;
    // The interface's thread wrote each netbuf's metadata on another core: its first read here was
    // most of this thread's cost per datagram (perf on null:, in PoolMemory::hold). Fetch the one a
    // few datagrams ahead while this one is handed out.
    if (backlogCount_ > kPrefetchAhead) __builtin_prefetch(backlog_[(backlogHead_ + kPrefetchAhead) % kBacklog].netbuf);
    memory_.hold(datagram.netbuf);
    return datagram;
}

int NexnetSocket::waitReadable() {
    pollfd descriptor{endpoint_->readinessFd(), POLLIN, 0};
    return poll(&descriptor, 1, -1) < 0 ? errno : 0;
}

ssize_t NexnetSocket::receive(SioReceived& out, std::size_t size, int flags) {
    if (flags & (MSG_PEEK | MSG_WAITALL | MSG_OOB | MSG_ERRQUEUE))
        return fail(EINVAL,
                    "sio_recv: flags 0x%x: MSG_PEEK, MSG_WAITALL, MSG_OOB, MSG_ERRQUEUE cannot return one "
                    "buffer the implementation chose",
                    flags);
    if (size == 0) return fail(EINVAL, "sio_recv: size 0");
    // The sender's address outlives the lock: the caller copies it after the return.
    thread_local sockaddr_in name;
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(receiveLock_);
            if (closing_) return fail(EBADF, "sio_recv: descriptor %d is being closed", fd());
            if (!pending_.empty()) return fail(EBUSY, "sio_recv: aio receives are pending on descriptor %d", fd());
            if (backlogCount_ > 0 || pull()) {
                UdpDatagram datagram = popDatagram();
                name = addressOf(datagram);
                out.data = datagram.netbuf->data();
                out.length = std::min<std::size_t>(size, datagram.netbuf->size());
                out.flags = out.length < datagram.netbuf->size() ? MSG_TRUNC : 0;
                out.name = reinterpret_cast<const sockaddr*>(&name);
                out.nameLength = sizeof name;
                return static_cast<ssize_t>(out.length);
            }
        }
        if (flags & MSG_DONTWAIT) return fail(EAGAIN, "sio_recv: nothing received on descriptor %d yet", fd());
        if (waitReadable() == EINTR) return fail(EINTR, "sio_recv: interrupted by a signal");
    }
}

// ---- sending --------------------------------------------------------------------------------

ssize_t NexnetSocket::send(const msghdr& message, int) {
    if (message.msg_iovlen != 1 || message.msg_iov == nullptr)
        return fail(EINVAL, "sio_send: a nexnet endpoint sends one buffer per datagram (%zu vectors given)",
                    static_cast<std::size_t>(message.msg_iovlen));
    if (message.msg_control != nullptr && message.msg_controllen > 0)
        return fail(EINVAL, "sio_send: a nexnet endpoint takes no control messages");
    const auto* to = static_cast<const sockaddr_in*>(message.msg_name);
    if (to == nullptr || message.msg_namelen < sizeof(sockaddr_in))
        return fail(EDESTADDRREQ, "sio_send: a nexnet endpoint needs a destination (sio_sendto)");
    if (to->sin_family != AF_INET) return fail(EAFNOSUPPORT, "sio_sendto: a nexnet endpoint sends IPv4 only");
    if (to->sin_port == 0) return fail(EINVAL, "sio_sendto: destination port 0");
    const iovec& v = message.msg_iov[0];
    Netbuf* netbuf = memory_.beginSend(v.iov_base, v.iov_len, NexnetEndpoint::kHeaderRoom);
    if (netbuf == nullptr) return -1;
    if (int error = endpoint_->send(netbuf, to->sin_addr, ntohs(to->sin_port)); error != 0)
        return fail(error, "sio_send: %zu sends wait for the interface's thread already", NexnetEndpoint::kMaxQueued);
    return static_cast<ssize_t>(v.iov_len);
}

// ---- aio ------------------------------------------------------------------------------------

int NexnetSocket::submit(sio_aiocb& request) {
    AioRequest& r = requestOf(request);
    if (r.op == AioOp::send || r.op == AioOp::sendto || r.op == AioOp::sendmsg) {
        // Handed to the interface's thread at once: that is where a kernel socket's send ends too.
        msghdr message{};
        iovec single{const_cast<void*>(request.aio_buf), request.aio_nbytes};
        if (r.op == AioOp::sendmsg) {
            message = *request.aio_msg;
        } else {
            message.msg_iov = &single;
            message.msg_iovlen = 1;
            message.msg_name = const_cast<void*>(r.address);
            message.msg_namelen = r.addressLength;
        }
        ssize_t n = send(message, r.flags);
        if (n < 0 && errno != ENOBUFS) return -1;  // refused: not queued, the caller reports it
        finishRequest(request, n, n < 0 ? errno : 0, false);
        return 0;
    }
    std::lock_guard<std::mutex> lock(receiveLock_);
    if (closing_) return fail(EBADF, "aio receive: descriptor %d is being closed", fd());
    pending_.push(request);
    matchReceives(nullptr);
    return 0;
}

void NexnetSocket::deliverTo(sio_aiocb& request, Channel* channelThread) {
    AioRequest& r = requestOf(request);
    bool channelThreadPosts = r.channel != nullptr && r.channel == channelThread;
    UdpDatagram datagram = popDatagram();
    sockaddr_in name = addressOf(datagram);
    SioReceived got;
    got.name = reinterpret_cast<const sockaddr*>(&name);
    got.nameLength = sizeof name;
    msghdr* message = r.op == AioOp::recvmsg ? request.aio_msg : nullptr;
    std::size_t size = datagram.netbuf->size(), n;
    if (r.dma) {
        std::size_t room = request.aio_nbytes == 0 ? size : request.aio_nbytes;
        n = std::min(size, room);
        request.aio_buf = datagram.netbuf->data();
        if (message != nullptr && message->msg_iovlen > 0) {
            message->msg_iov[0].iov_base = datagram.netbuf->data();
            message->msg_iov[0].iov_len = n;
        }
    } else {
        // Copied into the caller's buffer, the netbuf goes back at once.
        n = 0;
        if (message != nullptr) {
            for (std::size_t i = 0; i < message->msg_iovlen && n < size; ++i) {
                std::size_t part = std::min(size - n, message->msg_iov[i].iov_len);
                std::memcpy(message->msg_iov[i].iov_base, datagram.netbuf->data() + n, part);
                n += part;
            }
        } else {
            n = std::min<std::size_t>(size, request.aio_nbytes);
            std::memcpy(const_cast<void*>(request.aio_buf), datagram.netbuf->data(), n);
        }
        memory_.release(datagram.netbuf->data(), 1);
    }
    got.flags = n < size ? MSG_TRUNC : 0;
    if (r.op == AioOp::recvfrom && r.address != nullptr && r.fromLength != nullptr) {
        std::memcpy(const_cast<void*>(r.address), &name, std::min<socklen_t>(*r.fromLength, sizeof name));
        *r.fromLength = sizeof name;
    }
    if (message != nullptr) fillReceivedMessage(*message, got);
    finishRequest(request, static_cast<ssize_t>(n), 0, channelThreadPosts);
}

void NexnetSocket::matchReceives(Channel* channelThread) {
    while (!pending_.empty() && (backlogCount_ > 0 || pull())) {
        Channel* channel = requestOf(pending_.front()).channel;
        if (channel != nullptr && channel->room() == 0) break;  // the datagram waits, not lost
        deliverTo(pending_.pop(), channelThread);
    }
}

void NexnetSocket::deliver(Channel& channel) {
    std::unique_lock<std::mutex> lock(receiveLock_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    matchReceives(&channel);
    // The channel watches the readiness descriptor, readable until the endpoint's queue is
    // found empty: take what waits even with no receive posted, so the channel sleeps.
    if (!closing_) pull();
}

void NexnetSocket::progress(bool wait) {
    {
        std::lock_guard<std::mutex> lock(receiveLock_);
        if (pending_.empty()) return;
        matchReceives(nullptr);
        if (pending_.empty() || !wait) return;
    }
    waitReadable();
    std::lock_guard<std::mutex> lock(receiveLock_);
    matchReceives(nullptr);
}

int NexnetSocket::cancel(sio_aiocb* request) {
    std::lock_guard<std::mutex> lock(receiveLock_);
    return pending_.cancel(request);
}

void NexnetSocket::shutDown() {
    std::lock_guard<std::mutex> lock(receiveLock_);
    closing_ = true;
    // A receive asleep in poll on the readiness descriptor wakes, sees closing_ and returns.
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t written = write(endpoint_->readinessFd(), &one, sizeof one);
    while (!pending_.empty()) finishRequest(pending_.pop(), -1, ECANCELED, false);
    while (backlogCount_ > 0) {
        backlog_[backlogHead_].netbuf->free();
        backlogHead_ = (backlogHead_ + 1) % kBacklog;
        --backlogCount_;
    }
}

}  // namespace nexnet::sio
