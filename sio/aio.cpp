// The asynchronous C API (see aio.h): aio_* and ev_* requests, lio_listio, aio_error,
// aio_return, aio_cancel.
#include "sio/aio.h"

#include "sio/core/AioGroup.h"
#include "sio/core/AioRequest.h"
#include "sio/core/Failure.h"
#include "sio/core/Runtime.h"
#include "sio/core/Sockets.h"
#include "sio/nexnet/PoolMemory.h"

#include <algorithm>
#include <fcntl.h>
#include <memory>
#include <cerrno>
#include <vector>

using nexnet::sio::AioGroup;
using nexnet::sio::AioOp;
using nexnet::sio::AioRequest;
using nexnet::sio::Channel;
using nexnet::sio::fail;
using nexnet::sio::requestOf;
using nexnet::sio::Runtime;
using nexnet::sio::Sockets;
using nexnet::sio::stateOf;

namespace {

bool isSend(AioOp op) { return op == AioOp::send || op == AioOp::sendto || op == AioOp::sendmsg; }

const char* nameOf(AioOp op) {
    switch (op) {
    case AioOp::send:
        return "aio_send";
    case AioOp::sendto:
        return "aio_sendto";
    case AioOp::sendmsg:
        return "aio_sendmsg";
    case AioOp::recv:
        return "aio_recv";
    case AioOp::recvfrom:
        return "aio_recvfrom";
    case AioOp::recvmsg:
        return "aio_recvmsg";
    default:
        return "aio";
    }
}

/// Everything a submission needs besides the control block.
struct Submission {
    AioOp op = AioOp::none;
    int flags = 0;
    const void* address = nullptr;
    socklen_t addressLength = 0;
    socklen_t* fromLength = nullptr;
    Channel* internalChannel = nullptr;  // ev_*: the channel, whose pool holds the control block
    void* data = nullptr;
    AioGroup* group = nullptr;
};

int checkBuffers(const sio_aiocb& cb, const Submission& s, bool dma) {
    const char* name = nameOf(s.op);
    if (s.op == AioOp::sendmsg || s.op == AioOp::recvmsg) {
        if (cb.aio_msg == nullptr) return fail(EINVAL, "%s: aio_msg is NULL", name);
        if (cb.aio_msg->msg_iovlen > 0 && cb.aio_msg->msg_iov == nullptr)
            return fail(EINVAL, "%s: msg_iov is NULL", name);
        if (dma && s.op == AioOp::recvmsg && cb.aio_msg->msg_iovlen < 1)
            return fail(EINVAL, "%s: AIO_DMA_BUF needs msg_iov[0] to point at the data", name);
        return 0;
    }
    if (!dma && cb.aio_buf == nullptr && (cb.aio_nbytes > 0 || !isSend(s.op)))
        return fail(EINVAL, "%s: aio_buf is NULL", name);
    if (!isSend(s.op) && !dma && cb.aio_nbytes == 0) return fail(EINVAL, "%s: aio_nbytes is 0", name);
    return 0;
}

int submitRequest(sio_aiocb* cb, const Submission& s) {
    const char* name = nameOf(s.op);
    if (cb == nullptr) return fail(EINVAL, "%s: aiocbp is NULL", name);
    if (stateOf(*cb) == nexnet::sio::kAioInProgress)
        return fail(EINVAL, "%s: the control block is in progress already", name);
    if (cb->aio_reqprio != 0) return fail(EINVAL, "%s: aio_reqprio must be 0", name);
    bool dma = (s.flags & AIO_DMA_BUF) != 0;
    if (int error = checkBuffers(*cb, s, dma); error != 0) return error;
    if (dma && nexnet::sio::PoolMemory::isHandle(Runtime::handleOf(cb->aio_dma_buf))) {
        // A nexnet endpoint's pool (sio_nexnet_open): the endpoint checks sends itself.
        auto pool = nexnet::sio::PoolMemory::table().acquire(Runtime::handleOf(cb->aio_dma_buf) &
                                                             ~nexnet::sio::PoolMemory::kTag);
        if (!pool)
            return fail(EINVAL, "%s: AIO_DMA_BUF but aio_dma_buf is no DMA memory (its endpoint was closed)", name);
        if (isSend(s.op) && s.op != AioOp::sendmsg && !pool->contains(const_cast<void*>(cb->aio_buf)))
            return fail(EINVAL, "%s: AIO_DMA_BUF but aio_buf is not inside aio_dma_buf", name);
    } else if (dma) {
        auto memory = Runtime::instance().memories().acquire(Runtime::handleOf(cb->aio_dma_buf));
        if (!memory) return fail(EINVAL, "%s: AIO_DMA_BUF but aio_dma_buf is no DMA memory", name);
        if (isSend(s.op) && s.op != AioOp::sendmsg && !memory->contains(const_cast<void*>(cb->aio_buf), cb->aio_nbytes))
            return fail(EINVAL, "%s: AIO_DMA_BUF but aio_buf is not inside aio_dma_buf", name);
    }
    Channel* channel = s.internalChannel;
    nexnet::sio::HandleTable<Channel>::Ref channelRef;
    if (channel == nullptr) {
        int notify = cb->aio_sigevent.sigev_notify;
        if (notify == SIGEV_EC) {
            channelRef = Runtime::instance().channels().acquire(Runtime::handleOf(cb->aio_sigevent.sigev_ec));
            if (!channelRef) return fail(EINVAL, "%s: sigev_ec is no event channel", name);
            channel = channelRef.get();
        } else if (notify != SIGEV_NONE && !(notify == SIGEV_SIGNAL && cb->aio_sigevent.sigev_signo == 0)) {
            // (A zeroed sigevent is SIGEV_SIGNAL with signal 0, no signal at all: SIGEV_NONE.)
            return fail(EINVAL, "%s: sigev_notify %d: only SIGEV_EC and SIGEV_NONE", name, notify);
        }
    }
    auto socket = Sockets::instance().acquire(cb->aio_fildes, true);
    if (!socket) return -1;

    AioRequest& r = requestOf(*cb);
    r = AioRequest{};
    r.state = nexnet::sio::kAioInProgress;
    r.flags = s.flags & ~AIO_DMA_BUF;
    r.op = s.op;
    r.internal = s.internalChannel != nullptr;
    r.dma = dma;
    r.channel = channel;
    r.address = s.address;
    r.addressLength = s.addressLength;
    r.fromLength = s.fromLength;
    r.socket = socket->handle();
    r.group = s.group;
    r.data = s.data;
    if (channel != nullptr) channel->addPending();
    int result = socket->submit(*cb);
    if (result != 0) {
        int error = errno;
        std::atomic_ref<int>(r.state).store(nexnet::sio::kAioIdle, std::memory_order_release);
        if (channel != nullptr) channel->removePending();
        errno = error;
        return -1;
    }
    if (channel != nullptr) {
        // The channel drives this socket when its queue is empty, and wakes on its descriptor.
        bool send = isSend(s.op);
        if (socket->lastChannel[send].load(std::memory_order_relaxed) != channel) {
            channel->attach(socket->handle(), socket->eventDescriptor(send));
            socket->lastChannel[send].store(channel, std::memory_order_relaxed);
        }
    }
    return 0;
}

int submitEv(int s, AioOp op, ec_t ec, void* data, int flags, void* buf, std::size_t len, msghdr* msg,
             const void* address, socklen_t addressLength, socklen_t* fromLength) {
    auto channel = Runtime::instance().channels().acquire(Runtime::handleOf(ec));
    if (!channel) return fail(EBADF, "ev_*: no such event channel");
    if (flags & AIO_DMA_BUF) return fail(EINVAL, "ev_*: AIO_DMA_BUF is for aio_* requests");
    sio_aiocb* cb = channel->allocateRequest();
    if (cb == nullptr)
        return fail(EAGAIN, "ev_*: the channel has %zu requests pending, its capacity", channel->capacity());
    cb->aio_fildes = s;
    cb->aio_buf = buf;
    cb->aio_nbytes = len;
    cb->aio_msg = msg;
    Submission submission;
    submission.op = op;
    submission.flags = flags;
    submission.address = address;
    submission.addressLength = addressLength;
    submission.fromLength = fromLength;
    submission.internalChannel = channel.get();
    submission.data = data;
    if (submitRequest(cb, submission) != 0) {
        int error = errno;
        channel->freeRequest(cb);
        errno = error;
        return -1;
    }
    return 0;
}

int submitAio(sio_aiocb* cb, AioOp op, int flags, const void* address = nullptr, socklen_t addressLength = 0,
              socklen_t* fromLength = nullptr, AioGroup* group = nullptr) {
    Submission submission;
    submission.op = op;
    submission.flags = flags;
    submission.address = address;
    submission.addressLength = addressLength;
    submission.fromLength = fromLength;
    submission.group = group;
    return submitRequest(cb, submission);
}

}  // namespace

