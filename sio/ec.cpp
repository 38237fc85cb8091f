// The event channel C API over Channel (see ec.h).
#include "sio/ec.h"

#include "sio/core/Failure.h"
#include "sio/core/FutexWaiter.h"
#include "sio/core/Runtime.h"

#include <cerrno>

using nexnet::sio::Channel;
using nexnet::sio::fail;
using nexnet::sio::Runtime;

extern "C" {

ec_t ec_create(unsigned flags) { return ec_create_sized(flags, EC_DEFAULT_CAPACITY); }

ec_t ec_create_sized(unsigned flags, unsigned capacity) {
    auto channel = Channel::create(flags, capacity);
    if (!channel) {
        if (channel.error() == EINVAL)
            fail(EINVAL, "ec_create: flags 0x%x or capacity %u not valid (flags: EC_NONBLOCK; capacity 1-65536)", flags,
                 capacity);
        else nexnet::sio::failSystem(channel.error(), "ec_create");
        return nullptr;
    }
    Channel* raw = channel->get();
    std::uintptr_t handle = Runtime::instance().channels().insert(std::move(channel.value()));
    if (handle == 0) {
        fail(EMFILE, "ec_create: 4096 event channels exist already");
        return nullptr;
    }
    raw->setHandle(handle);
    return reinterpret_cast<ec_t>(handle);
}

int ec_destroy(ec_t ec) {
    auto& channels = Runtime::instance().channels();
    {
        auto channel = channels.acquire(Runtime::handleOf(ec));
        if (!channel) return fail(EBADF, "ec_destroy: no such event channel");
        if (long pending = channel->pending(); pending > 0)
            return fail(EBUSY, "ec_destroy: %ld requests still report to this channel", pending);
    }
    int error = channels.destroy(Runtime::handleOf(ec), [](Channel& channel) {
        channel.shutDown();
        // Its sem_await / pthread_mutex_alock waits end with it (the mq_notify ones with its
        // notifier, in its destructor).
        nexnet::sio::FutexWaiter::instance().forget(channel);
    });
    return error == 0 ? 0 : fail(error, "ec_destroy: no such event channel");
}

int ec_to_fd(ec_t ec) {
    auto channel = Runtime::instance().channels().acquire(Runtime::handleOf(ec));
    if (!channel) return fail(EBADF, "ec_to_fd: no such event channel");
    return channel->fd();
}

int ec_post(ec_t ec, const event_data_t* d) {
    if (d == nullptr || d->ev_type == event_type_overflow)
        return fail(EINVAL, "ec_post: d is NULL or an overflow event (the channel posts those itself)");
    auto channel = Runtime::instance().channels().acquire(Runtime::handleOf(ec));
    if (!channel) return fail(EBADF, "ec_post: no such event channel");
    // From another thread as far as the channel knows: its descriptor becomes readable.
    if (!channel->post(*d, true)) return fail(EOVERFLOW, "ec_post: the channel is full: the event is lost (ec_lost)");
    return 0;
}

int ec_next_event(ec_t ec, event_data_t* d) {
    if (d == nullptr) return fail(EINVAL, "ec_next_event: d is NULL");
    auto channel = Runtime::instance().channels().acquire(Runtime::handleOf(ec));
    if (!channel) return fail(EBADF, "ec_next_event: no such event channel");
    int n = channel->take(d, 1, channel->nonBlocking() ? 0 : -1);
    if (n < 0)
        return fail(
            -n, n == -EINTR ? "ec_next_event: interrupted by a signal" : "ec_next_event: the channel was destroyed");
    if (n == 0) return fail(EAGAIN, "ec_next_event: no event ready (EC_NONBLOCK)");
    return 0;
}

int ec_next_events(ec_t ec, event_data_t* d, int max, int timeout_ms) {
    if (d == nullptr || max <= 0) return fail(EINVAL, "ec_next_events: d is NULL or max %d is not positive", max);
    auto channel = Runtime::instance().channels().acquire(Runtime::handleOf(ec));
    if (!channel) return fail(EBADF, "ec_next_events: no such event channel");
    int n = channel->take(d, max, timeout_ms < 0 ? -1 : timeout_ms);
    if (n < 0)
        return fail(
            -n, n == -EINTR ? "ec_next_events: interrupted by a signal" : "ec_next_events: the channel was destroyed");
    return n;
}

int ec_lost(ec_t ec, event_data_t* d, int max) {
    if (d == nullptr || max <= 0) return fail(EINVAL, "ec_lost: d is NULL or max %d is not positive", max);
    auto channel = Runtime::instance().channels().acquire(Runtime::handleOf(ec));
    if (!channel) return fail(EBADF, "ec_lost: no such event channel");
    return channel->lost(d, max);
}

}  // extern "C"
