#pragma once
/// @file SioSocket.h
/// @brief SioSocket: what a transport keeps for one descriptor used with the sio/aio calls.

#include "sio/core/EventSource.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sys/socket.h>
#include <sys/types.h>

struct sio_aiocb;

namespace nexnet {

namespace sio {
class Memory;
}

/// One received buffer, as a transport hands it to sio_recv*: where the data is, and the
/// recvmsg(2) extras that came with it.
struct SioReceived {
    /// The data, inside memory associated with the socket (the program's until sio_release).
    void* data = nullptr;
    /// Bytes of data.
    std::size_t length = 0;
    /// MSG_TRUNC, MSG_CTRUNC, as recvmsg(2) sets them.
    int flags = 0;
    /// The sender's address (datagram sockets), or nullptr.
    const sockaddr* name = nullptr;
    /// Its length.
    socklen_t nameLength = 0;
    /// Control messages, or nullptr.
    const void* control = nullptr;
    /// Their length.
    std::size_t controlLength = 0;
};

/// Fills @p message's name, control data and flags from @p received, as recvmsg(2) fills them
/// (each cut to the room the caller gave, MSG_CTRUNC when control data was cut).
inline void fillReceivedMessage(msghdr& message, const SioReceived& received) {
    int flags = received.flags;
    if (message.msg_name != nullptr) {
        if (received.name != nullptr)
            std::memcpy(message.msg_name, received.name, std::min(message.msg_namelen, received.nameLength));
        message.msg_namelen = received.nameLength;
    }
    if (message.msg_control != nullptr) {
        std::size_t copied = std::min(message.msg_controllen, received.controlLength);
        if (copied > 0) std::memcpy(message.msg_control, received.control, copied);
        if (copied < received.controlLength) flags |= MSG_CTRUNC;
        message.msg_controllen = copied;
    }
    message.msg_flags = flags;
}

/// The state a transport keeps for one descriptor used with the sio/aio calls: its associated
/// memory, receive buffers, pending requests. Made by the descriptor's SioTransport on first
/// use, ended by sio_close.
///
/// Every method may be called from any thread, concurrently; each says whether it blocks.
/// Failing methods return -1 with errno set and the thread's message set (sio::fail).
/// As an EventSource it delivers the events of requests that report to channels.
class SioSocket : public sio::EventSource {
public:
    /// The state for descriptor @p fd.
    explicit SioSocket(int fd) : fd_(fd) {}
    ~SioSocket() override = default;
    SioSocket(const SioSocket&) = delete;
    SioSocket& operator=(const SioSocket&) = delete;

    /// The descriptor.
    int fd() const { return fd_; }
    /// The handle the socket table gave it (channels and memories refer to it by this).
    std::uintptr_t handle() const { return handle_; }
    /// Set once by the socket table.
    void setHandle(std::uintptr_t handle) { handle_ = handle; }

    /// dma_assoc: receives may land in @p memory, sends may come from it (dma.h's flags).
    /// Never blocks. @return 0 or -1.
    virtual int associate(sio::Memory& memory, unsigned flags) = 0;
    /// dma_disassoc: takes back @p memory's receive buffers the kernel has not filled; buffers
    /// the program holds stay its own. May block briefly (the kernel's cancellation).
    /// @return 0 or -1 (ENOENT: not associated).
    virtual int disassociate(sio::Memory& memory) = 0;
    /// The memory of association @p memoryHandle hands back received unit @p unit (released
    /// by the program). @return false when the socket no longer takes it (the memory frees it).
    virtual bool recycle(sio::Memory& memory, std::size_t unit) = 0;

    /// sio_recv*: the next received buffer, at most @p size bytes of it. Blocks unless
    /// @p flags has MSG_DONTWAIT or the descriptor is non-blocking. @return bytes, or -1.
    virtual ssize_t receive(SioReceived& out, std::size_t size, int flags) = 0;
    /// sio_send*: sends @p message, whose vectors must each lie in one of the program's buffers
    /// of associated memory (the transport checks: EINVAL). Blocks like sendmsg(2).
    /// @return bytes, or -1.
    virtual ssize_t send(const msghdr& message, int flags) = 0;

    /// aio_* and ev_*: queues request @p request (already validated and marked in progress).
    /// Never blocks. @return 0, or -1 (the request was not queued).
    virtual int submit(sio_aiocb& request) = 0;
    /// aio_cancel: cancels @p request, or every request when nullptr.
    /// @return AIO_CANCELED, AIO_NOTCANCELED or AIO_ALLDONE.
    virtual int cancel(sio_aiocb* request) = 0;
    /// Moves requests along without a channel (aio_error of a SIGEV_NONE request, lio_listio's
    /// LIO_WAIT): never blocks unless @p wait, then waits for at least one completion.
    virtual void progress(bool wait) = 0;

    /// sio_close: finishes every pending request with ECANCELED, gives receive buffers back,
    /// ends every association. May block briefly.
    virtual void shutDown() = 0;

    /// The descriptor an event channel waits on for this socket's completions of the receive
    /// (@p send false) or send side, once a request of that side was submitted; -1 for none.
    virtual int eventDescriptor(bool send) const = 0;

    /// The channel this socket last reported to on each side (a cache that spares a channel
    /// lookup per request; only a hint).
    std::atomic<const void*> lastChannel[2] = {nullptr, nullptr};

private:
    int fd_;
    std::uintptr_t handle_ = 0;
};

}  // namespace nexnet
