#include "drivers/vfio/VirtioNetDriver.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace nexnet {

using namespace virtio;

namespace {

// Not "kHeaderSize": inside the class that name is IOEthernet::kHeaderSize, the 14-byte Ethernet
// header, which once shifted every frame by two bytes (unseen between two nexnet NICs).
constexpr std::uint32_t kNetHeaderSize = sizeof(NetHeader);
constexpr std::uint8_t HDR_F_NEEDS_CSUM = 1;
constexpr std::uint8_t HDR_F_DATA_VALID = 2;
constexpr std::uint64_t kWanted = F_VERSION_1 | F_ACCESS_PLATFORM | F_MAC | F_STATUS | F_MTU | F_CSUM | F_GUEST_CSUM |
                                  F_HOST_TSO4 | F_HOST_TSO6;

std::size_t pageRound(std::size_t n) { return (n + 4095) & ~std::size_t{4095}; }

// Bytes of one split virtqueue of @p size entries: descriptors, available ring, used ring, each
// page aligned (2.6: alignments 16, 2 and 4 bytes; pages keep it simple).
std::size_t queueBytes(unsigned size) {
    return pageRound(16u * size) + pageRound(6u + 2u * size) + pageRound(6u + 8u * size);
}

}  // namespace

VirtioNetDriver::VirtioNetDriver(std::unique_ptr<PciDevice> device, const Options& options)
    : device_(std::move(device)), options_(options) {}

Result<std::unique_ptr<VirtioNetDriver>> VirtioNetDriver::create(std::unique_ptr<PciDevice> device,
                                                                 std::shared_ptr<NetbufPool> pool,
                                                                 const Options& options, std::string* message) {
    using R = Result<std::unique_ptr<VirtioNetDriver>>;
    auto failure = [&](int error, std::string text) {
        if (message != nullptr) *message = std::move(text);
        return R::failure(error);
    };
    if (!device || !pool) return failure(EINVAL, "virtio-net: no device or no pool");
    if (device->vendorId() != kVendorId || device->deviceId() != kDeviceId)
        return failure(ENODEV, device->address() + " is not a modern virtio-net device (1af4:1041)");
    unsigned size = options.queueSize;
    if (size < 8 || size > 32768 || (size & (size - 1)) != 0)
        return failure(EINVAL, "virtio-net: queue size must be a power of two from 8 to 32768");
    if (pool->headroom() < kNetHeaderSize) return failure(EINVAL, "virtio-net: pool headroom under 12 bytes");
    if (pool->bufferSize() - pool->headroom() < 1514) return failure(EINVAL, "virtio-net: pool data room under 1514");
    if (pool->capacity() < size + 64) return failure(EINVAL, "virtio-net: pool smaller than a queue plus 64 netbufs");

    std::unique_ptr<VirtioNetDriver> d(new VirtioNetDriver(std::move(device), options));
    d->setName(d->device_->address());
    if (int error = d->device_->enableBusMaster(); error != 0) return failure(error, "virtio-net: bus mastering");
    if (int error = d->findCapabilities(message); error != 0) return R::failure(error);
    if (int error = d->negotiate(); error != 0) {
        return failure(error, error == ENOTSUP ? "virtio-net: the device offers no VERSION_1 or no ACCESS_PLATFORM "
                                                 "(QEMU: virtio-net-pci,disable-legacy=on,iommu_platform=on)"
                                               : "virtio-net: the device refused the features");
    }
    d->queueSize_ = size;
    DmaRegion::Options ringOptions;
    ringOptions.name = "nexnet-virtio-rings";
    ringOptions.hugepages = false;
    auto ring = DmaRegion::allocate(2 * queueBytes(size), ringOptions);
    if (!ring) return failure(ring.error(), "virtio-net: cannot allocate virtqueues");
    d->ringMemory_ = std::move(*ring);
    VfioContainer& container = d->device_->container();
    auto iova = container.mapDma(d->ringMemory_.data(), d->ringMemory_.size());
    if (!iova) return failure(iova.error(), container.lastError());
    d->ringIova_ = *iova;
    if (int error = container.mapPool(*pool); error != 0) return failure(error, container.lastError());
    d->setPool(std::move(pool));
    if (options.interrupts) {
        unsigned vectors = d->device_->msixVectorCount();
        if (vectors > 0) d->device_->enableMsix(vectors >= 2 ? 2 : 1);
    }
    std::uint8_t mac[6];
    for (unsigned i = 0; i < 6; ++i) mac[i] = d->deviceConfig_[CONFIG_MAC + i];
    EthernetAddress address = EthernetAddress::fromBytes(mac);
    if ((d->features_ & F_MAC) == 0 || address.isZero()) address = EthernetAddress::randomLocal();
    if (int error = d->attachToNetworkWithAddress(address); error != 0)
        return failure(error, "virtio-net: the device reports a multicast MAC address");
    return d;
}

