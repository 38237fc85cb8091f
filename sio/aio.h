#pragma once
/// @file aio.h
/// @brief Asynchronous network I/O (Drepper, sections 5 and 6): ev_* (Figure 1), aio_* on
/// sockets (Figure 2) with SIGEV_EC, AIO_DMA_BUF, lio_listio with LIO_DMA_READ and
/// LIO_DMA_WRITE, aio_error, aio_return, aio_cancel.
///
/// A request returns at once; its completion arrives as an event on the event channel it names
/// (ec.h), or is polled with aio_error (SIGEV_NONE):
/// @code
///   struct sio_aiocb cb = {0};
///   cb.aio_fildes = sock;
///   cb.aio_dma_buf = mem;                         // receive into memory associated with sock
///   cb.aio_nbytes = 2048;
///   cb.aio_sigevent.sigev_notify = SIGEV_EC;
///   cb.aio_sigevent.sigev_ec = ec;
///   cb.aio_sigevent.sigev_value.sival_ptr = &my_state;
///   aio_recv(&cb, AIO_DMA_BUF);
///   ...
///   event_data_t e;
///   ec_next_event(ec, &e);                        // e.ev_un.ev_aio == &cb, e.ev_data == &my_state
///   ssize_t n = aio_return(&cb);                  // the data is at cb.aio_buf, n bytes
///   sio_release(mem, (void *)cb.aio_buf, n);
/// @endcode
///
/// **Why nexnet has its own control block.** The paper extends POSIX's `struct aiocb` (with
/// `aio_msg` and `aio_dma_buf`) and `struct sigevent` (with `sigev_ec`). glibc's structures
/// cannot grow: their size and layout are part of glibc's ABI. So nexnet defines
/// struct sio_aiocb and struct sio_sigevent with the paper's field names, and calls taking them.
/// POSIX's aio_error, aio_return, aio_cancel, lio_listio and mq_notify are glibc's symbols;
/// nexnet's are sio_aio_error, sio_aio_return, sio_aio_cancel, sio_lio_listio (and
/// sio_mq_notify in ec_sync.h), and the paper's spellings work too: in C, `aio_error(&cb)`
/// chooses by the argument's type (C11 _Generic: a struct aiocb goes to glibc, anything else to
/// nexnet), in C++ by overloading. (`aio_cancel(fd, NULL)` means nexnet's requests in C and is
/// ambiguous in C++: write sio_aio_cancel there.)
///
/// **Buffers.** Without AIO_DMA_BUF a request uses the caller's buffer (`aio_buf`,
/// `aio_nbytes`; `aio_msg` for the msg forms), which must stay valid until the request
/// completes. With AIO_DMA_BUF (or LIO_DMA_READ / LIO_DMA_WRITE):
/// - a receive lets the implementation choose the buffer in the memory `aio_dma_buf` (which
///   must be associated with the socket): on completion `aio_buf` points at the data (for
///   aio_recvmsg, `aio_msg->msg_iov[0]` too), and the program releases it with sio_release. No
///   copy is made; without AIO_DMA_BUF the data is copied once more, from the receive buffer
///   the kernel filled into `aio_buf`.
/// - a send sends from `aio_buf` (for aio_sendmsg, `aio_msg`'s vectors), which must lie in one
///   buffer of `aio_dma_buf` from sio_reserve or a receive; large ones go zero-copy.
///
/// **Order.** Receives pre-posted on one socket complete in the order they were posted: the
/// first datagram (or the first bytes of a stream) goes to the first request. Sends on a stream
/// socket go out in the order posted.
///
/// **Events.** An aio_* request's event has type #event_type_aio, `ev_un.ev_aio` its control
/// block, `ev_result` and `ev_errno` what aio_return and aio_error will say, `ev_data` its
/// `sigev_value.sival_ptr`. An ev_* request's event has type #event_type_send or
/// #event_type_recv, `ev_un.ev_fd` the socket and `ev_data` the call's `data`.
///
/// Corrections to the paper, keeping names and argument order: the calls return int (0 or -1
/// and errno, as POSIX aio_read does); `ev_t ec` is `ec_t ec`; the recvfrom forms take
/// `struct sockaddr *from, socklen_t *fromlen` (filled on completion, so they must stay valid
/// until then) instead of `to, tolen`; for DMA sends `aio_buf` still says where the data is
/// (`aio_dma_buf` names the memory; a handle alone cannot say which bytes).

#include "sio/dma.h"
#include "sio/ec.h"

#include <aio.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// sigev_notify value: completion is an event on the channel `sigev_ec`.
enum { SIGEV_EC = 8 };

