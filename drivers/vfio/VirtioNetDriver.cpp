#include "drivers/vfio/VirtioNetDriver.h"

#include <algorithm>
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
constexpr unsigned kRefillBurst = 64;  // most used buffers one receiveBurst takes and replaces
constexpr std::uint8_t HDR_F_NEEDS_CSUM = NetbufOffload::kNeedsChecksum;
constexpr std::uint8_t HDR_F_DATA_VALID = NetbufOffload::kDataValid;
constexpr std::chrono::seconds kLinkWatchdog{1};
constexpr std::uint64_t kWanted = F_VERSION_1 | F_ACCESS_PLATFORM | F_MAC | F_STATUS | F_MTU | F_CSUM | F_GUEST_CSUM |
                                  F_HOST_TSO4 | F_HOST_TSO6;

std::size_t pageRound(std::size_t n) { return (n + 4095) & ~std::size_t{4095}; }

// Bytes of one split virtqueue of @p size entries: descriptors, available ring, used ring, each
// page aligned (2.6: alignments 16, 2 and 4 bytes; pages keep it simple).
std::size_t queueBytes(unsigned size) {
    return pageRound(16u * size) + pageRound(6u + 2u * size) + pageRound(6u + 8u * size);
}

// The control queue carries one command at a time: a few descriptors are plenty.
constexpr unsigned kControlQueueSize = 16;
// In the command page: the device-readable command at 0, the device-written ack at kAckOffset.
constexpr unsigned kAckOffset = 64;

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
    const unsigned pairs = options.queuePairs;
    if (pairs == 0 || pairs > kMaxQueues)
        return failure(EINVAL, "virtio-net: queues must be 1 to " + std::to_string(kMaxQueues));

    std::unique_ptr<VirtioNetDriver> d(new VirtioNetDriver(std::move(device), options));
    d->setName(d->device_->address());
    if (int error = d->device_->enableBusMaster(); error != 0) return failure(error, "virtio-net: bus mastering");
    if (int error = d->findCapabilities(message); error != 0) return R::failure(error);
    if (int error = d->negotiate(); error != 0) {
        return failure(error, error == ENOTSUP ? "virtio-net: the device offers no VERSION_1 or no ACCESS_PLATFORM "
                                                 "(QEMU: virtio-net-pci,disable-legacy=on,iommu_platform=on)"
                                               : "virtio-net: the device refused the features");
    }
    if (int error = d->checkQueuePairs(message); error != 0) return R::failure(error);
    if (pool->capacity() < pairs * size + 64)
        return failure(EINVAL, "virtio-net: pool of " + std::to_string(pool->capacity()) + " netbufs, smaller than " +
                                   std::to_string(pairs) + " receive queues of " + std::to_string(size) +
                                   " plus 64 (pool=N)");
    d->queueSize_ = size;
    d->rx_.resize(pairs);
    d->tx_.resize(pairs);
    DmaRegion::Options ringOptions;
    ringOptions.name = "nexnet-virtio-rings";
    ringOptions.hugepages = false;
    // The data queues, then (with MQ) the control queue and the page its commands live in.
    std::size_t ringBytes = 2 * pairs * queueBytes(size);
    if (d->multiqueue()) ringBytes += queueBytes(kControlQueueSize) + 4096;
    auto ring = DmaRegion::allocate(ringBytes, ringOptions);
    if (!ring) return failure(ring.error(), "virtio-net: cannot allocate virtqueues");
    d->ringMemory_ = std::move(*ring);
    VfioContainer& container = d->device_->container();
    auto iova = container.mapDma(d->ringMemory_.data(), d->ringMemory_.size());
    if (!iova) return failure(iova.error(), container.lastError());
    d->ringIova_ = *iova;
    if (int error = container.mapPool(*pool); error != 0) return failure(error, container.lastError());
    d->setPool(std::move(pool));
    if (options.interrupts) {
        // Receive queue i on vector i and the configuration on vector `pairs` when there are
        // enough; else queue 0 on vector 0, the configuration on 1, the other queues polled.
        unsigned vectors = d->device_->msixVectorCount();
        if (vectors >= pairs + 1 && d->device_->enableMsix(pairs + 1) == 0) {
            for (unsigned i = 0; i < pairs; ++i) d->rx_[i].vector = static_cast<std::uint16_t>(i);
            d->configVector_ = static_cast<std::uint16_t>(pairs);
        } else if (vectors > 0 && d->device_->enableMsix(vectors >= 2 ? 2 : 1) == 0) {
            d->rx_[0].vector = 0;
            if (vectors >= 2) d->configVector_ = 1;
        }
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
    // One pair: MQ and the control queue stay off, the device uses receiveq1/transmitq1 only.
    features_ = offered & (kWanted | (options_.queuePairs > 1 ? F_MQ | F_CTRL_VQ : 0));
    if ((features_ & F_CTRL_VQ) == 0) features_ &= ~F_MQ;  // 5.1.3.1: MQ requires CTRL_VQ
    offeredPairs_ = 1;
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

int VirtioNetDriver::checkQueuePairs(std::string* message) {
    auto failure = [message](int error, std::string text) {
        if (message != nullptr) *message = "virtio-net: " + std::move(text);
        return error;
    };
    const unsigned wanted = options_.queuePairs;
    if ((deviceFeatures_ & F_MQ) != 0 && (offeredPairs_ < CTRL_MQ_VQ_PAIRS_MIN || offeredPairs_ > CTRL_MQ_VQ_PAIRS_MAX))
        return failure(EIO, "the device reports max_virtqueue_pairs " + std::to_string(offeredPairs_) +
                                ", outside 1 to 32768: a device bug");
    if (wanted == 1) return 0;
    const std::string asked = std::to_string(wanted) + " queue pairs asked";
    if (!multiqueue()) {
        return failure(ENOTSUP, asked + ", but the device offers no multiqueue (MQ with CTRL_VQ): use queues=1, or "
                                        "in QEMU -netdev tap,queues=" + std::to_string(wanted) +
                                        " with -device virtio-net-pci,mq=on,vectors=" + std::to_string(2 * wanted + 2));
    }
    if (wanted > offeredPairs_)
        return failure(EINVAL, asked + ", the device offers " + std::to_string(offeredPairs_));
    unsigned queues = commonRead16(NUM_QUEUES);
    if (queues < 2 * offeredPairs_ + 1)
        return failure(EIO, "the device has " + std::to_string(queues) + " virtqueues, too few for " +
                                std::to_string(offeredPairs_) + " pairs and the control queue");
    return 0;
}

int VirtioNetDriver::setUpQueue(unsigned index, Queue& q, unsigned size, std::size_t base) {
    commonWrite16(QUEUE_SELECT, static_cast<std::uint16_t>(index));
    std::uint16_t maxSize = commonRead16(QUEUE_SIZE);
    if (maxSize == 0 || maxSize < size) return EIO;
    commonWrite16(QUEUE_SIZE, static_cast<std::uint16_t>(size));
    std::size_t availAt = base + pageRound(16u * size);
    std::size_t usedAt = availAt + pageRound(6u + 2u * size);
    std::memset(ringMemory_.data() + base, 0, queueBytes(size));
    q.descriptors = reinterpret_cast<volatile Descriptor*>(ringMemory_.data() + base);
    q.avail = reinterpret_cast<volatile std::uint16_t*>(ringMemory_.data() + availAt);
    q.usedHeader = reinterpret_cast<volatile std::uint16_t*>(ringMemory_.data() + usedAt);
    q.used = reinterpret_cast<volatile UsedElement*>(ringMemory_.data() + usedAt + 4);
    q.iova = ringIova_ + base;
    q.index = static_cast<std::uint16_t>(index);
    q.availIndex = q.lastUsed = 0;
    q.netbufs.assign(size, nullptr);
    // 64-bit fields as two 32-bit writes (QEMU accepts only 32-bit accesses there).
    auto write64 = [this](unsigned offset, std::uint64_t value) {
        commonWrite32(offset, static_cast<std::uint32_t>(value));
        commonWrite32(offset + 4, static_cast<std::uint32_t>(value >> 32));
    };
    write64(QUEUE_DESC, q.iova);
    write64(QUEUE_DRIVER, ringIova_ + availAt);
    write64(QUEUE_DEVICE, ringIova_ + usedAt);
    commonWrite16(QUEUE_MSIX_VECTOR, q.vector);
    if (q.vector != NO_VECTOR && commonRead16(QUEUE_MSIX_VECTOR) != q.vector) return EIO;  // 4.1.5.1.2: refused
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
    commonWrite16(MSIX_CONFIG, configVector_);
    if (configVector_ != NO_VECTOR && commonRead16(MSIX_CONFIG) != configVector_) commonWrite16(MSIX_CONFIG, NO_VECTOR);
    // receiveq i is virtqueue 2i, transmitq i 2i + 1; the control queue comes after all the
    // pairs the device has (2 * max_virtqueue_pairs), its slot after those we use.
    const unsigned pairs = queueCount();
    const std::size_t slot = queueBytes(queueSize_);
    int error = 0;
    for (unsigned i = 0; i < pairs && error == 0; ++i) {
        error = setUpQueue(2 * i, rx_[i], queueSize_, 2 * i * slot);
        if (error == 0) error = setUpQueue(2 * i + 1, tx_[i], queueSize_, (2 * i + 1) * slot);
    }
    if (error == 0 && multiqueue()) error = setUpQueue(2 * offeredPairs_, control_, kControlQueueSize, 2 * pairs * slot);
    if (error != 0) {
        setStatus(STATUS_FAILED);
        return EIO;
    }
    for (Queue& rx : rx_) {
        if (pool()->allocateBulk(rx.netbufs.data(), queueSize_) != 0) return ENOBUFS;
        fillReceiveQueue(rx);
    }
    for (Queue& tx : tx_) {
        tx.freeIds.clear();
        for (unsigned i = queueSize_; i-- > 0;) tx.freeIds.push_back(static_cast<std::uint16_t>(i));
    }
    setStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    for (Queue& rx : rx_) *rx.notify = rx.index;
    // Until told otherwise the device uses pair 1 only (5.1.6.5.5).
    if (multiqueue() && setQueuePairs() != 0) {
        setStatus(STATUS_FAILED);
        return EIO;
    }
    setRunning(true);
    updateLinkStatus();
    return 0;
}

void VirtioNetDriver::fillReceiveQueue(Queue& rx) {
    // Descriptor i always holds rx.netbufs[i]; the header goes in the 12 bytes in front of the
    // netbuf's data.
    std::uint32_t room = pool()->bufferSize() - pool()->headroom() + kNetHeaderSize;
    for (unsigned i = 0; i < queueSize_; ++i) {
        rx.descriptors[i].address = rx.netbufs[i]->ioAddress() - kNetHeaderSize;
        rx.descriptors[i].length = room;
        rx.descriptors[i].flags = DESC_F_WRITE;
        rx.avail[2 + i] = static_cast<std::uint16_t>(i);
    }
    rx.availIndex = static_cast<std::uint16_t>(queueSize_);
    rx.avail[0] = rx.interrupts ? 0 : AVAIL_F_NO_INTERRUPT;
    std::atomic_thread_fence(std::memory_order_release);
    rx.avail[1] = rx.availIndex;
}

int VirtioNetDriver::setQueuePairs() {
    // VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (5.1.6.5.5): {class, command, le16 pairs} read by the
    // device, one ack byte written by it, in the page after the control queue.
    const std::size_t at = 2 * queueCount() * queueBytes(queueSize_) + queueBytes(kControlQueueSize);
    volatile std::uint8_t* command = ringMemory_.data() + at;
    const std::uint64_t iova = ringIova_ + at;
    const std::uint16_t pairs = static_cast<std::uint16_t>(queueCount());
    command[0] = CTRL_MQ;
    command[1] = CTRL_MQ_VQ_PAIRS_SET;
    command[2] = static_cast<std::uint8_t>(pairs);
    command[3] = static_cast<std::uint8_t>(pairs >> 8);
    command[kAckOffset] = 0xff;
    Queue& q = control_;
    q.descriptors[0].address = iova;
    q.descriptors[0].length = 4;
    q.descriptors[0].flags = DESC_F_NEXT;
    q.descriptors[0].next = 1;
    q.descriptors[1].address = iova + kAckOffset;
    q.descriptors[1].length = 1;
    q.descriptors[1].flags = DESC_F_WRITE;
    q.descriptors[1].next = 0;
    q.avail[2 + (q.availIndex & (kControlQueueSize - 1))] = 0;
    q.availIndex++;
    std::atomic_thread_fence(std::memory_order_release);
    q.avail[1] = q.availIndex;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    *q.notify = q.index;
    // QEMU answers within the notifying write; a device may take longer: allow a second.
    for (int i = 0; i < 1000 && q.usedHeader[1] == q.lastUsed; ++i) usleep(1000);
    if (q.usedHeader[1] == q.lastUsed) return ETIMEDOUT;
    std::atomic_thread_fence(std::memory_order_acquire);
    std::uint32_t id = q.used[q.lastUsed & (kControlQueueSize - 1)].id;
    q.lastUsed++;
    return id == 0 && command[kAckOffset] == NET_OK ? 0 : EIO;
}

bool VirtioNetDriver::hasInterruptPerQueue() const {
    for (const Queue& rx : rx_) {
        if (rx.vector == NO_VECTOR) return false;
    }
    return !rx_.empty();
}

void VirtioNetDriver::releaseQueues() {
    for (std::vector<Queue>* queues : {&rx_, &tx_}) {
        for (Queue& q : *queues) {
            for (Netbuf*& nb : q.netbufs) {
                if (nb != nullptr) nb->free();
                nb = nullptr;
            }
        }
    }
}

unsigned VirtioNetDriver::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    if (queue >= rx_.size() || !isRunning()) return 0;
    Queue& rx = rx_[queue];
    const std::uint16_t usedIndex = rx.usedHeader[1];
    if (usedIndex == rx.lastUsed) return 0;  // nothing received: the cheapest poll
    std::atomic_thread_fence(std::memory_order_acquire);  // used elements after the index
    const unsigned mask = queueSize_ - 1;
    std::uint32_t room = pool()->bufferSize() - pool()->headroom() + kNetHeaderSize;
    unsigned n = 0, refilled = 0, errors = 0, drops = 0;
    // The replacement buffers in one bulk get (the pool's thread cache), one at a time only when
    // the pool cannot give them all.
    const unsigned ready = std::min({max, kRefillBurst, static_cast<unsigned>(static_cast<std::uint16_t>(usedIndex - rx.lastUsed))});
    Netbuf* refills[kRefillBurst];
    const bool bulk = ready != 0 && pool()->allocateBulk(refills, ready) == 0;
    unsigned taken = 0;
    for (unsigned seen = 0; seen < ready; ++seen) {
        volatile UsedElement& e = rx.used[rx.lastUsed & mask];
        std::uint32_t id = e.id, length = e.length;
        rx.lastUsed++;
        if (id >= queueSize_) {  // a device bug: never trust an index blindly
            errors++;
            continue;
        }
        Netbuf* received = rx.netbufs[id];
        Netbuf* fresh = bulk ? refills[taken++] : pool()->allocate();
        if (fresh == nullptr) {
            drops++;
            fresh = received;
            fresh->reset(pool()->headroom());
        } else if (length < kNetHeaderSize + 14 || received->setSize(length - kNetHeaderSize) != 0 ||
                   !takeOffload(*received)) {  // too short, too long, or a partial checksum outside the frame
            errors++;
            received->free();
        } else {
            out[n++] = received;
        }
        rx.netbufs[id] = fresh;
        rx.descriptors[id].address = fresh->ioAddress() - kNetHeaderSize;
        rx.descriptors[id].length = room;
        rx.avail[2 + (rx.availIndex & mask)] = static_cast<std::uint16_t>(id);
        rx.availIndex++;
        refilled++;
    }
    if (bulk && taken < ready) pool()->freeBulk(refills + taken, ready - taken);
    if (refilled != 0) {
        std::atomic_thread_fence(std::memory_order_release);  // ring entries before the index
        rx.avail[1] = rx.availIndex;
        std::atomic_thread_fence(std::memory_order_seq_cst);   // index before reading the flags
        if ((rx.usedHeader[0] & USED_F_NO_NOTIFY) == 0) *rx.notify = rx.index;
    }
    if (errors != 0) report(QueueEvent::receiveError, queue, errors);
    if (drops != 0) report(QueueEvent::receiveDrop, queue, drops);
    return n;
}

