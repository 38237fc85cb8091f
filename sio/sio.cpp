// The synchronous C API (see sio.h) and dma_assoc/dma_disassoc (dma.h), over Sockets.
#include "sio/sio.h"

#include "sio/core/Failure.h"
#include "sio/core/Mode.h"
#include "sio/core/Runtime.h"
#include "sio/core/Sockets.h"
#include "sio/kernel/UringSocket.h"
#include "sio/nexnet/PoolMemory.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <unistd.h>

using nexnet::SioReceived;
using nexnet::sio::fail;
using nexnet::sio::Mode;
using nexnet::sio::Runtime;
using nexnet::sio::Sockets;

namespace {

std::atomic<std::size_t> zerocopyThreshold{16384};

ssize_t sendWith(int sock, const msghdr& message, int flags) {
    auto socket = Sockets::instance().acquire(sock, true);
    if (!socket) return -1;
    return socket->send(message, flags);
}

ssize_t receiveWith(int sock, SioReceived& received, std::size_t size, int flags) {
    auto socket = Sockets::instance().acquire(sock, true);
    if (!socket) return -1;
    return socket->receive(received, size, flags);
}

}  // namespace

extern "C" {

ssize_t sio_send(int sock, const void* buf, size_t size, int flags) {
    iovec vector{const_cast<void*>(buf), size};
    msghdr message{};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    return sendWith(sock, message, flags);
}

ssize_t sio_sendto(int sock, const void* buf, size_t size, int flags, const struct sockaddr* to, socklen_t tolen) {
    iovec vector{const_cast<void*>(buf), size};
    msghdr message{};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_name = const_cast<sockaddr*>(to);
    message.msg_namelen = to != nullptr ? tolen : 0;
    return sendWith(sock, message, flags);
}

ssize_t sio_sendmsg(int sock, const struct msghdr* msg, int flags) {
    if (msg == nullptr) return fail(EINVAL, "sio_sendmsg: msg is NULL");
    return sendWith(sock, *msg, flags);
}

ssize_t sio_recv(int sock, void** buf, size_t size, int flags) {
    if (buf == nullptr) return fail(EINVAL, "sio_recv: buf is NULL");
    SioReceived received;
    ssize_t n = receiveWith(sock, received, size, flags);
    if (n >= 0) *buf = received.data;
    return n;
}

ssize_t sio_recvfrom(int sock, void** buf, size_t size, int flags, struct sockaddr* from, socklen_t* fromlen) {
    if (buf == nullptr) return fail(EINVAL, "sio_recvfrom: buf is NULL");
    if (from != nullptr && fromlen == nullptr) return fail(EINVAL, "sio_recvfrom: from without fromlen");
    SioReceived received;
    ssize_t n = receiveWith(sock, received, size, flags);
    if (n < 0) return n;
    *buf = received.data;
    if (from != nullptr) {
        if (received.name != nullptr) std::memcpy(from, received.name, std::min(*fromlen, received.nameLength));
        *fromlen = received.nameLength;
    }
    return n;
}

ssize_t sio_recvmsg(int sock, struct msghdr* msg, int flags) {
    if (msg == nullptr || msg->msg_iov == nullptr || msg->msg_iovlen < 1)
        return fail(EINVAL, "sio_recvmsg: msg is NULL or has no msg_iov[0] to point at the data");
    SioReceived received;
    std::size_t size = msg->msg_iov[0].iov_len != 0 ? msg->msg_iov[0].iov_len : SIZE_MAX;
    ssize_t n = receiveWith(sock, received, size, flags);
    if (n < 0) return n;
    msg->msg_iov[0].iov_base = received.data;
    msg->msg_iov[0].iov_len = static_cast<std::size_t>(n);
    nexnet::fillReceivedMessage(*msg, received);
    return n;
}

int sio_close(int sock) {
    Sockets::instance().close(sock);
    return close(sock);
}

int sio_mode(void) { return Mode::instance().current(); }

const char* sio_mode_message(void) {
    thread_local std::string message;
    message = Mode::instance().message();
    return message.c_str();
}

int sio_set_mode(int mode) {
    // The mode is the kernel sockets' transport: nexnet endpoints open meanwhile do not hold it.
    const std::size_t inUse = nexnet::sio::KernelSocket::inUse();
    int error = Mode::instance().set(mode, inUse);
    if (error == EBUSY) return fail(EBUSY, "sio_set_mode: %zu kernel sockets are in use with sio/aio calls", inUse);
    if (error == EINVAL) return fail(EINVAL, "sio_set_mode: %d is neither SIO_MODE_URING nor SIO_MODE_EPOLL", mode);
    if (error == ENOTSUP)
        return fail(ENOTSUP, "sio_set_mode: io_uring mode cannot run here: %s",
                    Mode::instance().uringMissing().c_str());
    return 0;
}

size_t sio_zerocopy_threshold(void) { return zerocopyThreshold.load(std::memory_order_relaxed); }

size_t sio_set_zerocopy_threshold(size_t bytes) { return zerocopyThreshold.exchange(bytes, std::memory_order_relaxed); }

const char* sio_last_error(void) { return nexnet::sio::lastFailure(); }

void sio_zerocopy_stats(unsigned long long* sent, unsigned long long* copied) {
    nexnet::sio::UringSocket::zeroCopyStatistics(sent, copied);
}

int dma_assoc(int sock, dma_mem_t mem, size_t size, unsigned flags) {
    if (nexnet::sio::PoolMemory::isHandle(Runtime::handleOf(mem)))
        return fail(EINVAL,
                    "dma_assoc: a nexnet endpoint's pool is associated with its own descriptor, from sio_nexnet_open "
                    "to sio_close");
    auto memory = Runtime::instance().memories().acquire(Runtime::handleOf(mem));
    if (!memory) return fail(EBADF, "dma_assoc: no such DMA memory");
    if (size != memory->size())
        return fail(EINVAL, "dma_assoc: size %zu is not the size given to dma_alloc (%zu)", size, memory->size());
    auto socket = Sockets::instance().acquire(sock, true);
    if (!socket) return -1;
    return socket->associate(*memory, flags);
}

int dma_disassoc(int sock, dma_mem_t mem, size_t size) {
    if (nexnet::sio::PoolMemory::isHandle(Runtime::handleOf(mem)))
        return fail(EINVAL,
                    "dma_disassoc: a nexnet endpoint's pool is associated with its own descriptor, from "
                    "sio_nexnet_open to sio_close");
    auto memory = Runtime::instance().memories().acquire(Runtime::handleOf(mem));
    if (!memory) return fail(EBADF, "dma_disassoc: no such DMA memory");
    if (size != memory->size())
        return fail(EINVAL, "dma_disassoc: size %zu is not the size given to dma_alloc (%zu)", size, memory->size());
    auto socket = Sockets::instance().acquire(sock, false);
    if (!socket) return fail(ENOENT, "dma_disassoc: descriptor %d has no memory associated", sock);
    return socket->disassociate(*memory);
}

}  // extern "C"
