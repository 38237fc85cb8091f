#include "netif/NetworkInterface.h"

#include "framework/EventLoop.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <sys/ioctl.h>

namespace nexnet {

namespace {
constexpr unsigned kMinFrame = 14;  // an Ethernet header
constexpr auto kOutputRetry = std::chrono::milliseconds(1);
}  // namespace

NetworkInterface::NetworkInterface(std::unique_ptr<IONetwork> driver, unsigned outputQueueLimit)
    : driver_(std::move(driver)), outputQueue_(outputQueueLimit) {
    driver_->setClient(this);
}

NetworkInterface::~NetworkInterface() {
    detach();
    outputQueue_.freeAll();
    driver_->setClient(nullptr);
}

int NetworkInterface::performCommand(std::string_view command, void* data) {
    if (command == IFCONTROL_UNIXIOCTL) {
        if (data == nullptr) return EINVAL;
        auto* request = static_cast<if_ioctl_t*>(data);
        bool handled = false;
        int error = performProtocolIoctl(request->ioctl_command, static_cast<ifreq*>(request->ioctl_data), handled);
        if (handled) return error;
    }
    bool wasUp = (flags() & IFF_UP) != 0;
    int error = driver_->performCommand(command, data);
    bool up = (flags() & IFF_UP) != 0;
    if (error == 0 && !wasUp && up) error = driver_->finishInitialization();
    if (wasUp && !up && !outputQueue_.empty()) {
        // Down: what waited for the ring will not go out; as a NIC reset empties its rings.
        driver_->report(QueueEvent::transmitDrop, 0, outputQueue_.count());
        outputQueue_.freeAll();
    }
    return error;
}

int NetworkInterface::ioctl(unsigned long request, ifreq* ifr) {
    if_ioctl_t call{request, ifr};
    return performCommand(IFCONTROL_UNIXIOCTL, &call);
}

int NetworkInterface::performProtocolIoctl(unsigned long request, ifreq* ifr, bool& handled) {
    handled = true;
    switch (request) {
    case SIOCGIFADDR:
    case SIOCGIFNETMASK: {
        if (ifr == nullptr) return EINVAL;
        if (address_.s_addr == INADDR_ANY) return EADDRNOTAVAIL;  // as Linux: no address assigned
        auto* sin = reinterpret_cast<sockaddr_in*>(request == SIOCGIFADDR ? &ifr->ifr_addr : &ifr->ifr_netmask);
        std::memset(sin, 0, sizeof *sin);
        sin->sin_family = AF_INET;
        sin->sin_addr = request == SIOCGIFADDR ? address_ : netmask_;
        return 0;
    }
    case SIOCSIFADDR:
    case SIOCSIFNETMASK: {
        if (ifr == nullptr) return EINVAL;
        const sockaddr* sa = request == SIOCSIFADDR ? &ifr->ifr_addr : &ifr->ifr_netmask;
        if (sa->sa_family != AF_INET) return EINVAL;
        in_addr value = reinterpret_cast<const sockaddr_in*>(sa)->sin_addr;
        return request == SIOCSIFADDR ? setAddress(value, netmask_) : setAddress(address_, value);
    }
    default:
        handled = false;
        return 0;
    }
}

unsigned NetworkInterface::flags() {
    ifreq ifr{};
    if_ioctl_t call{SIOCGIFFLAGS, &ifr};
    if (driver_->performCommand(IFCONTROL_UNIXIOCTL, &call) != 0) return softFlags_;
    return static_cast<unsigned short>(ifr.ifr_flags);
}

int NetworkInterface::setFlags(unsigned newFlags) {
    ifreq ifr{};
    ifr.ifr_flags = static_cast<short>(newFlags);
    int error = performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru);
    if (error == 0) softFlags_ = newFlags;
    return error;
}