VirtioNetDriver::~VirtioNetDriver() {
    if (common_ != nullptr) {
        setStatus(0);  // reset: the device stops using the queues before they are unmapped
        for (int i = 0; i < 100 && status() != 0; ++i) usleep(1000);
    }
    releaseQueues();
    clearTimeout();
    VfioContainer& container = device_->container();
    if (pool() != nullptr) container.unmapPool(*pool());
    if (ringIova_ != 0) container.unmapDma(ringIova_);
    foreignPools_.unmapAll(container);
}

int VirtioNetDriver::findCapabilities(std::string* message) {
    // Walk the vendor capabilities (4.1.4) and map the BARs they point into.
    for (const PciCapability& c : device_->capabilities()) {
        if (c.id != kCapabilityId) continue;
        std::uint8_t type = device_->configRead8(c.offset + CAP_CFG_TYPE);
        std::uint8_t bar = device_->configRead8(c.offset + CAP_BAR);
        std::uint32_t offset = device_->configRead32(c.offset + CAP_OFFSET);
        if (bar > 5 || (type != CAP_COMMON_CFG && type != CAP_NOTIFY_CFG && type != CAP_DEVICE_CFG)) continue;
        if (!bars_[bar].isMapped()) {
            auto mapped = device_->mapBar(bar);
            if (!mapped) continue;
            bars_[bar] = std::move(*mapped);
        }
        volatile std::uint8_t* at = bars_[bar].data() + offset;
        if (type == CAP_COMMON_CFG) common_ = at;
        if (type == CAP_DEVICE_CFG) deviceConfig_ = at;
        if (type == CAP_NOTIFY_CFG) {
            notifyBase_ = at;
            notifyMultiplier_ = device_->configRead32(c.offset + CAP_NOTIFY_MULTIPLIER);
        }
    }
    if (common_ != nullptr && deviceConfig_ != nullptr && notifyBase_ != nullptr) return 0;
    if (message != nullptr) *message = "virtio-net: common, notify or device capability missing or not mappable";
    return ENODEV;
}

int VirtioNetDriver::negotiate() {
    // Initialisation (3.1.1): reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, check it stuck.
    setStatus(0);
    for (int i = 0; i < 100 && status() != 0; ++i) usleep(1000);
    setStatus(STATUS_ACKNOWLEDGE);
    setStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    commonWrite32(DEVICE_FEATURE_SELECT, 0);
    std::uint64_t offered = commonRead32(DEVICE_FEATURE);
    commonWrite32(DEVICE_FEATURE_SELECT, 1);
    offered |= static_cast<std::uint64_t>(commonRead32(DEVICE_FEATURE)) << 32;
    deviceFeatures_ = offered;
    if ((offered & F_VERSION_1) == 0 || (offered & F_ACCESS_PLATFORM) == 0) {
        setStatus(STATUS_FAILED);
        return ENOTSUP;
    }
    features_ = offered & kWanted;
    if ((offered & F_MQ) != 0)
        offeredPairs_ = *reinterpret_cast<volatile std::uint16_t*>(deviceConfig_ + CONFIG_MAX_QUEUE_PAIRS);
    commonWrite32(DRIVER_FEATURE_SELECT, 0);
    commonWrite32(DRIVER_FEATURE, static_cast<std::uint32_t>(features_));
    commonWrite32(DRIVER_FEATURE_SELECT, 1);
    commonWrite32(DRIVER_FEATURE, static_cast<std::uint32_t>(features_ >> 32));
    setStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if ((status() & STATUS_FEATURES_OK) == 0) {
        setStatus(STATUS_FAILED);
        return EIO;
    }
    return 0;
}

