#include "sio/core/MqNotifier.h"

#include "sio/core/Channel.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nexnet::sio {

namespace {

// ipc/mqueue.c: NOTIFY_COOKIE_LEN bytes, the last one NOTIFY_WOKENUP (1) or NOTIFY_REMOVED (2).
constexpr std::size_t kCookieLength = 32;
constexpr unsigned char kWokenUp = 1;
constexpr char kMagic[8] = {'n', 'x', 's', 'i', 'o', '.', 'm', 'q'};

long rawMqNotify(mqd_t queue, const struct sigevent* event) { return syscall(SYS_mq_notify, queue, event); }

}  // namespace

Result<std::unique_ptr<MqNotifier>> MqNotifier::create() {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0) return Result<std::unique_ptr<MqNotifier>>::failure(errno);
    return std::unique_ptr<MqNotifier>(new MqNotifier(fd));
}

MqNotifier::~MqNotifier() {
    for (const Registration& r : registrations_) rawMqNotify(r.queue, nullptr);  // EBADF if closed: fine
    close(fd_);
}

int MqNotifier::add(mqd_t queue, void* data) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::uint64_t id = nextId_++;
    unsigned char cookie[kCookieLength] = {};
    std::memcpy(cookie, kMagic, sizeof kMagic);
    std::memcpy(cookie + sizeof kMagic, &id, sizeof id);
    struct sigevent event {};
    event.sigev_notify = SIGEV_THREAD;  // the kernel's netlink form (the thread is glibc's)
    event.sigev_signo = fd_;
    event.sigev_value.sival_ptr = cookie;  // copied by the kernel now
    if (rawMqNotify(queue, &event) != 0) return errno;
    registrations_.push_back({queue, data, id});
    return 0;
}

void MqNotifier::forget(mqd_t queue) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::erase_if(registrations_, [&](const Registration& r) { return r.queue == queue; });
}

void MqNotifier::deliver(Channel& channel) {
    unsigned char cookie[kCookieLength];
    for (;;) {
        ssize_t n = recv(fd_, cookie, sizeof cookie, MSG_DONTWAIT);
        if (n < 0) break;
        if (static_cast<std::size_t>(n) < kCookieLength || std::memcmp(cookie, kMagic, sizeof kMagic) != 0) continue;
        std::uint64_t id;
        std::memcpy(&id, cookie + sizeof kMagic, sizeof id);
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto it = registrations_.begin(); it != registrations_.end(); ++it) {
            if (it->id != id) continue;
            if (cookie[kCookieLength - 1] == kWokenUp) {
                event_data_t event{};
                event.ev_type = event_type_msq;
                event.ev_un.ev_msq = it->queue;
                event.ev_data = it->data;
                channel.post(event, false);
            }
            registrations_.erase(it);  // a notification (or a removal) ends the registration
            break;
        }
    }
}

}  // namespace nexnet::sio
