// TapDriver when things go wrong under it: the interface deleted (queueDied) and created again
// (reattach), and the pool running dry (starve, retryStarved). A queue's own thread finds its
// faults (queueDied, starve); control (the watchdog) takes the interface again. Each queue's interrupt descriptor is
// an epoll set holding its tap descriptor and a retry timer, so that the driver can take the tap
// descriptor out (deleted, starved) and put one back without the event loop noticing a change.
#include "drivers/tap/TapDriver.h"

#include <algorithm>
#include <cerrno>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace nexnet {

namespace {
constexpr auto kStarvedRetry = std::chrono::milliseconds(1);  // a dry pool is looked at again after this
}  // namespace

// What is readable while the queue's frames wait: the tap descriptor, or with rx=uring the ring's
// completion descriptor (its read empties the tap descriptor).
int TapDriver::watchedFd(const Queue& queue) { return queue.rxRing ? queue.rxRing->completionFd() : queue.fd; }

// Puts watchedFd() in the queue's epoll set: interruptEventFd() is readable when it is.
int TapDriver::watch(Queue& queue) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = watchedFd(queue);
    return epoll_ctl(queue.interrupt, EPOLL_CTL_ADD, event.data.fd, &event) == 0 ? 0 : errno;
}

int TapDriver::reattach() {
    auto isDead = [](const Queue& q) { return q.dead.load(std::memory_order_relaxed); };
    if (std::none_of(queues().begin(), queues().end(), isDead)) return 0;
    // Only an interface someone made again: TUNSETIFF on a name that does not exist would create
    // it, undoing what its administrator did.
    if (if_nametoindex(name_.c_str()) == 0) return ENODEV;
    {
        // Each queue's descriptor changes under its thread: close the gate, so that no burst runs
        // meanwhile (the threads see the new descriptors when it opens: QueueGate::open releases).
        QueueGate::Control control(queueGate());
        std::string actual = name_;
        for (Queue& queue : queues()) {
            if (!isDead(queue)) continue;
            int fd = openQueue(name_, queueCount_ > 1, actual);
            int error = fd < 0 ? -fd : 0;
            // rx=uring: the old ring's read ended with its interface; a new one reads the new descriptor.
            std::unique_ptr<TapReceiveRing> ring;
            if (error == 0 && queue.rxRing) {
                ring = std::make_unique<TapReceiveRing>();
                error = ring->setUp(fd, *pool(), receiveRingLimit(), kVnetHeaderSize);
            }
            if (error == 0) {
                int silent = queue.fd;  // the eventfd queueDied put in the tap's place
                std::unique_ptr<TapReceiveRing> old = std::move(queue.rxRing);
                queue.fd = fd;
                queue.rxRing = std::move(ring);
                error = watch(queue);
                if (error == 0) {
                    if (silent >= 0) close(silent);
                } else {
                    ring = std::move(queue.rxRing);
                    queue.rxRing = std::move(old);
                    queue.fd = silent;
                }
            }
            if (error != 0) {
                ring.reset();  // before the descriptor it reads
                if (fd >= 0) close(fd);
                setFaultDescription("interface " + name_ + " is back but cannot be taken: " + explainOpenError(error));
                return error;
            }
            queue.dead.store(false, std::memory_order_relaxed);
            if (queue.rxRing && isRunning()) queue.rxRing->start(*pool(), receiveRingLimit());
        }
        kernelEnd_.setTapFd(queues_[0].fd);
    }
    // The new interface starts as a new one: give it the carrier and the MTU the wire had.
    kernelEnd_.setCarrier(isRunning());
    unsigned kernelMtu = 0;
    if (kernelEnd_.mtu(kernelMtu) == 0 && kernelMtu != mtu()) kernelEnd_.setMtu(mtu());
    setFaultDescription("");
    refreshLinkStatus();
    return 0;
}

// On the queue's own thread: only this queue's descriptor changes. The kernel end's ioctls, which
// may be using it, move to a live queue on the control thread (moveKernelEndToLiveQueue).
void TapDriver::queueDied(Queue& queue) {
    // The interface was deleted: the descriptor is detached and reports an error to poll()
    // forever, which would spin any event loop watching it. Take it out of the queue's epoll set,
    // so interruptEventFd() stays quiet until reattach() puts a new one in, and put a silent
    // eventfd in its place (dup2 closes the tap file): the number stays valid for whoever holds it
    // (the kernel end), and never wakes anyone.
    epoll_ctl(queue.interrupt, EPOLL_CTL_DEL, watchedFd(queue), nullptr);
    int silent = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (silent >= 0) {
        dup2(silent, queue.fd);
        close(silent);
    }
    setRetryTimer(queue, false);  // a pending retry would make interruptEventFd() readable forever
    queue.starved = false;
    queue.dead.store(true, std::memory_order_relaxed);
    setFaultDescription("interface " + name_ + " was deleted; waiting for it to come back");
    setLinkStatus(LinkStatus::down);  // the kernel end moves to a live queue in refreshLinkStatus
}

// The pool ran dry. The tap descriptor stays readable while frames wait, which would make an event
// loop watching interruptEventFd() spin until netbufs come back. So stop watching it and look
// again every kStarvedRetry instead, from the retry timer in the same epoll set: a NIC whose
// receive ring is empty raises no interrupt either, and NAPI polls it again later.
void TapDriver::starve(Queue& queue) {
    if (queue.starved) return;
    epoll_event event{};
    event.data.fd = queue.fd;
    epoll_ctl(queue.interrupt, EPOLL_CTL_MOD, queue.fd, &event);  // no events: the fd stays, quiet
    queue.starved = true;
    setRetryTimer(queue, true);
}

// While starved: true when the retry is due and netbufs came back, the descriptor then watched
// again. Until it is due nothing is tried, so a poll loop pays no system call per turn.
bool TapDriver::retryStarved(Queue& queue) {
    if (std::chrono::steady_clock::now() < queue.retryAt) return false;
    std::uint64_t expirations = 0;
    if (read(queue.retry, &expirations, sizeof expirations) < 0) {
        // EAGAIN: a poll loop came first; the timer is re-armed or disarmed below either way.
    }
    fillSpares(queue);
    if (queue.spareCount == 0) {
        setRetryTimer(queue, true);
        return false;
    }
    setRetryTimer(queue, false);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = queue.fd;
    epoll_ctl(queue.interrupt, EPOLL_CTL_MOD, queue.fd, &event);
    queue.starved = false;
    return true;
}

void TapDriver::setRetryTimer(Queue& queue, bool armed) {
    itimerspec when{};
    if (armed) {
        when.it_value.tv_nsec = std::chrono::nanoseconds(kStarvedRetry).count();
        queue.retryAt = std::chrono::steady_clock::now() + kStarvedRetry;
    }
    timerfd_settime(queue.retry, 0, &when, nullptr);
}

}  // namespace nexnet
