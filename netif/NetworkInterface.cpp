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

namespace {
// The queue whose burst this thread handles (see currentQueue()): one per thread, whatever the
// interface, since queue q of every interface a worker runs is the same q.
thread_local unsigned tCurrentQueue = 0;

// Sets tCurrentQueue for a scope and restores it after (a consumer's output may reach another
// interface's input, on the same thread).
class CurrentQueue {
public:
    explicit CurrentQueue(unsigned queue) : saved_(tCurrentQueue) { tCurrentQueue = queue; }
    ~CurrentQueue() { tCurrentQueue = saved_; }
    CurrentQueue(const CurrentQueue&) = delete;
    CurrentQueue& operator=(const CurrentQueue&) = delete;

private:
    unsigned saved_;
};
}  // namespace

NetworkInterface::NetworkInterface(std::unique_ptr<IONetwork> driver, unsigned outputQueueLimit)
    : driver_(std::move(driver)) {
    unsigned queues = std::clamp(driver_->queueCount(), 1u, IONetwork::kMaxQueues);
    for (unsigned q = 0; q < queues; ++q) transmitQueues_.push_back(std::make_unique<OutputQueue>(outputQueueLimit));
    driver_->setClient(this);
}

NetworkInterface::~NetworkInterface() {
    detach();
    transmitQueues_.clear();  // frees what is still queued
    driver_->setClient(nullptr);
}

unsigned NetworkInterface::currentQueue() { return tCurrentQueue; }

int NetworkInterface::performCommand(std::string_view command, void* data) {
    QueueGate::Control control(driver_->queueGate());  // no burst runs meanwhile, on any queue
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
    if (wasUp && !up) dropQueuedOutput();
    return error;
}

void NetworkInterface::dropQueuedOutput() {
    // Down: what waited for the ring will not go out; as a NIC reset empties its rings. Called
    // with the gate closed: no queue thread touches its output queue meanwhile.
    for (unsigned q = 0; q < transmitQueues_.size(); ++q) transmitQueues_[q]->drop(*driver_, q);
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
    QueueGate::Control control(driver_->queueGate());                    // consumers read the address in their bursts
    address_ = address;
    netmask_ = netmask;
    return 0;
}

void NetworkInterface::addInputConsumer(InputConsumer* consumer, int priority) {
    QueueGate::Control control(driver_->queueGate());
    auto at = std::find_if(consumers_.begin(), consumers_.end(), [priority](auto& c) { return c.first > priority; });
    consumers_.insert(at, {priority, consumer});
}

int NetworkInterface::removeInputConsumer(InputConsumer* consumer) {
    QueueGate::Control control(driver_->queueGate());
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
    CurrentQueue current(queue);  // what the consumers output goes out on the same queue
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
    if (queue >= IONetwork::kMaxQueues) queue = 0;
    QueueGate::Pass pass(driver_->queueGate(), queue);
    if (!pass) {
        NetbufPool::freeToOwners(packets, count);
        driver_->report(QueueEvent::receiveDrop, queue, count);
        return;
    }
    CurrentQueue current(queue);
    for (auto& [priority, consumer] : consumers_) {
        if (priority > afterPriority) consumer->consumeInput(*this, queue, packets, count);
    }
    dropUntaken(queue, packets, count);
}

void NetworkInterface::linkChanged(IONetwork&, bool up) {
    if (linkHandler_) linkHandler_(up);
    if (!up) return;
    // Only queues this thread may use: the others' threads retry on their next turn.
    for (unsigned q = 0; q < transmitQueues_.size(); ++q) {
        if (!multiThreaded_ || driver_->queueGate().isHeldByThisThread(q)) flushOutput(q);
    }
}

void NetworkInterface::outputRoomAvailable(IONetwork&, unsigned queue) { flushOutput(queue); }

unsigned NetworkInterface::poll() {
    unsigned received = 0;
    for (unsigned q = 0; q < transmitQueues_.size(); ++q) received += pollQueue(q);
    return received;
}

unsigned NetworkInterface::pollQueue(unsigned queue) {
    QueueGate::Pass pass(driver_->queueGate(), queue);
    if (!pass) return 0;
    CurrentQueue current(queue);
    // Through the driver's client, which is this interface unless a layer sits between them
    // (LowResourceBuffer::insert).
    unsigned received = driver_->receiveAndDeliver(queue, kBurst);
    flushOutput(queue);
    return received;
}

