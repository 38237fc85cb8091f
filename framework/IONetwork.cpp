#include "framework/IONetwork.h"

#include "framework/EventLoop.h"

#include <cerrno>

namespace nexnet {

namespace {
constexpr unsigned kMinMtu = 68;  // RFC 791: every IPv4 host must take 68-byte datagrams
}  // namespace

IONetwork::~IONetwork() = default;

Netbuf* IONetwork::allocateNetbuf() { return pool_ ? pool_->allocate() : nullptr; }

int IONetwork::finishInitialization() { return 0; }

int IONetwork::outputPacket(Netbuf* packet, const void* address) {
    (void)address;  // no link header to fill in the base
    if (packet == nullptr) return EINVAL;
    if (!isRunning()) {
        packet->free();
        report(QueueEvent::transmitDrop, 0);
        return ENETDOWN;
    }
    if (send(0, &packet, 1) == 1) return 0;
    packet->free();
    report(QueueEvent::transmitDrop, 0);
    return ENOBUFS;
}

int IONetwork::performCommand(std::string_view command, void* data) {
    (void)command;
    (void)data;
    return EINVAL;
}

unsigned IONetwork::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    (void)queue;
    (void)out;
    (void)max;
    return 0;
}

unsigned IONetwork::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    (void)queue;
    (void)packets;
    (void)count;
    return 0;
}

unsigned IONetwork::receiveAndDeliver(unsigned queue, unsigned max) {
    if (queue >= kMaxQueues) return 0;
    QueueGate::Pass pass(gate_, queue);  // held while the client handles the burst too
    if (!pass) return 0;
    Netbuf* burst[kMaxBurst];
    unsigned n = receive(queue, burst, max < kMaxBurst ? max : kMaxBurst);
    if (n != 0) deliverInput(queue, burst, n);
    return n;
}

void IONetwork::report(QueueEvent event, unsigned queue, std::uint64_t count) {
    if (queue >= kMaxQueues) queue = 0;  // never lose a count: charge it to queue 0
    if (!gate_.isHeldByThisThread(queue)) [[unlikely]] {
        reportUnowned(event, queue, count);
        return;
    }
    QueueCounters& counters = counters_[queue];
    switch (event) {
    case QueueEvent::receiveError:
        counters.addReceiveErrors(count);
        break;
    case QueueEvent::receiveDrop:
        counters.addReceiveDrops(count);
        break;
    case QueueEvent::transmitError:
        counters.addTransmitErrors(count);
        break;
    case QueueEvent::transmitDrop:
        counters.addTransmitDrops(count);
        break;
    case QueueEvent::collision:
        counters.addCollisions(count);
        break;
    }
}

void IONetwork::reportUnowned(QueueEvent event, unsigned queue, std::uint64_t count) {
    UnownedEvents& events = unowned_[queue];
    switch (event) {
    case QueueEvent::receiveError:
        events.receiveErrors.fetch_add(count, std::memory_order_relaxed);
        break;
    case QueueEvent::receiveDrop:
        events.receiveDrops.fetch_add(count, std::memory_order_relaxed);
        break;
    case QueueEvent::transmitError:
        events.transmitErrors.fetch_add(count, std::memory_order_relaxed);
        break;
    case QueueEvent::transmitDrop:
        events.transmitDrops.fetch_add(count, std::memory_order_relaxed);
        break;
    case QueueEvent::collision:
        events.collisions.fetch_add(count, std::memory_order_relaxed);
        break;
    }
}

void IONetwork::report(QueueEvent event, unsigned queue, const Netbuf& packet) {
    if (queue >= kMaxQueues) queue = 0;
    report(event, queue, 1);
    // Taken off what send() counts as sent: only the holder of the queue writes those counters.
    if (event != QueueEvent::transmitError && event != QueueEvent::transmitDrop) return;
    if (gate_.isHeldByThisThread(queue)) [[likely]] {
        counters_[queue].countFailedTransmit(packet.size());
        return;
    }
    unowned_[queue].failedPackets.fetch_add(1, std::memory_order_relaxed);
    unowned_[queue].failedBytes.fetch_add(packet.size(), std::memory_order_relaxed);
}

unsigned IONetwork::cacheQueueCount() const {
    unsigned queues = queueCount();
    if (queues == 0 || queues > kMaxQueues) queues = 1;
    queues_.store(queues, std::memory_order_relaxed);  // the same value, whoever stores it
    return queues;
}

unsigned IONetwork::queueCount() const { return 1; }

int IONetwork::interruptEventFd(unsigned queue) const {
    (void)queue;
    return -1;
}

