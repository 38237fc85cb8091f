#pragma once
/// @file EpollSocket.h
/// @brief EpollSocket: a kernel socket served with epoll and recvmmsg/sendmmsg batches (epoll
/// mode: where io_uring is missing or forbidden).

#include "sio/kernel/KernelSocket.h"

#include <atomic>
#include <vector>

namespace nexnet::sio {

/// A kernel socket in epoll mode: the same calls and the same guarantees as io_uring mode, one
/// system call per batch instead of none.
///
/// - **Receiving:** the socket's receive buffers wait on a free list; a receive that finds the
///   backlog empty fills up to 64 of them with one recvmmsg(2) (recvmsg(2) with a vector of
///   buffers for a stream), writing the same layout io_uring's multishot recvmsg writes, so
///   everything above (KernelSocket) is shared.
/// - **Sending:** a synchronous send is one sendmsg(2) (copied: MSG_ZEROCOPY fails with
///   ENOTSUP). aio sends queue and go out in sendmmsg(2) batches when the channel's thread
///   delivers (or lio_listio, or aio_error, moves them).
/// - **Waking channels:** the socket has an epoll set of its own over its descriptor and an
///   eventfd; that set is what channels watch (epoll sets nest). The socket asks for EPOLLIN
///   only while aio receives wait and buffers are free, EPOLLOUT only while a send found the
///   socket full, and signals the eventfd when sends were queued, so a channel's poll never
///   spins on readiness nobody will act on.
class EpollSocket : public KernelSocket {
public:
    /// Receive buffers one recvmmsg fills at most.
    static constexpr unsigned kBatch = 64;

    /// State for socket @p fd (@p type, @p family as KernelSocket).
    EpollSocket(int fd, int type, int family);
    ~EpollSocket() override;

    ssize_t send(const msghdr& message, int flags) override;
    int submit(sio_aiocb& request) override;
    int cancel(sio_aiocb* request) override;
    void progress(bool wait) override;
    void shutDown() override;
    void deliver(Channel& channel) override;
    int eventDescriptor(bool send) const override {
        (void)send;
        return epoll_;
    }

protected:
    void lend(std::uint32_t id) override;
    void stopReceiving() override;
    void resumeReceiving() override {}
    int collect(std::unique_lock<std::mutex>& lock, bool wait) override;

private:
    int receiveBatch();
    void flushSends(Channel* channelThread);
    void updateInterest();
    bool hasReceiveAssociation();

    int epoll_ = -1;
    int work_ = -1;                    // eventfd: sends were queued
    std::vector<std::uint32_t> free_;  // receive buffers not lent to a recvmmsg (receiveLock_)
    bool receiveError_ = false;

    std::mutex sendLock_;
    AioQueue sends_;                // aio sends not sent yet, oldest first
    std::size_t streamOffset_ = 0;  // bytes of the head request a stream sent already
    bool blocked_ = false;          // a send found the socket full

    std::atomic<bool> wantIn_{false};   // aio receives wait and buffers are free (set under receiveLock_)
    std::atomic<bool> wantOut_{false};  // a send found the socket full (set under sendLock_)
    std::mutex interestLock_;
    std::uint32_t interest_ = 0;  // what the socket's descriptor is watched for now
};

}  // namespace nexnet::sio