// With GUEST_CSUM the device may hand over a packet whose checksum is still partial (NEEDS_CSUM:
// the layers above complete it from csumStart, as with a tap's vnet header) or already checked
// (DATA_VALID). @return false when the partial checksum's place is outside the frame.
bool VirtioNetDriver::takeOffload(Netbuf& received) const {
    const auto* header = reinterpret_cast<const NetHeader*>(received.data() - kNetHeaderSize);
    NetbufOffload& offload = received.offload();
    offload = NetbufOffload{};
    if ((features_ & F_GUEST_CSUM) == 0) return true;
    offload.flags = header->flags & (HDR_F_NEEDS_CSUM | HDR_F_DATA_VALID);
    if ((offload.flags & HDR_F_NEEDS_CSUM) == 0) return true;
    offload.csumStart = header->csumStart;
    offload.csumOffset = header->csumOffset;
    return std::uint32_t{offload.csumStart} + offload.csumOffset + 2 <= received.size();
}

void VirtioNetDriver::cleanTransmitQueue(Queue& tx) {
    const std::uint16_t usedIndex = tx.usedHeader[1];
    std::atomic_thread_fence(std::memory_order_acquire);
    Netbuf* done[64];
    unsigned count = 0;
    while (tx.lastUsed != usedIndex) {
        std::uint32_t id = tx.used[tx.lastUsed & (queueSize_ - 1)].id;
        tx.lastUsed++;
        if (id >= queueSize_ || tx.netbufs[id] == nullptr) continue;
        done[count++] = tx.netbufs[id];
        tx.netbufs[id] = nullptr;
        tx.freeIds.push_back(static_cast<std::uint16_t>(id));
        if (count == 64) {
            NetbufPool::freeToOwners(done, count);
            count = 0;
        }
    }
    if (count != 0) NetbufPool::freeToOwners(done, count);
}

