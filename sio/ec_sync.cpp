// Event channel users of section 7 (see ec_sync.h).
#include "sio/ec_sync.h"

#include "sio/core/Failure.h"
#include "sio/core/FutexWaiter.h"
#include "sio/core/MqNotifier.h"
#include "sio/core/Runtime.h"

#include <cerrno>
#include <sys/syscall.h>
#include <unistd.h>

using nexnet::sio::Channel;
using nexnet::sio::fail;
using nexnet::sio::FutexWaiter;
using nexnet::sio::Runtime;

extern "C" {

int sio_mq_notify(mqd_t mqdes, const struct sio_sigevent* notification) {
    if (notification == nullptr || notification->sigev_notify == SIGEV_NONE) {
        struct sigevent none {};
        none.sigev_notify = SIGEV_NONE;
        if (syscall(SYS_mq_notify, mqdes, notification == nullptr ? nullptr : &none) != 0)
            return nexnet::sio::failSystem(errno, "mq_notify");
        if (notification == nullptr) {
            Runtime::instance().channels().forEach([&](Channel& channel) {
                if (auto* notifier = channel.existingMqNotifier()) notifier->forget(mqdes);
            });
        }
        return 0;
    }
    if (notification->sigev_notify != SIGEV_EC)
        return fail(EINVAL, "mq_notify: sigev_notify %d: only SIGEV_EC and SIGEV_NONE", notification->sigev_notify);
    auto channel = Runtime::instance().channels().acquire(Runtime::handleOf(notification->sigev_ec));
    if (!channel) return fail(EINVAL, "mq_notify: sigev_ec is no event channel");
    nexnet::sio::MqNotifier* notifier = channel->mqNotifier();
    if (notifier == nullptr) return nexnet::sio::failSystem(errno, "mq_notify: netlink socket");
    int error = notifier->add(mqdes, notification->sigev_value.sival_ptr);
    if (error == EBUSY) return fail(EBUSY, "mq_notify: the queue has a registration already (one per queue)");
    return error == 0 ? 0 : nexnet::sio::failSystem(error, "mq_notify");
}

int sem_await(sem_t* sem, const struct timespec* abstime, ec_t ec, void* data) {
    if (sem == nullptr) return fail(EINVAL, "sem_await: sem is NULL");
    if (abstime != nullptr && (abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000))
        return fail(EINVAL, "sem_await: abstime has %ld nanoseconds", abstime->tv_nsec);
    auto channel = Runtime::instance().channels().acquire(Runtime::handleOf(ec));
    if (!channel) return fail(EINVAL, "sem_await: no such event channel");
    int error = FutexWaiter::instance().awaitSemaphore(sem, abstime, *channel, data);
    if (error == EAGAIN) return fail(EAGAIN, "sem_await: 127 semaphore and mutex waits are pending already");
    if (error == ENOTSUP) return fail(ENOTSUP, "sem_await: this kernel has no futex_waitv (Linux 5.16)");
    return error == 0 ? 0 : fail(error, "sem_await failed");
}

int pthread_mutex_alock(pthread_mutex_t* mutex, ec_t ec, void* data) {
    if (mutex == nullptr) return fail(EINVAL, "pthread_mutex_alock: mutex is NULL");
    auto channel = Runtime::instance().channels().acquire(Runtime::handleOf(ec));
    if (!channel) return fail(EINVAL, "pthread_mutex_alock: no such event channel");
    int error = FutexWaiter::instance().lockMutex(mutex, *channel, data);
    if (error == EINVAL)
        return fail(EINVAL,
                    "pthread_mutex_alock: only normal and adaptive mutexes (error-checking, recursive, "
                    "robust and priority mutexes belong to the thread that locks them)");
    if (error == EAGAIN) return fail(EAGAIN, "pthread_mutex_alock: 127 semaphore and mutex waits are pending already");
    if (error == ENOTSUP) return fail(ENOTSUP, "pthread_mutex_alock: this kernel has no futex_waitv (Linux 5.16)");
    return error == 0 ? 0 : fail(error, "pthread_mutex_alock failed");
}

}  // extern "C"