int IONetwork::setInterruptsEnabled(unsigned queue, bool enabled) {
    (void)enabled;
    if (queue >= queueCount()) return EINVAL;
    return interruptEventFd(queue) >= 0 ? 0 : EOPNOTSUPP;
}

void IONetwork::interruptOccurred(unsigned queue) {
    Netbuf* burst[kBurst];
    for (unsigned bursts = 0; bursts < kInterruptBudget; ++bursts) {
        unsigned n = receive(queue, burst, kBurst);
        if (n == 0) return;  // empty: the descriptor is quiet until the next frame
        deliverInput(queue, burst, n);
    }
    // Budget spent with frames still coming: let the loop's other work run, then carry on, even
    // when the descriptor is edge-triggered and will not fire again by itself.
    // Posted to the queue's own loop, whose thread holds the queue again when it runs the call.
    if (EventLoop* loop = queueEventLoop(queue)) loop->post([this, queue] { serviceInterrupt(queue); });
}

void IONetwork::transmitRoomAvailable(unsigned queue) {
    if (client_ != nullptr) client_->outputRoomAvailable(*this, queue);
}

void IONetwork::setLinkStatus(LinkStatus status) {
    if (link_.load(std::memory_order_relaxed) == status) return;              // the common case: no change, no write
    if (link_.exchange(status, std::memory_order_relaxed) == status) return;  // another thread told it
    if (client_ != nullptr) client_->linkChanged(*this, status == LinkStatus::up);
}

unsigned IONetwork::maxMtu() const { return 1500; }

int IONetwork::setMtu(unsigned mtu) {
    if (mtu < kMinMtu || mtu > maxMtu()) return EINVAL;
    mtu_ = mtu;
    return 0;
}

void IONetwork::handleInputPacket(Netbuf* packet, void* extra) {
    (void)extra;
    handleInputBurst(0, &packet, 1);
}

void IONetwork::handleInputBurst(unsigned queue, Netbuf** packets, unsigned count) {
    if (count == 0) return;
    if (queue >= kMaxQueues) queue = 0;
    QueueGate::Pass pass(gate_, queue);
    if (!pass) {  // a control call holds the driver (it is going down): as a reset ring would
        NetbufPool::freeToOwners(packets, count);
        report(QueueEvent::receiveDrop, queue, count);
        return;
    }
    counters_[queue].countReceived(packets, count);
    deliverInput(queue, packets, count);
}

void IONetwork::deliverInput(unsigned queue, Netbuf** packets, unsigned count) {
    if (client_ != nullptr) {
        client_->inputBurst(*this, queue, packets, count);
        return;
    }
    NetbufPool::freeToOwners(packets, count);
    report(QueueEvent::receiveDrop, queue, count);
}

QueueStatistics IONetwork::receiveStatistics(unsigned queue) const {
    if (queue >= kMaxQueues) return {};
    QueueStatistics statistics = counters_[queue].receive();
    statistics.errors += unowned_[queue].receiveErrors.load(std::memory_order_relaxed);
    statistics.drops += unowned_[queue].receiveDrops.load(std::memory_order_relaxed);
    return statistics;
}

QueueStatistics IONetwork::transmitStatistics(unsigned queue) const {
    if (queue >= kMaxQueues) return {};
    const UnownedEvents& unowned = unowned_[queue];
    QueueStatistics statistics = counters_[queue].transmit();
    statistics.errors += unowned.transmitErrors.load(std::memory_order_relaxed);
    statistics.drops += unowned.transmitDrops.load(std::memory_order_relaxed);
    // Sent, then reported failed by another thread: clamped, as QueueCounters does.
    std::uint64_t failed = unowned.failedPackets.load(std::memory_order_relaxed);
    std::uint64_t failedBytes = unowned.failedBytes.load(std::memory_order_relaxed);
    statistics.packets = statistics.packets > failed ? statistics.packets - failed : 0;
    statistics.bytes = statistics.bytes > failedBytes ? statistics.bytes - failedBytes : 0;
    return statistics;
}

QueueStatistics IONetwork::receiveTotals() const {
    QueueStatistics total;
    for (unsigned q = 0; q < kMaxQueues; ++q) total += receiveStatistics(q);
    return total;
}

QueueStatistics IONetwork::transmitTotals() const {
    QueueStatistics total;
    for (unsigned q = 0; q < kMaxQueues; ++q) total += transmitStatistics(q);
    return total;
}

std::uint64_t IONetwork::collisions() const {
    std::uint64_t total = 0;
    for (unsigned q = 0; q < kMaxQueues; ++q)
        total += counters_[q].collisions() + unowned_[q].collisions.load(std::memory_order_relaxed);
    return total;
}

}  // namespace nexnet