extern "C" {

int aio_send(struct sio_aiocb* aiocbp, int flags) { return submitAio(aiocbp, AioOp::send, flags); }

int aio_sendto(struct sio_aiocb* aiocbp, int flags, const struct sockaddr* to, socklen_t tolen) {
    return submitAio(aiocbp, AioOp::sendto, flags, to, tolen);
}

int aio_sendmsg(struct sio_aiocb* aiocbp, int flags) { return submitAio(aiocbp, AioOp::sendmsg, flags); }

int aio_recv(struct sio_aiocb* aiocbp, int flags) { return submitAio(aiocbp, AioOp::recv, flags); }

int aio_recvfrom(struct sio_aiocb* aiocbp, int flags, struct sockaddr* from, socklen_t* fromlen) {
    if (from != nullptr && fromlen == nullptr) return fail(EINVAL, "aio_recvfrom: from without fromlen");
    return submitAio(aiocbp, AioOp::recvfrom, flags, from, 0, fromlen);
}

int aio_recvmsg(struct sio_aiocb* aiocbp, int flags) { return submitAio(aiocbp, AioOp::recvmsg, flags); }

int sio_aio_error(const struct sio_aiocb* aiocbp) {
    if (aiocbp == nullptr) return EINVAL;
    int state = stateOf(*aiocbp);
    if (state == nexnet::sio::kAioIdle) return EINVAL;
    if (state == nexnet::sio::kAioInProgress) {
        // SIGEV_NONE requests move when someone asks: this is where.
        if (auto socket = Sockets::instance().byHandle(requestOf(*aiocbp).socket)) socket->progress(false);
        if (stateOf(*aiocbp) == nexnet::sio::kAioInProgress) return EINPROGRESS;
    }
    return requestOf(*aiocbp).error;
}

ssize_t sio_aio_return(struct sio_aiocb* aiocbp) {
    if (aiocbp == nullptr) return fail(EINVAL, "aio_return: aiocbp is NULL");
    int state = stateOf(*aiocbp);
    if (state == nexnet::sio::kAioInProgress) return fail(EINPROGRESS, "aio_return: the request is still in progress");
    if (state != nexnet::sio::kAioDone)
        return fail(EINVAL, "aio_return: the request was never submitted, or returned already");
    AioRequest& r = requestOf(*aiocbp);
    ssize_t result = r.result;
    int error = r.error;
    std::atomic_ref<int>(r.state).store(nexnet::sio::kAioIdle, std::memory_order_release);
    if (result < 0) errno = error;
    return result;
}

int sio_aio_cancel(int fildes, struct sio_aiocb* aiocbp) {
    if (aiocbp != nullptr && aiocbp->aio_fildes != fildes)
        return fail(EINVAL, "aio_cancel: the control block is for descriptor %d, not %d", aiocbp->aio_fildes, fildes);
    if (aiocbp != nullptr && stateOf(*aiocbp) != nexnet::sio::kAioInProgress) return AIO_ALLDONE;
    auto socket = Sockets::instance().acquire(fildes, false);
    if (!socket) {
        if (fcntl(fildes, F_GETFD) < 0) return fail(EBADF, "aio_cancel: descriptor %d is not open", fildes);
        return AIO_ALLDONE;  // never used with aio: nothing to cancel
    }
    return socket->cancel(aiocbp);
}

int sio_lio_listio(int mode, struct sio_aiocb* const list[], int nent, struct sio_sigevent* sig) {
    if (mode != LIO_WAIT && mode != LIO_NOWAIT)
        return fail(EINVAL, "lio_listio: mode %d is neither LIO_WAIT nor LIO_NOWAIT", mode);
    if (nent < 0 || (nent > 0 && list == nullptr)) return fail(EINVAL, "lio_listio: %d entries", nent);
    int count = 0;
    for (int i = 0; i < nent; ++i)
        if (list[i] != nullptr && list[i]->aio_lio_opcode != LIO_NOP) ++count;
    AioGroup* group = nullptr;
    std::unique_ptr<AioGroup> waited;
    nexnet::sio::HandleTable<Channel>::Ref channel;
    if (sig != nullptr && mode == LIO_NOWAIT && sig->sigev_notify == SIGEV_EC) {
        channel = Runtime::instance().channels().acquire(Runtime::handleOf(sig->sigev_ec));
        if (!channel) return fail(EINVAL, "lio_listio: sig->sigev_ec is no event channel");
    } else if (sig != nullptr && mode == LIO_NOWAIT && sig->sigev_notify != SIGEV_NONE) {
        return fail(EINVAL, "lio_listio: sig->sigev_notify %d: only SIGEV_EC and SIGEV_NONE", sig->sigev_notify);
    }
    if (count == 0) {  // nothing to wait for: the list's end is now
        if (channel) {
            event_data_t event{};
            event.ev_type = event_type_aio;
            event.ev_data = sig->sigev_value.sival_ptr;
            channel->post(event, true);
        }
        return 0;
    }
    if (mode == LIO_WAIT) {
        waited = std::make_unique<AioGroup>(count, nullptr, nullptr);
        group = waited.get();
    } else if (channel) {
        channel->addPending();
        group = new AioGroup(count, channel.get(), sig->sigev_value.sival_ptr);  // deletes itself at the end
    }
    bool refused = false;
    std::vector<std::uintptr_t> sockets;
    nexnet::sio::setSubmittingBatch(true);
    for (int i = 0; i < nent; ++i) {
        sio_aiocb* cb = list[i];
        if (cb == nullptr || cb->aio_lio_opcode == LIO_NOP) continue;
        int opcode = cb->aio_lio_opcode;
        int flags = (opcode == LIO_DMA_READ || opcode == LIO_DMA_WRITE) ? AIO_DMA_BUF : 0;
        // With aio_msg set, the message forms (the address of a datagram comes and goes there).
        bool message = cb->aio_msg != nullptr;
        AioOp op = (opcode == LIO_READ || opcode == LIO_DMA_READ) ? (message ? AioOp::recvmsg : AioOp::recv)
            : (opcode == LIO_WRITE || opcode == LIO_DMA_WRITE)    ? (message ? AioOp::sendmsg : AioOp::send)
                                                                  : AioOp::none;
        int result = op == AioOp::none ? fail(EINVAL, "lio_listio: entry %d: opcode %d", i, opcode)
                                       : submitAio(cb, op, flags, nullptr, 0, nullptr, group);
        if (result != 0) {
            refused = true;
            if (group != nullptr) group->abandonOne();
            continue;
        }
        sockets.push_back(requestOf(*cb).socket);
        if (channel) {
            // The list's channel drives the sockets too: its requests may have no channel.
            if (auto socket = Sockets::instance().byHandle(requestOf(*cb).socket))
                channel->attach(socket->handle(), socket->eventDescriptor(op == AioOp::send));
        }
    }
    nexnet::sio::setSubmittingBatch(false);
    // Start what was queued: batching transports send the list now (one sendmmsg a socket).
    std::sort(sockets.begin(), sockets.end());
    sockets.erase(std::unique(sockets.begin(), sockets.end()), sockets.end());
    for (std::uintptr_t handle : sockets)
        if (auto socket = Sockets::instance().byHandle(handle)) socket->progress(false);
    if (mode == LIO_NOWAIT) return refused ? fail(EAGAIN, "lio_listio: not every request could be queued") : 0;
    // LIO_WAIT: nobody else may be driving these sockets (their channels' takers), so this
    // thread does, until every request finished.
    for (;;) {
        for (std::uintptr_t handle : sockets)
            if (auto socket = Sockets::instance().byHandle(handle)) socket->progress(false);
        const sio_aiocb* unfinished = nullptr;
        for (int i = 0; i < nent && unfinished == nullptr; ++i)
            if (list[i] != nullptr && list[i]->aio_lio_opcode != LIO_NOP &&
                stateOf(*list[i]) == nexnet::sio::kAioInProgress)
                unfinished = list[i];
        if (unfinished == nullptr) break;
        if (auto socket = Sockets::instance().byHandle(requestOf(*unfinished).socket)) socket->progress(true);
    }
    bool succeeded = waited->wait();
    if (refused) return fail(EAGAIN, "lio_listio: not every request could be queued");
    return succeeded ? 0 : fail(EIO, "lio_listio: at least one request failed (aio_error says which)");
}

int ev_send(int s, const void* buf, size_t len, int flags, ec_t ec, void* data) {
    return submitEv(s, AioOp::send, ec, data, flags, const_cast<void*>(buf), len, nullptr, nullptr, 0, nullptr);
}

int ev_sendto(int s, const void* buf, size_t len, int flags, const struct sockaddr* to, socklen_t tolen, ec_t ec,
              void* data) {
    return submitEv(s, AioOp::sendto, ec, data, flags, const_cast<void*>(buf), len, nullptr, to, tolen, nullptr);
}

int ev_sendmsg(int s, const struct msghdr* msg, int flags, ec_t ec, void* data) {
    return submitEv(s, AioOp::sendmsg, ec, data, flags, nullptr, 0, const_cast<msghdr*>(msg), nullptr, 0, nullptr);
}

int ev_recv(int s, void* buf, size_t len, int flags, ec_t ec, void* data) {
    return submitEv(s, AioOp::recv, ec, data, flags, buf, len, nullptr, nullptr, 0, nullptr);
}

int ev_recvfrom(int s, void* buf, size_t len, int flags, struct sockaddr* from, socklen_t* fromlen, ec_t ec,
                void* data) {
    if (from != nullptr && fromlen == nullptr) return fail(EINVAL, "ev_recvfrom: from without fromlen");
    return submitEv(s, AioOp::recvfrom, ec, data, flags, buf, len, nullptr, from, 0, fromlen);
}

int ev_recvmsg(int s, struct msghdr* msg, int flags, ec_t ec, void* data) {
    return submitEv(s, AioOp::recvmsg, ec, data, flags, nullptr, 0, msg, nullptr, 0, nullptr);
}

}  // extern "C"