/// aio_recv / aio_send flag: the buffer is DMA memory (`aio_dma_buf`); see above.
enum { AIO_DMA_BUF = 0x00400000 };

/// lio_listio opcodes beyond POSIX's LIO_READ, LIO_WRITE, LIO_NOP: LIO_READ and LIO_WRITE are
/// aio_recv and aio_send with flags 0 here; these are the same with AIO_DMA_BUF.
enum { LIO_DMA_READ = 16, LIO_DMA_WRITE = 17 };

/// The paper's extended struct sigevent: how a request says it finished.
struct sio_sigevent {
    /// SIGEV_EC, or SIGEV_NONE (poll with aio_error). SIGEV_SIGNAL and SIGEV_THREAD are
    /// refused (EINVAL): the paper's point is to need neither. (A zeroed sigevent, SIGEV_SIGNAL
    /// with sigev_signo 0, sends no signal and counts as SIGEV_NONE.)
    int sigev_notify;
    /// Unused (kept so the fields read as in struct sigevent).
    int sigev_signo;
    /// Returned in the event's ev_data (sival_ptr).
    union sigval sigev_value;
    /// The channel that gets the event (SIGEV_EC).
    ec_t sigev_ec;
};

/// The paper's extended struct aiocb for sockets. Zero it, fill the public fields, submit; do
/// not touch it while the request is in progress.
struct sio_aiocb {
    /// The socket.
    int aio_fildes;
    /// lio_listio's operation: LIO_READ, LIO_WRITE, LIO_DMA_READ, LIO_DMA_WRITE, LIO_NOP.
    int aio_lio_opcode;
    /// Must be 0 (socket requests have no priorities here).
    int aio_reqprio;
    /// The data: the caller's buffer; for DMA receives, set on completion.
    volatile void* aio_buf;
    /// Its size (for receives: the most to take).
    size_t aio_nbytes;
    /// How completion is signalled.
    struct sio_sigevent aio_sigevent;
    /// The message for aio_sendmsg / aio_recvmsg (used instead of aio_buf).
    struct msghdr* aio_msg;
    /// The DMA memory of an AIO_DMA_BUF request.
    dma_mem_t aio_dma_buf;
    /// nexnet's bookkeeping (state, result, links): opaque.
    unsigned char aio_private[112] __attribute__((aligned(8)));
};

/// Figure 2: sends aiocbp->aio_buf (aio_nbytes bytes) on aiocbp->aio_fildes, as send(2)
/// with @p flags (MSG_* and AIO_DMA_BUF).
/// @return 0 (queued), or -1 with errno: EINVAL (a field or flag nexnet cannot honour; the
/// control block already in progress), EBADF, ENOTSOCK, EAGAIN (too many requests pending:
/// on the socket, or for the channel).
int aio_send(struct sio_aiocb* aiocbp, int flags);

/// aio_send to @p to (@p tolen bytes; must stay valid until completion), as sendto(2).
int aio_sendto(struct sio_aiocb* aiocbp, int flags, const struct sockaddr* to, socklen_t tolen);

/// aio_send of aiocbp->aio_msg, as sendmsg(2).
int aio_sendmsg(struct sio_aiocb* aiocbp, int flags);

/// Receives at most aiocbp->aio_nbytes bytes, as recv(2); with AIO_DMA_BUF into a buffer the
/// implementation chooses in aiocbp->aio_dma_buf (aio_buf says where, on completion).
int aio_recv(struct sio_aiocb* aiocbp, int flags);

/// aio_recv, also storing the sender's address in @p from (@p *fromlen bytes of room; both
/// must stay valid until completion), as recvfrom(2).
int aio_recvfrom(struct sio_aiocb* aiocbp, int flags, struct sockaddr* from, socklen_t* fromlen);

/// aio_recv into aiocbp->aio_msg, as recvmsg(2) (with AIO_DMA_BUF, msg_iov[0] is set to the
/// data; name and control are filled in either case).
int aio_recvmsg(struct sio_aiocb* aiocbp, int flags);

/// The error status of a request: EINPROGRESS while it runs, then 0 or its errno (ECANCELED
/// once cancelled). For SIGEV_NONE requests this call is what drives them.
/// @return the status, or EINVAL for a control block never submitted (or already returned).
int sio_aio_error(const struct sio_aiocb* aiocbp);

/// The result of a finished request (bytes, or -1 with errno set to its error), once: the
/// control block may be reused after. @return -1 with errno EINVAL for a request not finished
/// (or already returned).
ssize_t sio_aio_return(struct sio_aiocb* aiocbp);

