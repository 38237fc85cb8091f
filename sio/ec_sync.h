#pragma once
/// @file ec_sync.h
/// @brief More event channel users (Drepper, section 7, Figure 6): mq_notify with SIGEV_EC,
/// sem_await, pthread_mutex_alock. One loop can then wait for sockets, message queues,
/// semaphores and mutexes alike: "finally one unified inner loop".
///
/// How each is done, and what runs where:
/// - **Message queues** have a kernel mechanism: mq_notify's SIGEV_THREAD form (the one glibc
///   builds its own on) sends a cookie to a netlink socket when a message arrives on an empty
///   queue. The channel owns that netlink socket, watches it with its other descriptors, and
///   turns cookies into #event_type_msq events. No thread.
/// - **Semaphores and mutexes** have none: futexes are a protocol between user-space code and
///   a kernel wait queue, and the kernel does not know it (as the paper says). A call first
///   tries to take the object at once (sem_trywait, pthread_mutex_trylock): then the event is
///   posted before the call returns. Otherwise one **helper thread** per process (started on
///   first use) waits for all of them together with futex_waitv(2) (Linux 5.16), sleeping in
///   the kernel until one is released, never polling, and takes it following glibc's own
///   protocol (nptl's sem_waitcommon.c and lowlevellock.c), so sem_post and
///   pthread_mutex_unlock wake it as they would wake a thread blocked in sem_wait or
///   pthread_mutex_lock. At most 127 such waits are pending at once (futex_waitv's limit, one
///   place kept for waking the helper).
///
/// Registrations end when they fire, or with the channel: ec_destroy cancels the channel's
/// pending waits and notifications (they are subscriptions, not I/O in progress).

#include "sio/aio.h"
#include "sio/ec.h"

#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/// mq_notify extended with SIGEV_EC: when a message arrives on message queue @p mqdes while
/// it is empty, one #event_type_msq event goes to @p notification->sigev_ec with ev_un.ev_msq
/// @p mqdes and ev_data `sigev_value.sival_ptr`, and the registration ends (register again
/// after reading, as with POSIX mq_notify). @p notification NULL removes the registration.
/// SIGEV_NONE registers without notification, as POSIX's.
/// @return 0, or -1 with errno: mq_notify(3)'s (EBADF, EBUSY: another registration exists),
/// EINVAL (sigev_notify other than SIGEV_EC/SIGEV_NONE, or no such channel).
int sio_mq_notify(mqd_t mqdes, const struct sio_sigevent* notification);

/// Takes semaphore @p sem for the caller asynchronously: an #event_type_sem event on @p ec
/// (ev_un.ev_sem @p sem, ev_data @p data) says it was taken (ev_errno 0: it is not necessary to
/// call sem_wait again), or not: ev_errno ETIMEDOUT when @p abstime (CLOCK_REALTIME, may be
/// NULL) passed first, ECANCELED when the channel went away.
/// @return 0, or -1 with errno: EINVAL (@p sem NULL, no such channel, @p abstime invalid),
/// EAGAIN (127 waits pending), ENOTSUP (the kernel has no futex_waitv).
/// Correction to the paper: `sem_t *sem` (the paper's `sem_t semdes` would copy the semaphore).
int sem_await(sem_t* sem, const struct timespec* abstime, ec_t ec, void* data);

/// Locks @p mutex for the caller asynchronously: an #event_type_mutex event on @p ec
/// (ev_un.ev_mutex @p mutex, ev_data @p data) says the mutex is now held on the caller's
/// behalf; the caller (or any thread it hands the duty to) unlocks it with
/// pthread_mutex_unlock. Only normal and adaptive mutexes: an error-checking, recursive,
/// robust or priority mutex ties ownership to the thread that locked it, which a lock taken
/// on another thread's behalf cannot honour.
/// @return 0, or -1 with errno: EINVAL (@p mutex NULL, no such channel, a mutex type other
/// than normal or adaptive), EAGAIN (127 waits pending), ENOTSUP (no futex_waitv).
int pthread_mutex_alock(pthread_mutex_t* mutex, ec_t ec, void* data);

#ifdef __cplusplus
}  // extern "C"

/// mq_notify with nexnet's sigevent (the paper's spelling, in C++).
inline int mq_notify(mqd_t mqdes, const sio_sigevent* notification) { return sio_mq_notify(mqdes, notification); }
#elif !defined(NEXNET_SIO_NO_GENERIC_NAMES)
// The paper's spelling in C: glibc's mq_notify for a struct sigevent, nexnet's otherwise.
#define mq_notify(mqdes, notification) \
    _Generic((notification), struct sigevent*: mq_notify, const struct sigevent*: mq_notify,             \
             default: sio_mq_notify)(mqdes, notification)
#endif