int VirtioNetDriver::setUpQueue(unsigned index, Queue& q, std::uint16_t vector) {
    commonWrite16(QUEUE_SELECT, static_cast<std::uint16_t>(index));
    std::uint16_t maxSize = commonRead16(QUEUE_SIZE);
    if (maxSize == 0 || maxSize < queueSize_) return EIO;
    commonWrite16(QUEUE_SIZE, static_cast<std::uint16_t>(queueSize_));
    std::size_t base = index * queueBytes(queueSize_);
    std::size_t availAt = base + pageRound(16u * queueSize_);
    std::size_t usedAt = availAt + pageRound(6u + 2u * queueSize_);
    std::memset(ringMemory_.data() + base, 0, queueBytes(queueSize_));
    q.descriptors = reinterpret_cast<volatile Descriptor*>(ringMemory_.data() + base);
    q.avail = reinterpret_cast<volatile std::uint16_t*>(ringMemory_.data() + availAt);
    q.usedHeader = reinterpret_cast<volatile std::uint16_t*>(ringMemory_.data() + usedAt);
    q.used = reinterpret_cast<volatile UsedElement*>(ringMemory_.data() + usedAt + 4);
    q.iova = ringIova_ + base;
    q.availIndex = q.lastUsed = 0;
    q.netbufs.assign(queueSize_, nullptr);
    // 64-bit fields as two 32-bit writes (QEMU accepts only 32-bit accesses there).
    auto write64 = [this](unsigned offset, std::uint64_t value) {
        commonWrite32(offset, static_cast<std::uint32_t>(value));
        commonWrite32(offset + 4, static_cast<std::uint32_t>(value >> 32));
    };
    write64(QUEUE_DESC, q.iova);
    write64(QUEUE_DRIVER, ringIova_ + availAt);
    write64(QUEUE_DEVICE, ringIova_ + usedAt);
    commonWrite16(QUEUE_MSIX_VECTOR, vector);
    q.notify = reinterpret_cast<volatile std::uint16_t*>(notifyBase_ + commonRead16(QUEUE_NOTIFY_OFF) * notifyMultiplier_);
    q.avail[0] = AVAIL_F_NO_INTERRUPT;
    commonWrite16(QUEUE_ENABLE, 1);
    return 0;
}

int VirtioNetDriver::resetAndEnable(bool enable) {
    releaseQueues();
    if (int error = negotiate(); error != 0) return error;
    if (!enable) {
        setStatus(0);
        setRunning(false);
        setLinkStatus(LinkStatus::down);
        return 0;
    }
    bool msix = hasInterrupts();
    commonWrite16(MSIX_CONFIG, msix && device_->msixEventFd(1) >= 0 ? 1 : NO_VECTOR);
    if (setUpQueue(0, rx_, msix ? 0 : NO_VECTOR) != 0 || setUpQueue(1, tx_, NO_VECTOR) != 0) {
        setStatus(STATUS_FAILED);
        return EIO;
    }
    // Fill the receive queue: descriptor i always holds rx_.netbufs[i]; the header goes in the
    // 12 bytes in front of the netbuf's data.
    if (pool()->allocateBulk(rx_.netbufs.data(), queueSize_) != 0) return ENOBUFS;
    std::uint32_t room = pool()->bufferSize() - pool()->headroom() + kNetHeaderSize;
    for (unsigned i = 0; i < queueSize_; ++i) {
        rx_.descriptors[i].address = rx_.netbufs[i]->ioAddress() - kNetHeaderSize;
        rx_.descriptors[i].length = room;
        rx_.descriptors[i].flags = DESC_F_WRITE;
        rx_.avail[2 + i] = static_cast<std::uint16_t>(i);
    }
    rx_.availIndex = static_cast<std::uint16_t>(queueSize_);
    rx_.avail[0] = interruptsEnabled_ ? 0 : AVAIL_F_NO_INTERRUPT;
    tx_.freeIds.clear();
    for (unsigned i = queueSize_; i-- > 0;) tx_.freeIds.push_back(static_cast<std::uint16_t>(i));
    std::atomic_thread_fence(std::memory_order_release);
    rx_.avail[1] = rx_.availIndex;
    setStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    *rx_.notify = 0;
    setRunning(true);
    updateLinkStatus();
    return 0;
}

