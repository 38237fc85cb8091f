#include "framework/IONetwork.h"

#include <cerrno>

namespace nexnet {

namespace {
constexpr unsigned kMinMtu = 68;  // RFC 791: every IPv4 host must take 68-byte datagrams
constexpr unsigned kBurst = 32;
const QueueStatistics kNoStatistics{};
}  // namespace

IONetwork::~IONetwork() = default;

Netbuf* IONetwork::allocateNetbuf() { return pool_ ? pool_->allocate() : nullptr; }

int IONetwork::finishInitialization() { return 0; }

int IONetwork::outputPacket(Netbuf* packet, const void* address) {
    (void)address;
    if (packet != nullptr) packet->free();
    incrementOutputErrors();
    return EOPNOTSUPP;
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

unsigned IONetwork::queueCount() const { return 1; }

int IONetwork::interruptEventFd(unsigned queue) const {
    (void)queue;
    return -1;
}

int IONetwork::setInterruptsEnabled(unsigned queue, bool enabled) {
    (void)queue;
    (void)enabled;
    return EOPNOTSUPP;
}

void IONetwork::interruptOccurred(unsigned queue) {
    Netbuf* burst[kBurst];
    for (;;) {
        unsigned n = receiveBurst(queue, burst, kBurst);
        if (n == 0) break;
        handleInputBurst(queue, burst, n);
        if (n < kBurst) break;
    }
}

void IONetwork::setLinkStatus(LinkStatus status) {
    if (status == link_) return;
    link_ = status;
    if (sink_ != nullptr) sink_->linkChanged(*this, status == LinkStatus::up);
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
    if (sink_ != nullptr) {
        sink_->inputBurst(*this, queue, packets, count);
        return;
    }
    NetbufPool::freeToOwners(packets, count);
    rxStats_[queue % kMaxQueues].drops += count;
    inputDrops_ += count;
}

void IONetwork::countReceived(unsigned queue, Netbuf* const* packets, unsigned count) {
    QueueStatistics& stats = rxStats_[queue % kMaxQueues];
    std::uint64_t bytes = 0;
    for (unsigned i = 0; i < count; ++i) bytes += packets[i]->size();
    stats.packets += count;
    stats.bytes += bytes;
    inputPackets_ += count;
}

void IONetwork::countTransmitted(unsigned queue, Netbuf* const* packets, unsigned count) {
    QueueStatistics& stats = txStats_[queue % kMaxQueues];
    std::uint64_t bytes = 0;
    for (unsigned i = 0; i < count; ++i) bytes += packets[i]->size();
    stats.packets += count;
    stats.bytes += bytes;
    outputPackets_ += count;
}

const QueueStatistics& IONetwork::receiveStatistics(unsigned queue) const {
    return queue < kMaxQueues ? rxStats_[queue] : kNoStatistics;
}

const QueueStatistics& IONetwork::transmitStatistics(unsigned queue) const {
    return queue < kMaxQueues ? txStats_[queue] : kNoStatistics;
}

}  // namespace nexnet