Result<NetworkInterface::Mode> NetworkInterface::attach(EventLoop& loop, Mode mode) {
    EventLoop* loops[] = {&loop};
    return attach(loops, mode);
}

Result<NetworkInterface::Mode> NetworkInterface::attach(std::span<EventLoop* const> loops, Mode mode) {
    using R = Result<Mode>;
    if (attached_) return R::failure(EBUSY, "the interface already runs on event loops");
    if (loops.empty() || std::find(loops.begin(), loops.end(), nullptr) != loops.end())
        return R::failure(EINVAL, "no event loop to run the interface on");
    const unsigned queues = static_cast<unsigned>(transmitQueues_.size());
    bool several =
        std::any_of(loops.begin(), loops.end(), [&](EventLoop* loop) { return loop != loops[0]; }) && queues > 1;
    if (several && !singleThreadLayers_.empty()) {
        return R::failure(EBUSY,
                          singleThreadLayers_.front() + " runs on one thread with interface " + name() +
                              ": attach it to one event loop, or give the layer an interface of its own");
    }
    attached_ = true;
    multiThreaded_ = several;
    driver_->attachToEventLoop(loops[0]);
    for (unsigned q = 0; q < queues; ++q) {
        transmitQueues_[q]->loop = loops[q % loops.size()];
        driver_->setQueueEventLoop(q, transmitQueues_[q]->loop);
    }
    if (mode == Mode::interrupt) {
        for (unsigned q = 0; q < queues; ++q) {
            if (driver_->interruptEventFd(q) < 0 || driver_->setInterruptsEnabled(q, true) != 0) {
                mode = Mode::poll;  // reported to the caller: never a silent fallback
                break;
            }
        }
    }
    if (mode == Mode::interrupt) {
        for (unsigned q = 0; q < queues; ++q) {
            if (int error = watchInterrupts(q, *transmitQueues_[q]->loop)) {
                detach();
                return R::failure(error, "cannot watch the interrupt descriptor of queue " + std::to_string(q));
            }
        }
        return mode;
    }
    // Poll mode: one poller per loop, over the queues that loop runs.
    for (EventLoop* loop : loops) {
        if (std::any_of(pollers_.begin(), pollers_.end(), [loop](const LoopPoller& p) { return p.loop == loop; }))
            continue;
        std::vector<unsigned> mine;
        for (unsigned q = 0; q < queues; ++q)
            if (transmitQueues_[q]->loop == loop) mine.push_back(q);
        if (mine.empty()) continue;
        pollers_.push_back({loop, loop->addPoller([this, mine] { return pollQueues(mine); })});
    }
    return mode;
}

Status NetworkInterface::claimSingleThread(std::string_view layer) {
    QueueGate::Control control(driver_->queueGate());
    if (multiThreaded_) {
        return Status(EBUSY,
                      std::string(layer) + " runs on one thread, and interface " + name() +
                          " runs its queues on several: attach the interface to one event loop first");
    }
    singleThreadLayers_.emplace_back(layer);
    return {};
}

void NetworkInterface::releaseSingleThread(std::string_view layer) {
    QueueGate::Control control(driver_->queueGate());
    auto found = std::find(singleThreadLayers_.begin(), singleThreadLayers_.end(), layer);
    if (found != singleThreadLayers_.end()) singleThreadLayers_.erase(found);
}

int NetworkInterface::watchInterrupts(unsigned queue, EventLoop& loop) {
    int fd = driver_->interruptEventFd(queue);
    int error = loop.watchReadable(fd, [this, queue] { serviceInterrupt(queue); });
    if (error == 0) watchedFds_.emplace_back(&loop, fd);
    return error;
}

bool NetworkInterface::pollQueues(const std::vector<unsigned>& queues) {
    bool busy = false;
    for (unsigned q : queues) busy |= pollQueue(q) > 0 || !transmitQueues_[q]->empty();
    return busy;
}

void NetworkInterface::serviceInterrupt(unsigned queue) {
    // Closed by a control call: nothing runs and the descriptor stays readable, so the loop calls
    // again (for as long as the control call lasts).
    QueueGate::Pass pass(driver_->queueGate(), queue);
    if (!pass) return;
    CurrentQueue current(queue);
    driver_->interruptOccurred(queue);
    afterInterrupt(queue);
}