int NetworkInterface::setAddress(in_addr address, in_addr netmask) {
    std::uint32_t mask = ntohl(netmask.s_addr);
    if ((mask | (mask - 1)) != 0xffffffffu && mask != 0) return EINVAL;  // ones, then zeros
    address_ = address;
    netmask_ = netmask;
    return 0;
}

void NetworkInterface::addInputConsumer(InputConsumer* consumer, int priority) {
    auto at = std::find_if(consumers_.begin(), consumers_.end(), [priority](auto& c) { return c.first > priority; });
    consumers_.insert(at, {priority, consumer});
}

int NetworkInterface::removeInputConsumer(InputConsumer* consumer) {
    auto it = std::find_if(consumers_.begin(), consumers_.end(), [consumer](auto& c) { return c.second == consumer; });
    if (it == consumers_.end()) return ENOENT;
    consumers_.erase(it);
    return 0;
}

void NetworkInterface::inputBurst(IONetwork&, unsigned queue, Netbuf** netbufs, unsigned count) {
    unsigned kept = 0, runts = 0;
    for (unsigned i = 0; i < count; ++i) {
        Netbuf* nb = netbufs[i];
        if (nb->size() < kMinFrame) [[unlikely]] {  // a runt cannot even be classified
            nb->free();
            ++runts;
            continue;
        }
        netbufs[kept++] = nb;
    }
    if (runts != 0) driver_->report(QueueEvent::receiveError, queue, runts);
    for (auto& [priority, consumer] : consumers_) consumer->consumeInput(*this, queue, netbufs, kept);
    dropUntaken(queue, netbufs, kept);
}

void NetworkInterface::dropUntaken(unsigned queue, Netbuf** packets, unsigned count) {
    InputConsumer::takeRemaining(packets, count, [this, queue](Netbuf** burst, unsigned n) {
        NetbufPool::freeToOwners(burst, n);
        driver_->report(QueueEvent::receiveDrop, queue, n);
    });
}

void NetworkInterface::injectInput(unsigned queue, Netbuf** packets, unsigned count, int afterPriority) {
    for (auto& [priority, consumer] : consumers_) {
        if (priority > afterPriority) consumer->consumeInput(*this, queue, packets, count);
    }
    dropUntaken(queue, packets, count);
}

void NetworkInterface::linkChanged(IONetwork&, bool up) {
    if (linkHandler_) linkHandler_(up);
    if (up) flushOutput();
}

void NetworkInterface::outputRoomAvailable(IONetwork&, unsigned) { flushOutput(); }

unsigned NetworkInterface::poll() {
    unsigned received = 0;
    // Through the driver's client, which is this interface unless a layer sits between them
    // (LowResourceBuffer::insert).
    for (unsigned q = 0; q < driver_->queueCount(); ++q) received += driver_->receiveAndDeliver(q, kBurst);
    flushOutput();
    return received;
}

Result<NetworkInterface::Mode> NetworkInterface::attach(EventLoop& loop, Mode mode) {
    using R = Result<Mode>;
    if (loop_ != nullptr) return R::failure(EBUSY, "the interface already runs on an event loop");
    loop_ = &loop;
    driver_->attachToEventLoop(&loop);
    if (mode == Mode::interrupt) {
        for (unsigned q = 0; q < driver_->queueCount(); ++q) {
            int fd = driver_->interruptEventFd(q);
            if (fd < 0 || driver_->setInterruptsEnabled(q, true) != 0) {
                mode = Mode::poll;  // reported to the caller: never a silent fallback
                break;
            }
        }
    }
    if (mode == Mode::interrupt) {
        for (unsigned q = 0; q < driver_->queueCount(); ++q) {
            int fd = driver_->interruptEventFd(q);
            int error = loop.watchReadable(fd, [this, q] {
                driver_->interruptOccurred(q);
                afterInterrupt();
            });
            if (error != 0) {
                detach();
                return R::failure(error, "cannot watch the interrupt descriptor of queue " + std::to_string(q));
            }
            watchedFds_.push_back(fd);
        }
    } else {
        poller_ = loop.addPoller([this] { return poll() > 0 || outputQueued() > 0; });
    }
    return mode;
}

