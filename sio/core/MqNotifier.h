#pragma once
/// @file MqNotifier.h
/// @brief MqNotifier: mq_notify registrations of one event channel, through the kernel's
/// netlink notification (no thread).

#include "netbuf/Result.h"

#include <cstdint>
#include <memory>
#include <mqueue.h>
#include <mutex>
#include <vector>

namespace nexnet::sio {

class Channel;

/// The message-queue registrations that report to one channel.
///
/// mq_notify(2)'s SIGEV_THREAD form is really a kernel mechanism: the kernel takes a netlink
/// socket (sigev_signo) and a 32-byte cookie (sigev_value.sival_ptr), and when a message
/// arrives on the empty queue it sends the cookie, its last byte set to 1 (woken), on that
/// socket; removal of the registration sends it with 2 (glibc builds its notification thread
/// on this, mq_notify.c). Here the socket is watched by the channel like any other source, and
/// the cookie carries the registration's number.
class MqNotifier {
public:
    /// A notifier with its netlink socket. Errors: socket(2)'s errno.
    static Result<std::unique_ptr<MqNotifier>> create();
    /// Removes every registration still in place, closes the socket.
    ~MqNotifier();
    MqNotifier(const MqNotifier&) = delete;
    MqNotifier& operator=(const MqNotifier&) = delete;

    /// The netlink socket (the channel watches it).
    int fd() const { return fd_; }
    /// Registers @p queue: its next message on an empty queue becomes an event with @p data.
    /// @return 0, or mq_notify(2)'s errno (EBUSY: the queue has a registration already).
    int add(mqd_t queue, void* data);
    /// Forgets the registration of @p queue (after mq_notify(queue, NULL) removed it).
    void forget(mqd_t queue);
    /// Posts an event for every notification the kernel sent. Never blocks.
    void deliver(Channel& channel);

private:
    struct Registration {
        mqd_t queue;
        void* data;
        std::uint64_t id;
    };
    explicit MqNotifier(int fd) : fd_(fd) {}

    int fd_;
    std::mutex mutex_;
    std::vector<Registration> registrations_;
    std::uint64_t nextId_ = 1;
};

}  // namespace nexnet::sio
