#pragma once
/// @file NexnetSocket.h
/// @brief NexnetSocket: the sio/aio calls on a UDP endpoint of a nexnet interface.

#include "inet/UdpDatagram.h"
#include "sio/SioSocket.h"
#include "sio/core/AioQueue.h"

#include <memory>
#include <mutex>
#include <vector>

namespace nexnet::sio {

class NexnetEndpoint;
class PoolMemory;

/// A nexnet UDP endpoint behind a descriptor (a dup of its readiness eventfd). Received
/// datagrams are the driver's netbufs: a receive hands the program the payload where the
/// driver put it and marks the netbuf held (PoolMemory); a send lends the program's netbuf itself
/// to the interface's thread (NexnetEndpoint::send), which builds the headers in its headroom.
///
/// Receiving takes the endpoint's datagrams in bursts into a backlog, under one lock; a blocking
/// receive sleeps in poll(2) on the readiness descriptor without it. aio receives wait in posting
/// order and are matched with the backlog when they are posted, when a channel's thread asks
/// (deliver: the channel watches the readiness descriptor) and in progress(). aio sends finish
/// when handed to the interface's thread. Only MSG_DONTWAIT makes a receive non-blocking: the
/// eventfd's own O_NONBLOCK says nothing about the program's wish.
class NexnetSocket : public SioSocket {
public:
    /// The state of descriptor @p fd, which names @p endpoint; @p memory is its pool memory.
    NexnetSocket(int fd, std::unique_ptr<NexnetEndpoint> endpoint, std::uintptr_t memoryHandle, PoolMemory& memory);
    /// Ends the endpoint and the pool memory's handle (sio_close ran shutDown first).
    ~NexnetSocket() override;

    /// Refused: the endpoint receives into its interface's pool. @return -1 (ENOTSUP).
    int associate(Memory& memory, unsigned flags) override;
    /// Refused likewise. @return -1 (ENOENT).
    int disassociate(Memory& memory) override;
    /// Never called (no dma_alloc memory is associated). @return false.
    bool recycle(Memory& memory, std::size_t unit) override;
    /// The next datagram (see the class). @return its bytes (at most @p size; MSG_TRUNC when cut), or -1.
    ssize_t receive(SioReceived& out, std::size_t size, int flags) override;
    /// Hands one datagram to the interface's thread. @return its bytes, or -1 (EDESTADDRREQ,
    /// EINVAL: several vectors, control data, a buffer the program does not hold; ENOBUFS).
    ssize_t send(const msghdr& message, int flags) override;
    /// Queues an aio receive or performs an aio send. @return 0 or -1.
    int submit(sio_aiocb& request) override;
    /// Cancels queued aio receives. @return AIO_CANCELED, AIO_NOTCANCELED or AIO_ALLDONE.
    int cancel(sio_aiocb* request) override;
    /// Matches queued receives with what arrived; when @p wait and none was matched, waits once.
    void progress(bool wait) override;
    /// Cancels queued receives, frees the backlog, stops the interface's thread.
    void shutDown() override;
    /// The readiness descriptor for receives; -1 for sends (they finish when submitted).
    int eventDescriptor(bool send) const override;
    /// EventSource: matches queued receives for @p channel's thread.
    void deliver(Channel& channel) override;

    /// The endpoint (its interface, for tests and tools that watch it).
    NexnetEndpoint& endpoint() { return *endpoint_; }
    /// The memory sio_nexnet_open returned.
    PoolMemory& memory() { return memory_; }

private:
    bool pull();                                                 // under receiveLock_
    void matchReceives(Channel* channelThread);                  // under receiveLock_
    void deliverTo(sio_aiocb& request, Channel* channelThread);  // under receiveLock_
    UdpDatagram popDatagram();                                   // under receiveLock_, backlog not empty
    int waitReadable();                                          // 0, or poll's errno

    std::unique_ptr<NexnetEndpoint> endpoint_;
    std::uintptr_t memoryHandle_;
    PoolMemory& memory_;
    std::mutex receiveLock_;
    std::vector<UdpDatagram> backlog_;  // a ring of kBacklog
    std::size_t backlogHead_ = 0, backlogCount_ = 0;
    AioQueue pending_;
    bool closing_ = false;
    static constexpr std::size_t kBacklog = 1024;
    static constexpr std::size_t kPrefetchAhead = 4;
};

}  // namespace nexnet::sio
