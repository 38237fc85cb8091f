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

}  // namespace

NetworkInterface::NetworkInterface(std::unique_ptr<IONetwork> driver, unsigned outputQueueLimit)
    : driver_(std::move(driver)), outputQueueLimit_(outputQueueLimit) {
    driver_->setInputSink(this);
}

NetworkInterface::~NetworkInterface() {
    detach();
    outputQueue_.freeAll();
    driver_->setInputSink(nullptr);
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
    if (error == 0 && !wasUp && (flags() & IFF_UP) != 0) error = driver_->finishInitialization();
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
    std::uint64_t bytes = 0;
    unsigned kept = 0;
    for (unsigned i = 0; i < count; ++i) {
        Netbuf* nb = netbufs[i];
        if (nb->size() < kMinFrame) {  // a runt cannot even be classified
            nb->free();
            rx_.errors++;
            continue;
        }
        bytes += nb->size();
        netbufs[kept++] = nb;
    }
    rx_.packets += kept;
    rx_.bytes += bytes;
    for (auto& [priority, consumer] : consumers_) consumer->consumeInput(*this, queue, netbufs, kept);
    dropUntaken(netbufs, kept);
}

void NetworkInterface::dropUntaken(Netbuf** packets, unsigned count) {
    InputConsumer::takeRemaining(packets, count, [this](Netbuf** burst, unsigned n) {
        NetbufPool::freeToOwners(burst, n);
        rx_.drops += n;
    });
}

void NetworkInterface::injectInput(unsigned queue, Netbuf** packets, unsigned count, int afterPriority) {
    for (auto& [priority, consumer] : consumers_) {
        if (priority > afterPriority) consumer->consumeInput(*this, queue, packets, count);
    }
    dropUntaken(packets, count);
}

void NetworkInterface::linkChanged(IONetwork&, bool) {}

unsigned NetworkInterface::poll() {
    unsigned received = 0;
    Netbuf* burst[kBurst];
    for (unsigned q = 0; q < driver_->queueCount(); ++q) {
        unsigned n = driver_->receiveBurst(q, burst, kBurst);
        if (n > 0) driver_->handleInputBurst(q, burst, n);
        received += n;
    }
    flushOutput();
    return received;
}

Result<NetworkInterface::Mode> NetworkInterface::attach(EventLoop& loop, Mode mode) {
    using R = Result<Mode>;
    if (loop_ != nullptr) return R::failure(EBUSY);
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
                flushOutput();
            });
            if (error != 0) {
                detach();
                return R::failure(error);
            }
            watchedFds_.push_back(fd);
        }
    } else {
        poller_ = loop.addPoller([this] { return poll() > 0 || outputQueued() > 0; });
    }
    return mode;
}

void NetworkInterface::detach() {
    if (loop_ == nullptr) return;
    for (int fd : watchedFds_) loop_->unwatch(fd);
    watchedFds_.clear();
    if (poller_ != 0) loop_->removePoller(poller_);
    poller_ = 0;
    driver_->attachToEventLoop(nullptr);
    loop_ = nullptr;
}

int NetworkInterface::output(Netbuf* packet) {
    if (!driver_->isRunning()) {
        outputBurst(&packet, 1);  // frees it and counts the drop
        return ENETDOWN;
    }
    return outputBurst(&packet, 1) == 1 ? 0 : ENOBUFS;
}

unsigned NetworkInterface::outputBurst(Netbuf** packets, unsigned count) {
    if (interceptor_ != nullptr && driver_->isRunning()) {
        interceptor_->interceptOutput(*this, packets, count);
        unsigned left = 0;
        for (unsigned i = 0; i < count; ++i) {
            if (packets[i] != nullptr) packets[left++] = packets[i];
        }
        unsigned taken = count - left;
        return sendBurst(packets, left) + taken;
    }
    return sendBurst(packets, count);
}

int NetworkInterface::setOutputInterceptor(OutputInterceptor* interceptor) {
    if (interceptor != nullptr && interceptor_ != nullptr && interceptor_ != interceptor) return EBUSY;
    interceptor_ = interceptor;
    return 0;
}

unsigned NetworkInterface::sendBurst(Netbuf** packets, unsigned count) {
    if (count == 0) return 0;
    if (!driver_->isRunning()) {
        NetbufPool::freeToOwners(packets, count);
        tx_.drops += count;
        return 0;
    }
    for (OutputObserver* observer : outputObservers_) observer->observeOutput(*this, packets, count);
    unsigned sent = 0;
    if (outputQueue_.empty()) {
        std::uint64_t bytes = 0;
        for (unsigned i = 0; i < count; ++i) bytes += packets[i]->size();
        sent = driver_->transmitBurst(0, packets, count);
        if (sent == count) {
            tx_.packets += sent;
            tx_.bytes += bytes;
            return sent;
        }
        for (unsigned i = sent; i < count; ++i) bytes -= packets[i]->size();
        tx_.packets += sent;
        tx_.bytes += bytes;
    }
    unsigned accepted = sent;
    for (unsigned i = sent; i < count; ++i) {
        if (outputQueue_.count() < outputQueueLimit_) {
            outputQueue_.enqueue(packets[i]);
            ++accepted;
        } else {
            packets[i]->free();
            tx_.drops++;
        }
    }
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
    std::uint32_t bytes = packet != nullptr ? packet->size() : 0;
    int error = driver_->outputPacket(packet, address);
    if (error == 0) {
        tx_.packets++;
        tx_.bytes += std::max<std::uint32_t>(bytes, 60);
    } else {
        tx_.errors++;
    }
    return error;
}

unsigned NetworkInterface::flushOutput() {
    unsigned total = 0;
    Netbuf* burst[kBurst];
    while (!outputQueue_.empty()) {
        unsigned n = outputQueue_.dequeueBurst(burst, kBurst);
        std::uint64_t bytes = 0;
        for (unsigned i = 0; i < n; ++i) bytes += burst[i]->size();
        unsigned sent = driver_->transmitBurst(0, burst, n);
        for (unsigned i = sent; i < n; ++i) bytes -= burst[i]->size();
        tx_.packets += sent;
        tx_.bytes += bytes;
        total += sent;
        if (sent < n) {
            // What the driver refused goes back to the head, in order.
            for (unsigned i = n; i > sent; --i) outputQueue_.pushFront(burst[i - 1]);
            break;
        }
    }
    return total;
}

}  // namespace nexnet
