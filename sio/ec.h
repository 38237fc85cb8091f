#pragma once
/// @file ec.h
/// @brief Event channels (Drepper, "The Need for Asynchronous, Zero-Copy Network I/O", section
/// 4): ec_create, ec_destroy, ec_to_fd, ec_next_event, and a batch form, ec_next_events.
///
/// An event channel carries completion events of many requests on many descriptors to one
/// place a program can wait on, with poll/epoll/select through ec_to_fd() or by blocking in
/// ec_next_event(). Requests name the channel they report to (aio_* through
/// `sigev_notify = SIGEV_EC`, ev_* through their `ec` argument, sem_await,
/// pthread_mutex_alock, mq_notify); there is no fixed relation between descriptors and channels.
///
/// **The queue.** A channel queues at most its capacity of events (ec_create: 1024;
/// ec_create_sized: your choice) in memory of the calling process; ec_next_event takes a queued
/// event without a system call, and takes completions waiting in the kernel's completion rings
/// (io_uring mode, see sio_mode()) without one either. When the channel is full:
/// - a receive waits: its data stays in the socket (or in the buffer the kernel already
///   filled) until the channel has room, so a full channel slows receiving, never loses data;
/// - any other completion is *lost as an event*, never as a result: the request keeps its result
///   (aio_error / aio_return answer for it), the channel counts the loss, remembers which
///   request it was (up to the channel's capacity of them; beyond that only the count), and the
///   next ec_next_event returns an event of type #event_type_overflow before anything else:
///   `ev_result` says how many events were lost since the previous overflow event, and
///   ec_lost() lists them.
///
/// **Threads.** Any thread may post requests naming a channel; several threads may wait on one
/// channel at once: one of them waits in the kernel, the others on a condition variable, and an
/// event wakes one waiter, not all.
///
/// Corrections to the paper, kept to its names and argument order:
/// - event_data_t names its enum (event_type_t), and its union members have usable types:
///   the paper's `aio_ctx_t *ev_aio` is the nexnet control block (struct sio_aiocb, see aio.h),
///   `mqd_t *ev_msq` is the queue descriptor itself (a pointer to the caller's variable would
///   dangle), `sigevent_t ev_sig` is the signal number.
/// - The paper writes `ev_t ec` in Figure 1; the type is ec_t throughout.

#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// An event channel (opaque; 0 is never a valid channel). A stale handle (after ec_destroy) is
/// recognised and refused with EBADF.
typedef struct ec_channel* ec_t;

struct sio_aiocb;

/// What an event reports.
typedef enum event_type {
    /// An aio_* request finished (aio.h): `ev_un.ev_aio` is its control block.
    event_type_aio = 0,
    /// A message queue registered with mq_notify and SIGEV_EC has a message: `ev_un.ev_msq`.
    event_type_msq = 1,
    /// The paper's signal events. nexnet posts none (read signals with signalfd); the value is
    /// kept so the paper's three types keep their numbers.
    event_type_sig = 2,
    /// An ev_send / ev_sendto / ev_sendmsg finished: `ev_un.ev_fd` is the socket.
    event_type_send = 3,
    /// An ev_recv / ev_recvfrom / ev_recvmsg finished: `ev_un.ev_fd` is the socket.
    event_type_recv = 4,
    /// sem_await: the semaphore was taken for the caller (or `ev_errno` says why not).
    event_type_sem = 5,
    /// pthread_mutex_alock: the mutex is now held for the caller (or `ev_errno` says why not).
    event_type_mutex = 6,
    /// Events were lost because the channel was full: `ev_result` is how many since the last
    /// overflow event, `ev_errno` is EOVERFLOW; ec_lost() lists them.
    event_type_overflow = 7,
    /// A receive buffer posted to the TCP offload engine completed (toe/TcpEventChannelSink.h):
    /// `ev_un.ev_tcp` is the connection's handle, `ev_data` the buffer, `ev_result` the bytes
    /// placed (also when `ev_errno` says the connection failed after them: not -1 here);
    /// `ev_data` NULL and `ev_result` 0: the peer ended the stream (as recv() returns 0).
    event_type_tcp_recv = 8,
    /// A send buffer posted to the TCP offload engine was acknowledged, or failed: as
    /// event_type_tcp_recv, `ev_result` the bytes the peer acknowledged.
    event_type_tcp_send = 9
} event_type_t;