unsigned VirtioNetDriver::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    if (tx_.empty() || !isRunning()) return 0;
    const unsigned index = queue % queueCount();
    Queue& tx = tx_[index];
    cleanTransmitQueue(tx);
    const unsigned mask = queueSize_ - 1;
    unsigned accepted = 0;
    while (accepted < count && !tx.freeIds.empty()) {
        Netbuf* nb = packets[accepted++];
        if (!foreignPools_.reachable(nb, pool(), device_->container()) || nb->size() == 0 || nb->growTop(kNetHeaderSize) != 0) {
            report(QueueEvent::transmitError, index, *nb);  // the device cannot reach or send it
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
        std::uint16_t id = tx.freeIds.back();
        tx.freeIds.pop_back();
        tx.netbufs[id] = nb;
        tx.descriptors[id].address = nb->ioAddress();
        tx.descriptors[id].length = nb->size();
        tx.descriptors[id].flags = 0;
        tx.avail[2 + (tx.availIndex & mask)] = id;
        tx.availIndex++;
    }
    if (accepted != 0) {
        std::atomic_thread_fence(std::memory_order_release);
        tx.avail[1] = tx.availIndex;
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if ((tx.usedHeader[0] & USED_F_NO_NOTIFY) == 0) *tx.notify = tx.index;
    }
    return accepted;
}