void NetworkInterface::afterInterrupt(unsigned queue) {
    flushOutput(queue);
    // Output still waits and the driver may never say it has room: look again shortly.
    OutputQueue& tq = *transmitQueues_[queue];
    if (tq.empty() || tq.retryTimer != 0 || tq.loop == nullptr) return;
    auto timer = tq.loop->addTimer(kOutputRetry, [this, queue] {
        transmitQueues_[queue]->retryTimer = 0;
        QueueGate::Pass pass(driver_->queueGate(), queue);
        if (pass) afterInterrupt(queue);
    });
    if (timer) tq.retryTimer = timer.value();
}

void NetworkInterface::detach() {
    if (!attached_) return;
    for (auto [loop, fd] : watchedFds_) loop->unwatch(fd);
    watchedFds_.clear();
    for (const LoopPoller& poller : pollers_) poller.loop->removePoller(poller.token);
    pollers_.clear();
    for (unsigned q = 0; q < transmitQueues_.size(); ++q) {
        OutputQueue& tq = *transmitQueues_[q];
        if (tq.retryTimer != 0) tq.loop->cancelTimer(tq.retryTimer);
        tq.retryTimer = 0;
        tq.loop = nullptr;
        driver_->setQueueEventLoop(q, nullptr);
    }
    driver_->attachToEventLoop(nullptr);
    attached_ = false;
    multiThreaded_ = false;
}

unsigned NetworkInterface::outputBurst(unsigned queue, Netbuf** packets, unsigned count) {
    queue = driver_->transmitQueue(queue);
    QueueGate::Pass pass(driver_->queueGate(), queue);  // entered again, for free, further down
    if (interceptor_ != nullptr && pass && driver_->isRunning()) {
        interceptor_->interceptOutput(*this, packets, count);
        unsigned left = 0;
        for (unsigned i = 0; i < count; ++i) {
            if (packets[i] != nullptr) packets[left++] = packets[i];
        }
        unsigned taken = count - left;
        return outputInterceptedBurst(queue, packets, left) + taken;
    }
    return outputInterceptedBurst(queue, packets, count);
}

int NetworkInterface::setOutputInterceptor(OutputInterceptor* interceptor) {
    QueueGate::Control control(driver_->queueGate());
    if (interceptor != nullptr && interceptor_ != nullptr && interceptor_ != interceptor) return EBUSY;
    interceptor_ = interceptor;
    return 0;
}

unsigned NetworkInterface::outputInterceptedBurst(unsigned queue, Netbuf** packets, unsigned count) {
    if (count == 0) return 0;
    queue = driver_->transmitQueue(queue);
    QueueGate::Pass pass(driver_->queueGate(), queue);
    if (!pass || !driver_->isRunning()) {  // down, or going down or up under a control call
        NetbufPool::freeToOwners(packets, count);
        driver_->report(QueueEvent::transmitDrop, queue, count);
        return 0;
    }
    for (OutputObserver* observer : outputObservers_) observer->observeOutput(*this, queue, packets, count);
    return transmitQueues_[queue]->send(*driver_, queue, packets, count);
}

void NetworkInterface::addOutputObserver(OutputObserver* observer) {
    QueueGate::Control control(driver_->queueGate());
    outputObservers_.push_back(observer);
}

int NetworkInterface::removeOutputObserver(OutputObserver* observer) {
    QueueGate::Control control(driver_->queueGate());
    auto it = std::find(outputObservers_.begin(), outputObservers_.end(), observer);
    if (it == outputObservers_.end()) return ENOENT;
    outputObservers_.erase(it);
    return 0;
}

int NetworkInterface::outputPacket(Netbuf* packet, const void* address) {
    return driver_->outputPacket(packet, address);  // counted by the driver's send
}

unsigned NetworkInterface::outputQueued() const {
    unsigned total = 0;
    for (const auto& tq : transmitQueues_) total += tq->count();
    return total;
}

unsigned NetworkInterface::outputQueued(unsigned queue) const {
    return queue < transmitQueues_.size() ? transmitQueues_[queue]->count() : 0;
}

unsigned NetworkInterface::flushOutput() {
    unsigned total = 0;
    for (unsigned q = 0; q < transmitQueues_.size(); ++q) total += flushOutput(q);
    return total;
}

unsigned NetworkInterface::flushOutput(unsigned queue) {
    if (queue >= transmitQueues_.size()) return 0;
    QueueGate::Pass pass(driver_->queueGate(), queue);
    return pass ? transmitQueues_[queue]->flush(*driver_, queue) : 0;
}

}  // namespace nexnet
