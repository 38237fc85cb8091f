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
    Netbuf* burst[kMaxBurst];
    unsigned n = receive(queue, burst, max < kMaxBurst ? max : kMaxBurst);
    if (n != 0) deliverInput(queue, burst, n);
    return n;
}

void IONetwork::report(QueueEvent event, unsigned queue, std::uint64_t count) {
    if (queue >= kMaxQueues) queue = 0;  // never lose a count: charge it to queue 0
    QueueCounters& counters = counters_[queue];
    switch (event) {
    case QueueEvent::receiveError: counters.addReceiveErrors(count); break;
    case QueueEvent::receiveDrop: counters.addReceiveDrops(count); break;
    case QueueEvent::transmitError: counters.addTransmitErrors(count); break;
    case QueueEvent::transmitDrop: counters.addTransmitDrops(count); break;
    case QueueEvent::collision: counters.addCollisions(count); break;
    }
}

void IONetwork::report(QueueEvent event, unsigned queue, const Netbuf& packet) {
    if (queue >= kMaxQueues) queue = 0;
    report(event, queue, 1);
    if (event == QueueEvent::transmitError || event == QueueEvent::transmitDrop)
        counters_[queue].countFailedTransmit(packet.size());
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
    if (eventLoop() != nullptr) eventLoop()->post([this, queue] { interruptOccurred(queue); });
}

void IONetwork::transmitRoomAvailable(unsigned queue) {
    if (client_ != nullptr) client_->outputRoomAvailable(*this, queue);
}

void IONetwork::setLinkStatus(LinkStatus status) {
    if (status == link_) return;
    link_ = status;
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
    return queue < kMaxQueues ? counters_[queue].receive() : QueueStatistics{};
}

QueueStatistics IONetwork::transmitStatistics(unsigned queue) const {
    return queue < kMaxQueues ? counters_[queue].transmit() : QueueStatistics{};
}

QueueStatistics IONetwork::receiveTotals() const {
    QueueStatistics total;
    for (const QueueCounters& counters : counters_) total += counters.receive();
    return total;
}

QueueStatistics IONetwork::transmitTotals() const {
    QueueStatistics total;
    for (const QueueCounters& counters : counters_) total += counters.transmit();
    return total;
}

std::uint64_t IONetwork::collisions() const {
    std::uint64_t total = 0;
    for (const QueueCounters& counters : counters_) total += counters.collisions();
    return total;
}

}  // namespace nexnet