/// One event: fixed length, so a channel is an array of them.
typedef struct event_data {
    /// What happened.
    event_type_t ev_type;
    /// Which object it happened to (by ev_type).
    union {
        /// event_type_aio: the request's control block.
        struct sio_aiocb* ev_aio;
        /// event_type_msq: the message queue.
        mqd_t ev_msq;
        /// event_type_sig: the signal number.
        int ev_sig;
        /// event_type_send, event_type_recv: the socket.
        int ev_fd;
        /// event_type_sem: the semaphore.
        sem_t* ev_sem;
        /// event_type_mutex: the mutex.
        pthread_mutex_t* ev_mutex;
        /// event_type_tcp_recv, event_type_tcp_send: the TCP offload engine's connection handle.
        uint64_t ev_tcp;
    } ev_un;
    /// Bytes sent or received, 0 for events without a size, -1 when the request failed; for
    /// event_type_overflow, the number of events lost.
    ssize_t ev_result;
    /// 0, or the errno of a failed request (ECANCELED for a cancelled one).
    int ev_errno;
    /// The pointer the request was given (sigev_value.sival_ptr, or the `data` argument).
    void* ev_data;
} event_data_t;

/// ec_create flags.
enum {
    /// ec_next_event fails with EAGAIN instead of waiting when no event is ready.
    EC_NONBLOCK = 1
};

/// Events a channel made by ec_create queues.
enum { EC_DEFAULT_CAPACITY = 1024 };

/// Creates an event channel queueing EC_DEFAULT_CAPACITY events.
/// @return the channel, or 0 with errno set: EINVAL for unknown flags, EMFILE/ENFILE/ENOMEM.
ec_t ec_create(unsigned flags);

/// Creates an event channel queueing @p capacity events (1 to 65536; nexnet extension).
/// @return the channel, or 0 with errno: EINVAL for unknown flags or a capacity out of range.
ec_t ec_create_sized(unsigned flags, unsigned capacity);

/// Destroys @p ec: wakes its waiters (they fail with EBADF), ends the subscriptions that
/// report to it (sem_await, pthread_mutex_alock, mq_notify: no event, nothing taken), closes
/// its descriptor.
/// @return 0, or -1 with errno: EBADF for a channel that does not exist; EBUSY while I/O
/// requests that report to it are pending (cancel them, or wait for them, first).
int ec_destroy(ec_t ec);

/// A descriptor for poll/epoll/select: readable when ec_next_event may have an event (it can
/// still find none: another thread took it). Owned by the channel; do not close it.
/// @return the descriptor, or -1 with errno EBADF.
int ec_to_fd(ec_t ec);

/// Takes the next event into @p d. Waits when none is ready, unless the channel was made with
/// EC_NONBLOCK.
/// @return 0, or -1 with errno: EAGAIN (EC_NONBLOCK, nothing ready), EINTR (a signal arrived
/// while waiting), EBADF (no such channel, or destroyed while waiting), EINVAL (@p d NULL).
int ec_next_event(ec_t ec, event_data_t* d);

/// Takes up to @p max events into @p d (nexnet extension, the batch form). Waits up to
/// @p timeout_ms milliseconds for the first one (0: do not wait, -1: wait as long as it takes).
/// @return the number of events taken (0 after a timeout), or -1 with errno: EINTR, EBADF,
/// EINVAL (@p d NULL or @p max not positive).
int ec_next_events(ec_t ec, event_data_t* d, int max, int timeout_ms);

/// The events lost since the last call, oldest first, as they would have been delivered (up to
/// the channel's capacity of them are remembered). Taking them forgets them.
/// @return how many were written to @p d (at most @p max), or -1 with errno EBADF or EINVAL.
int ec_lost(ec_t ec, event_data_t* d, int max);

/// Queues the event @p d on @p ec as if a request had finished (nexnet extension, as Windows'
/// PostQueuedCompletionStatus or io_uring's IORING_OP_MSG_RING): for a layer or an application
/// that completes work of its own (the TCP offload engine's TcpEventChannelSink) and wants it
/// taken by the same ec_next_events as everything else. Any thread; never blocks.
/// @return 0, or -1 with errno: EBADF (no such channel), EINVAL (@p d NULL, or an overflow event:
/// the channel makes those itself), EOVERFLOW (the channel was full: the event is lost, announced
/// by an overflow event and listed by ec_lost, like any other).
int ec_post(ec_t ec, const event_data_t* d);

#ifdef __cplusplus
}
#endif