int VirtioNetDriver::interruptEventFd(unsigned queue) const {
    return queue < rx_.size() && rx_[queue].vector != NO_VECTOR ? device_->msixEventFd(rx_[queue].vector) : -1;
}

int VirtioNetDriver::setInterruptsEnabled(unsigned queue, bool enabled) {
    if (interruptEventFd(queue) < 0) return EOPNOTSUPP;
    Queue& rx = rx_[queue];
    rx.interrupts = enabled;
    if (rx.avail != nullptr) rx.avail[0] = enabled ? 0 : AVAIL_F_NO_INTERRUPT;
    return 0;
}

void VirtioNetDriver::interruptOccurred(unsigned queue) {
    std::uint64_t count;
    int fd = interruptEventFd(queue);
    if (fd >= 0 && ::read(fd, &count, sizeof count) < 0 && errno != EAGAIN) return;
    int configFd = configVector_ != NO_VECTOR ? device_->msixEventFd(configVector_) : -1;
    if (configFd >= 0 && ::read(configFd, &count, sizeof count) == sizeof count) updateLinkStatus();
    IOEthernet::interruptOccurred(queue);
}

int VirtioNetDriver::eventLoopChanged() {
    // Without a configuration-change vector (or in poll mode) nothing else reads the link.
    return eventLoop() != nullptr ? setRelativeTimeout(kLinkWatchdog) : 0;
}

void VirtioNetDriver::timeoutOccurred() {
    if (isRunning()) updateLinkStatus();
    if (eventLoop() != nullptr) setRelativeTimeout(kLinkWatchdog);
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
