// The control-virtqueue half of VirtioNetDriver (virtio 1.2 section 5.1.6.5): the number of queue
// pairs, the receive modes and the MAC filter table. The data path is in VirtioNetDriver.cpp.

#include "drivers/vfio/VirtioNetDriver.h"

#include <atomic>
#include <cerrno>
#include <unistd.h>

namespace nexnet {

using namespace virtio;

namespace {

// The page after the control queue holds one command: what the device reads from offset 0, the
// ack byte it writes at kAckOffset. The largest command, a full MAC table, is 400 bytes.
constexpr std::size_t kCommandPage = 4096;
constexpr std::size_t kAckOffset = 2048;

}  // namespace

std::size_t VirtioNetDriver::controlQueueBytes() const {
    return hasControlQueue() ? queueBytes(kControlQueueSize) + kCommandPage : 0;
}

int VirtioNetDriver::sendCommand(std::uint8_t commandClass, std::uint8_t command, const void* data, std::size_t size) {
    if (!hasControlQueue() || control_.avail == nullptr || 2 + size > kAckOffset) return EIO;
    // The command page comes last in the ring memory: the data queues, the control queue, it.
    const std::size_t offset = 2 * queueCount() * queueBytes(queueSize_) + queueBytes(kControlQueueSize);
    volatile std::uint8_t* bytes = memory_.rings() + offset;
    const std::uint64_t address = memory_.ringAddress(offset);
    bytes[0] = commandClass;
    bytes[1] = command;
    const auto* in = static_cast<const std::uint8_t*>(data);
    for (std::size_t i = 0; i < size; ++i) bytes[2 + i] = in[i];
    bytes[kAckOffset] = 0xff;
    // One chain (5.1.6.5): {class, command, data} for the device to read, one ack byte for it to write.
    Queue& q = control_;
    q.descriptors[0].address = address;
    q.descriptors[0].length = static_cast<std::uint32_t>(2 + size);
    q.descriptors[0].flags = DESC_F_NEXT;
    q.descriptors[0].next = 1;
    q.descriptors[1].address = address + kAckOffset;
    q.descriptors[1].length = 1;
    q.descriptors[1].flags = DESC_F_WRITE;
    q.descriptors[1].next = 0;
    q.avail[2 + (q.availIndex & (kControlQueueSize - 1))] = 0;
    q.availIndex++;
    q.used.posted(0);
    publish(q);
    // QEMU answers within the notifying write; a device may take longer: allow a second.
    for (int i = 0; i < 1000 && q.used.deviceIndex() == q.used.lastUsed(); ++i) usleep(1000);
    const unsigned pending = q.used.ready(q.used.deviceIndex());
    if (pending == 0) return ETIMEDOUT;
    if (pending == VirtqueueUsedRing::kOverrun) return EIO;  // a device fault: idx past the ring
    // 2.7.14: the used element and the ack after the idx that counts them (acquire: a compiler
    // barrier on x86).
    std::atomic_thread_fence(std::memory_order_acquire);
    VirtqueueUsedRing::Element e;
    const bool ours = q.used.next(e) == VirtqueueUsedRing::Verdict::taken && e.id == 0;
    return ours && bytes[kAckOffset] == NET_OK ? 0 : EIO;
}

int VirtioNetDriver::setQueuePairs() {
    // VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (5.1.6.5.6): le16 virtqueue_pairs.
    const std::uint16_t pairs = static_cast<std::uint16_t>(queueCount());
    const std::uint8_t data[2] = {static_cast<std::uint8_t>(pairs), static_cast<std::uint8_t>(pairs >> 8)};
    return sendCommand(CTRL_MQ, CTRL_MQ_VQ_PAIRS_SET, data, sizeof data);
}

int VirtioNetDriver::setReceiveMode(std::uint8_t command, bool enabled) {
    // VIRTIO_NET_CTRL_RX_PROMISC / _ALLMULTI (5.1.6.5.1): one byte, on or off.
    const std::uint8_t on = enabled ? 1 : 0;
    return sendCommand(CTRL_RX, command, &on, 1);
}

int VirtioNetDriver::sendMacTable() {
    // VIRTIO_NET_CTRL_MAC_TABLE_SET (5.1.6.5.2): two struct virtio_net_ctrl_mac, {le32 entries,
    // entries x 6 bytes}: the unicast addresses to accept (ours, whatever the device's config
    // says), then the multicast groups.
    std::uint8_t table[4 + 6 + 4 + 6 * kMaxMulticastAddresses] = {};
    std::size_t at = 0;
    auto count = [&](std::size_t n) {
        for (int i = 0; i < 4; ++i) table[at++] = static_cast<std::uint8_t>(n >> (8 * i));
    };
    auto address = [&](const EthernetAddress& a) {
        for (std::uint8_t b : a.bytes) table[at++] = b;
    };
    count(1);
    address(hardwareAddress());
    const auto& groups = multicastAddresses();
    count(groups.size());
    for (const EthernetAddress& group : groups) address(group);
    return sendCommand(CTRL_MAC, CTRL_MAC_TABLE_SET, table, at);
}

int VirtioNetDriver::sendReceiveFilters() {
    if (!filtersFrames()) return 0;
    if (setReceiveMode(CTRL_RX_PROMISC, isPromiscuous()) != 0 ||
        setReceiveMode(CTRL_RX_ALLMULTI, isAllMulticast()) != 0)
        return EIO;
    return sendMacTable();
}

int VirtioNetDriver::setHardwareAddress(const EthernetAddress& address) {
    const EthernetAddress previous = hardwareAddress();
    if (int error = IOEthernet::setHardwareAddress(address); error != 0) return error;
    if (!filtersFrames() || !isRunning() || sendMacTable() == 0) return 0;
    IOEthernet::setHardwareAddress(previous);
    return EIO;
}

int VirtioNetDriver::setPromiscuousMode(bool enabled) {
    if (filtersFrames() && isRunning() && setReceiveMode(CTRL_RX_PROMISC, enabled) != 0) return EIO;
    return IOEthernet::setPromiscuousMode(enabled);
}

int VirtioNetDriver::setMulticastMode(bool enabled) {
    if (filtersFrames() && isRunning() && setReceiveMode(CTRL_RX_ALLMULTI, enabled) != 0) return EIO;
    return IOEthernet::setMulticastMode(enabled);
}

int VirtioNetDriver::addMulticastAddress(const EthernetAddress& address) {
    if (int error = IOEthernet::addMulticastAddress(address); error != 0) return error;
    if (!filtersFrames() || !isRunning() || sendMacTable() == 0) return 0;
    IOEthernet::removeMulticastAddress(address);
    return EIO;
}

int VirtioNetDriver::removeMulticastAddress(const EthernetAddress& address) {
    if (int error = IOEthernet::removeMulticastAddress(address); error != 0) return error;
    if (!filtersFrames() || !isRunning() || sendMacTable() == 0) return 0;
    IOEthernet::addMulticastAddress(address);
    return EIO;
}

}  // namespace nexnet