/// Cancels request @p aiocbp on @p fildes, or every request on @p fildes when @p aiocbp is NULL.
/// Receives not yet matched with data and sends not yet started are cancelled (they finish with
/// ECANCELED and their events are sent); others finish normally.
/// @return AIO_CANCELED, AIO_NOTCANCELED, AIO_ALLDONE, or -1 with errno EBADF (or EINVAL:
/// @p aiocbp is not for @p fildes).
int sio_aio_cancel(int fildes, struct sio_aiocb* aiocbp);

/// Submits @p nent requests (entries may be NULL) at once: each entry's aio_lio_opcode says
/// what it is (LIO_READ/LIO_WRITE: aio_recv/aio_send, or aio_recvmsg/aio_sendmsg when aio_msg
/// is set, which is how a datagram's address travels; LIO_DMA_READ/LIO_DMA_WRITE: the same
/// with AIO_DMA_BUF; LIO_NOP: nothing), each completes as its own sigevent says. The list
/// reaches the kernel in one system call per socket (one io_uring_enter, or one sendmmsg). @p mode
/// LIO_WAIT returns when all have finished; LIO_NOWAIT returns at once, and @p sig (may be
/// NULL) is notified when all have finished (SIGEV_EC: one event of type #event_type_aio with
/// ev_un.ev_aio NULL and ev_result the number of requests).
/// @return 0, or -1 with errno: EAGAIN (not all could be queued; aio_error says which were),
/// EINVAL, EIO (LIO_WAIT: at least one request failed), EINTR.
int sio_lio_listio(int mode, struct sio_aiocb* const list[], int nent, struct sio_sigevent* sig);

/// Figure 1: sends like send(2) and reports completion as an #event_type_send event on @p ec
/// carrying @p data. @p buf must stay valid until then.
/// @return 0 (queued), or -1 with errno (as aio_send; EAGAIN: @p ec has as many requests
/// pending as its capacity).
int ev_send(int s, const void* buf, size_t len, int flags, ec_t ec, void* data);

/// ev_send to @p to, as sendto(2).
int ev_sendto(int s, const void* buf, size_t len, int flags, const struct sockaddr* to, socklen_t tolen, ec_t ec,
              void* data);

/// ev_send of @p msg, as sendmsg(2) (@p msg and what it points to must stay valid until
/// completion).
int ev_sendmsg(int s, const struct msghdr* msg, int flags, ec_t ec, void* data);

/// Receives into @p buf like recv(2); completion is an #event_type_recv event on @p ec with
/// ev_result the bytes received.
int ev_recv(int s, void* buf, size_t len, int flags, ec_t ec, void* data);

/// ev_recv storing the sender's address in @p from (@p *fromlen bytes of room), as recvfrom(2).
int ev_recvfrom(int s, void* buf, size_t len, int flags, struct sockaddr* from, socklen_t* fromlen, ec_t ec,
                void* data);

/// ev_recv into @p msg, as recvmsg(2).
int ev_recvmsg(int s, struct msghdr* msg, int flags, ec_t ec, void* data);

#ifdef __cplusplus
}  // extern "C"

// The paper's spellings in C++: overloads beside glibc's.

/// aio_error for nexnet's control block: sio_aio_error.
inline int aio_error(const sio_aiocb* aiocbp) { return sio_aio_error(aiocbp); }
/// aio_return for nexnet's control block: sio_aio_return.
inline ssize_t aio_return(sio_aiocb* aiocbp) { return sio_aio_return(aiocbp); }
/// aio_cancel for nexnet's control block: sio_aio_cancel.
inline int aio_cancel(int fildes, sio_aiocb* aiocbp) { return sio_aio_cancel(fildes, aiocbp); }
/// lio_listio for nexnet's control blocks: sio_lio_listio.
inline int lio_listio(int mode, sio_aiocb* const list[], int nent, sio_sigevent* sig) {
    return sio_lio_listio(mode, list, nent, sig);
}
#elif !defined(NEXNET_SIO_NO_GENERIC_NAMES)
// The paper's spellings in C: glibc's functions for glibc's control blocks, nexnet's otherwise.
// <aio.h> is included above, so glibc's declarations come first and are not renamed.
#define aio_error(cb) \
    _Generic((cb), struct aiocb * : aio_error, const struct aiocb* : aio_error, default : sio_aio_error)(cb)
#define aio_return(cb) _Generic((cb), struct aiocb * : aio_return, default : sio_aio_return)(cb)
#define aio_cancel(fd, cb) _Generic((cb), struct aiocb * : aio_cancel, default : sio_aio_cancel)(fd, cb)
#define lio_listio(mode, list, nent, sig) \
    _Generic((list), struct aiocb* const*: lio_listio, struct aiocb**: lio_listio, default: sio_lio_listio)( \
        mode, list, nent, sig)
#endif