void VirtioNetDriver::releaseQueues() {
    for (Queue* q : {&rx_, &tx_}) {
        for (Netbuf*& nb : q->netbufs) {
            if (nb != nullptr) nb->free();
            nb = nullptr;
        }
    }
}

unsigned VirtioNetDriver::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    if (queue != 0 || !isRunning()) return 0;
    const std::uint16_t usedIndex = rx_.usedHeader[1];
    std::atomic_thread_fence(std::memory_order_acquire);  // used elements after the index
    const unsigned mask = queueSize_ - 1;
    std::uint32_t room = pool()->bufferSize() - pool()->headroom() + kNetHeaderSize;
    unsigned n = 0, refilled = 0;
    QueueStatistics& stats = receiveStatisticsFor(0);
    while (n < max && rx_.lastUsed != usedIndex) {
        volatile UsedElement& e = rx_.used[rx_.lastUsed & mask];
        std::uint32_t id = e.id, length = e.length;
        rx_.lastUsed++;
        if (id >= queueSize_) {  // a device bug: never trust an index blindly
            stats.errors++;
            continue;
        }
        Netbuf* received = rx_.netbufs[id];
        Netbuf* fresh = pool()->allocate();
        if (fresh == nullptr) {
            stats.drops++;
            fresh = received;
            fresh->reset(pool()->headroom());
        } else if (length < kNetHeaderSize + 14 || received->setSize(length - kNetHeaderSize) != 0) {
            stats.errors++;
            incrementInputErrors();
            received->free();
        } else {
            const auto* header = reinterpret_cast<const NetHeader*>(received->data() - kNetHeaderSize);
            received->offload() = NetbufOffload{};
            if ((features_ & F_GUEST_CSUM) != 0) received->offload().flags = header->flags & HDR_F_DATA_VALID;
            out[n++] = received;
        }
        rx_.netbufs[id] = fresh;
        rx_.descriptors[id].address = fresh->ioAddress() - kNetHeaderSize;
        rx_.descriptors[id].length = room;
        rx_.avail[2 + (rx_.availIndex & mask)] = static_cast<std::uint16_t>(id);
        rx_.availIndex++;
        refilled++;
    }
    if (refilled != 0) {
        std::atomic_thread_fence(std::memory_order_release);  // ring entries before the index
        rx_.avail[1] = rx_.availIndex;
        std::atomic_thread_fence(std::memory_order_seq_cst);   // index before reading the flags
        if ((rx_.usedHeader[0] & USED_F_NO_NOTIFY) == 0) *rx_.notify = 0;
    }
    return n;
}

void VirtioNetDriver::cleanTransmitQueue() {
    const std::uint16_t usedIndex = tx_.usedHeader[1];
    std::atomic_thread_fence(std::memory_order_acquire);
    Netbuf* done[64];
    unsigned count = 0;
    while (tx_.lastUsed != usedIndex) {
        std::uint32_t id = tx_.used[tx_.lastUsed & (queueSize_ - 1)].id;
        tx_.lastUsed++;
        if (id >= queueSize_ || tx_.netbufs[id] == nullptr) continue;
        done[count++] = tx_.netbufs[id];
        tx_.netbufs[id] = nullptr;
        tx_.freeIds.push_back(static_cast<std::uint16_t>(id));
        if (count == 64) {
            NetbufPool::freeToOwners(done, count);
            count = 0;
        }
    }
    if (count != 0) NetbufPool::freeToOwners(done, count);
}

