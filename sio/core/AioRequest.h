#pragma once
/// @file AioRequest.h
/// @brief AioRequest: nexnet's bookkeeping inside a struct sio_aiocb, and how a request
/// finishes (its result stored, its event posted).

#include "sio/aio.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace nexnet::sio {

class Channel;

/// What a request does.
enum class AioOp : std::uint8_t { none, send, sendto, sendmsg, recv, recvfrom, recvmsg };

/// Where a request is in its life. aio_error reads it from any thread.
enum AioState : int { kAioIdle = 0, kAioInProgress = 1, kAioDone = 2 };

struct AioGroup;

/// nexnet's part of a struct sio_aiocb (its aio_private bytes). Written by the submitting
/// thread before the request is queued, then by the thread that finishes it; `state` is the
/// hand-over (release on finish, acquire in aio_error).
struct AioRequest {
    /// AioState, read and written atomically (std::atomic_ref).
    int state;
    /// The errno it finished with (0 for success).
    int error;
    /// Bytes moved (or -1).
    ssize_t result;
    /// MSG_* flags for the kernel (AIO_DMA_BUF removed).
    int flags;
    /// What it does.
    AioOp op;
    /// Made by an ev_* call (nexnet owns the control block; it goes back to the channel's pool).
    bool internal;
    /// AIO_DMA_BUF.
    bool dma;
    /// Receives queued on a socket: the next one (in posting order).
    sio_aiocb* next;
    /// The channel its event goes to, or nullptr (SIGEV_NONE).
    Channel* channel;
    /// sendto: the address; recvfrom: where to store the sender's.
    const void* address;
    /// sendto: the address length.
    socklen_t addressLength;
    /// recvfrom: in: room at `address`, out: the sender's address length.
    socklen_t* fromLength;
    /// The socket's handle (for aio_error and aio_cancel to find it).
    std::uintptr_t socket;
    /// lio_listio: the batch whose completion is counted, or nullptr.
    AioGroup* group;
    /// ev_*: the `data` argument (ev_data of the event).
    void* data;
};
static_assert(sizeof(AioRequest) <= sizeof(sio_aiocb::aio_private), "AioRequest must fit in aio_private");
static_assert(alignof(AioRequest) <= 8, "aio_private is 8-byte aligned");

/// The bookkeeping of @p cb.
inline AioRequest& requestOf(sio_aiocb& cb) { return *reinterpret_cast<AioRequest*>(cb.aio_private); }
/// The bookkeeping of @p cb (read only).
inline const AioRequest& requestOf(const sio_aiocb& cb) { return *reinterpret_cast<const AioRequest*>(cb.aio_private); }
/// The state of @p cb, read with acquire.
inline int stateOf(const sio_aiocb& cb) {
    return std::atomic_ref<int>(const_cast<AioRequest&>(requestOf(cb)).state).load(std::memory_order_acquire);
}

/// True while the calling thread submits the requests of one lio_listio call (transports
/// that send in batches wait for the end of the list: lio_listio then moves every socket).
bool submittingBatch();
/// Marks the start (@p on) and end of a lio_listio submission on the calling thread.
void setSubmittingBatch(bool on);

/// Finishes @p cb with @p result bytes (or -1) and @p error: stores them, then posts its event
/// to its channel (SIGEV_EC), or just marks it done (SIGEV_NONE). @p fromChannelThread: the
/// caller is taking events from that channel (no wake-up needed). After this call @p cb
/// belongs to the program again (or, for an ev_* request, to the channel's pool).
void finishRequest(sio_aiocb& cb, ssize_t result, int error, bool fromChannelThread);

}  // namespace nexnet::sio