void NetworkInterface::afterInterrupt() {
    flushOutput();
    // Output still waits and the driver may never say it has room: look again shortly.
    if (outputQueue_.empty() || retryTimer_ != 0 || loop_ == nullptr) return;
    auto timer = loop_->addTimer(kOutputRetry, [this] {
        retryTimer_ = 0;
        afterInterrupt();
    });
    if (timer) retryTimer_ = timer.value();
}

void NetworkInterface::detach() {
    if (loop_ == nullptr) return;
    for (int fd : watchedFds_) loop_->unwatch(fd);
    watchedFds_.clear();
    if (poller_ != 0) loop_->removePoller(poller_);
    poller_ = 0;
    if (retryTimer_ != 0) loop_->cancelTimer(retryTimer_);
    retryTimer_ = 0;
    driver_->attachToEventLoop(nullptr);
    loop_ = nullptr;
}

unsigned NetworkInterface::outputBurst(Netbuf** packets, unsigned count) {
    if (interceptor_ != nullptr && driver_->isRunning()) {
        interceptor_->interceptOutput(*this, packets, count);
        unsigned left = 0;
        for (unsigned i = 0; i < count; ++i) {
            if (packets[i] != nullptr) packets[left++] = packets[i];
        }
        unsigned taken = count - left;
        return outputInterceptedBurst(packets, left) + taken;
    }
    return outputInterceptedBurst(packets, count);
}

int NetworkInterface::setOutputInterceptor(OutputInterceptor* interceptor) {
    if (interceptor != nullptr && interceptor_ != nullptr && interceptor_ != interceptor) return EBUSY;
    interceptor_ = interceptor;
    return 0;
}

unsigned NetworkInterface::outputInterceptedBurst(Netbuf** packets, unsigned count) {
    if (count == 0) return 0;
    if (!driver_->isRunning()) {
        NetbufPool::freeToOwners(packets, count);
        driver_->report(QueueEvent::transmitDrop, 0, count);
        return 0;
    }
    for (OutputObserver* observer : outputObservers_) observer->observeOutput(*this, packets, count);
    // Behind queued output, in order; otherwise straight to the driver.
    unsigned sent = outputQueue_.empty() ? driver_->send(0, packets, count) : 0;
    unsigned accepted = sent, dropped = 0;
    for (unsigned i = sent; i < count; ++i) {
        if (outputQueue_.enqueue(packets[i]) == 0) {
            ++accepted;
        } else {
            packets[i]->free();
            ++dropped;
        }
    }
    if (dropped != 0) driver_->report(QueueEvent::transmitDrop, 0, dropped);
    return accepted;
}

void NetworkInterface::addOutputObserver(OutputObserver* observer) { outputObservers_.push_back(observer); }

int NetworkInterface::removeOutputObserver(OutputObserver* observer) {
    auto it = std::find(outputObservers_.begin(), outputObservers_.end(), observer);
    if (it == outputObservers_.end()) return ENOENT;
    outputObservers_.erase(it);
    return 0;
}

int NetworkInterface::outputPacket(Netbuf* packet, const void* address) {
    return driver_->outputPacket(packet, address);  // counted by the driver's send
}

unsigned NetworkInterface::flushOutput() {
    if (flushing_ || outputQueue_.empty()) return 0;
    flushing_ = true;  // a driver reporting room from inside its send must not re-enter
    unsigned total = 0;
    Netbuf* burst[kBurst];
    while (!outputQueue_.empty() && driver_->isRunning()) {
        unsigned n = outputQueue_.dequeueBurst(burst, kBurst);
        unsigned sent = driver_->send(0, burst, n);
        total += sent;
        if (sent < n) {
            outputQueue_.requeue(burst + sent, n - sent);  // refused: back to the head, in order
            break;
        }
    }
    flushing_ = false;
    return total;
}

}  // namespace nexnet