unsigned VirtioNetDriver::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    if (queue != 0 || !isRunning()) return 0;
    cleanTransmitQueue();
    const unsigned mask = queueSize_ - 1;
    unsigned accepted = 0;
    QueueStatistics& stats = transmitStatisticsFor(0);
    while (accepted < count && !tx_.freeIds.empty()) {
        Netbuf* nb = packets[accepted++];
        std::uint32_t frameBytes = nb->size();
        if (!foreignPools_.reachable(nb, pool(), device_->container()) || frameBytes == 0 || nb->growTop(kNetHeaderSize) != 0) {
            stats.errors++;
            incrementOutputErrors();
            nb->free();
            continue;
        }
        NetHeader header{};
        const NetbufOffload& offload = nb->offload();
        if ((features_ & F_CSUM) != 0 && (offload.flags & HDR_F_NEEDS_CSUM) != 0) {
            header.flags = HDR_F_NEEDS_CSUM;
            header.csumStart = offload.csumStart;
            header.csumOffset = offload.csumOffset;
        }
        if ((features_ & (F_HOST_TSO4 | F_HOST_TSO6)) != 0 && offload.gsoType != 0) {
            header.gsoType = offload.gsoType;
            header.gsoSize = offload.gsoSize;
            header.headerLength = offload.csumStart;  // a hint; devices recompute it
        }
        std::memcpy(nb->data(), &header, sizeof header);
        std::uint16_t id = tx_.freeIds.back();
        tx_.freeIds.pop_back();
        tx_.netbufs[id] = nb;
        tx_.descriptors[id].address = nb->ioAddress();
        tx_.descriptors[id].length = nb->size();
        tx_.descriptors[id].flags = 0;
        tx_.avail[2 + (tx_.availIndex & mask)] = id;
        tx_.availIndex++;
        stats.packets++;
        stats.bytes += frameBytes;
    }
    if (accepted != 0) {
        incrementOutputPackets(accepted);
        std::atomic_thread_fence(std::memory_order_release);
        tx_.avail[1] = tx_.availIndex;
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if ((tx_.usedHeader[0] & USED_F_NO_NOTIFY) == 0) *tx_.notify = 1;
    }
    return accepted;
}

int VirtioNetDriver::interruptEventFd(unsigned queue) const {
    return queue == 0 ? device_->msixEventFd(0) : -1;
}

int VirtioNetDriver::setInterruptsEnabled(unsigned queue, bool enabled) {
    if (queue != 0 || !hasInterrupts()) return EOPNOTSUPP;
    interruptsEnabled_ = enabled;
    if (rx_.avail != nullptr) rx_.avail[0] = enabled ? 0 : AVAIL_F_NO_INTERRUPT;
    return 0;
}

void VirtioNetDriver::interruptOccurred(unsigned queue) {
    std::uint64_t count;
    if (::read(device_->msixEventFd(0), &count, sizeof count) < 0 && errno != EAGAIN) return;
    int configFd = device_->msixEventFd(1);
    if (configFd >= 0 && ::read(configFd, &count, sizeof count) == sizeof count) updateLinkStatus();
    IOEthernet::interruptOccurred(queue);
}

void VirtioNetDriver::timeoutOccurred() {
    if (isRunning()) updateLinkStatus();
}

LinkStatus VirtioNetDriver::updateLinkStatus() {
    LinkStatus link = LinkStatus::up;
    if ((features_ & F_STATUS) != 0) {
        std::uint16_t s = *reinterpret_cast<volatile std::uint16_t*>(deviceConfig_ + CONFIG_STATUS);
        link = (s & NET_S_LINK_UP) != 0 ? LinkStatus::up : LinkStatus::down;
    }
    setLinkStatus(link);
    return link;
}

}  // namespace nexnet
