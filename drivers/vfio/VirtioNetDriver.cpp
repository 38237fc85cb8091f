#include "drivers/vfio/VirtioNetDriver.h"

#include "drivers/vfio/ReceiveRefill.h"
#include "drivers/vfio/TransmitCompletions.h"
#include "netbuf/VirtioNetHeader.h"

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
constexpr std::uint32_t kNetHeaderSize = VirtioNetHeader::kSize;
constexpr std::chrono::seconds kLinkWatchdog{1};
constexpr std::uint64_t kWanted = F_VERSION_1 | F_ACCESS_PLATFORM | F_MAC | F_STATUS | F_MTU | F_CSUM | F_GUEST_CSUM |
    F_HOST_TSO4 | F_HOST_TSO6 | F_CTRL_VQ | F_CTRL_RX;

std::size_t pageRound(std::size_t n) { return (n + 4095) & ~std::size_t{4095}; }

}  // namespace

// Bytes of one split virtqueue of @p size entries: descriptors, available ring, used ring, each
// page aligned (2.7: alignments 16, 2 and 4 bytes; pages keep it simple).
std::size_t VirtioNetDriver::queueBytes(unsigned size) {
    return pageRound(16u * size) + pageRound(6u + 2u * size) + pageRound(6u + 8u * size);
}

VirtioNetDriver::VirtioNetDriver(std::unique_ptr<PciDevice> device, const Options& options)
    : device_(std::move(device)), options_(options) {}

Result<std::unique_ptr<VirtioNetDriver>> VirtioNetDriver::create(std::unique_ptr<PciDevice> device,
                                                                 std::shared_ptr<NetbufPool> pool,
                                                                 const Options& options, std::string* message) {
    using R = Result<std::unique_ptr<VirtioNetDriver>>;
    std::string text;
    auto failure = [&](int error, std::string why) {
        if (message != nullptr) *message = why;
        return R::failure(error, std::move(why));
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
    // COMMAND.MEMORY before the first access to the capabilities' registers (PCI 3.0, 6.2.2);
    // memory_.setUp below sets it again with the rings.
    if (int error = d->device_->enableBusMaster(); error != 0) return failure(error, "virtio-net: bus mastering");
    if (int error = d->findCapabilities(&text); error != 0) return failure(error, text);
    if (int error = d->negotiate(); error != 0) {
        return failure(error,
                       error == ENOTSUP ? "virtio-net: the device offers no VERSION_1 or no ACCESS_PLATFORM "
                                          "(QEMU: virtio-net-pci,disable-legacy=on,iommu_platform=on)"
                                        : "virtio-net: the device refused the features");
    }
    if (int error = d->checkQueuePairs(&text); error != 0) return failure(error, text);
    if (pool->capacity() < pairs * size + 64)
        return failure(EINVAL,
                       "virtio-net: pool of " + std::to_string(pool->capacity()) + " netbufs, smaller than " +
                           std::to_string(pairs) + " receive queues of " + std::to_string(size) + " plus 64 (pool=N)");
    d->queueSize_ = size;
    d->rx_.resize(pairs);
    d->tx_.resize(pairs);
    // The data queues, then (with the control queue) the control queue and its command page.
    const std::size_t ringBytes = 2 * pairs * queueBytes(size) + d->controlQueueBytes();
    if (int error = d->memory_.setUp(*d->device_, pool, ringBytes, "nexnet-virtio-rings", &text); error != 0)
        return failure(error, "virtio-net: " + text);
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
    // Hot-unplug and unbind: the kernel asks for the device back through vfio's request channel
    // (the watchdog hears it and releases the device). Without one (ENOTSUP) a removal waits for
    // the program to close the device.
    d->device_->enableRemovalRequest();
    std::uint8_t mac[6];
    for (unsigned i = 0; i < 6; ++i) mac[i] = d->deviceConfig_[CONFIG_MAC + i];  // 5.1.4
    EthernetAddress address = EthernetAddress::fromBytes(mac);
    if ((d->features_ & F_MAC) == 0 || address.isZero()) address = EthernetAddress::randomLocal();
    if (int error = d->attachToNetworkWithAddress(address); error != 0)
        return failure(error, "virtio-net: the device reports a multicast MAC address");
    const std::string interrupts = !d->hasInterrupts() ? "polling only"
        : d->hasInterruptPerQueue()                    ? "MSI-X interrupts or polling"
                                                       : "MSI-X interrupts on queue 0 or polling";
    d->setModeDescription(
        "virtio-net (modern) via " + d->memory_.describe() + ", " + std::to_string(pairs) + " of " +
        std::to_string(d->offeredPairs_) + " queue pairs, " + interrupts + ", " +
        (d->filtersFrames() ? "filtered by the device (CTRL_RX)" : "no filter: every frame delivered"));
    return d;
}

VirtioNetDriver::~VirtioNetDriver() {
    if (common_ != nullptr && !device_->isReleased()) {
        resetDevice();  // the device stops using the queues before memory_ unmaps them
    }
    releaseQueues();
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

void VirtioNetDriver::resetDevice() {
    // 2.4 and 4.1.4.3: writing 0 to device_status resets the device; it reads 0 once done.
    setStatus(0);
    for (int i = 0; i < 100 && status() != 0; ++i) usleep(1000);
}

int VirtioNetDriver::negotiate() {
    // Initialisation (3.1.1): reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, check it stuck.
    resetDevice();
    setStatus(STATUS_ACKNOWLEDGE);
    setStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    commonWrite32(DEVICE_FEATURE_SELECT, 0);
    std::uint64_t offered = commonRead32(DEVICE_FEATURE);
    commonWrite32(DEVICE_FEATURE_SELECT, 1);
    offered |= static_cast<std::uint64_t>(commonRead32(DEVICE_FEATURE)) << 32;
    deviceFeatures_ = offered;
    // Behind an IOMMU the device must translate what it is given (ACCESS_PLATFORM); without one
    // it is given physical addresses, which a device without ACCESS_PLATFORM uses as they are.
    const bool iommu = device_->container().mode() == VfioContainer::Mode::iommu;
    if ((offered & F_VERSION_1) == 0 || (iommu && (offered & F_ACCESS_PLATFORM) == 0)) {
        setStatus(STATUS_FAILED);
        return ENOTSUP;
    }
    // One pair: MQ stays off, the device uses receiveq1/transmitq1 only. MQ and CTRL_RX need the
    // control queue (5.1.3.1).
    features_ = offered & (kWanted | (options_.queuePairs > 1 ? F_MQ : 0));
    if ((features_ & F_CTRL_VQ) == 0) features_ &= ~(F_MQ | F_CTRL_RX);
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
        return failure(EIO,
                       "the device reports max_virtqueue_pairs " + std::to_string(offeredPairs_) +
                           ", outside 1 to 32768: a device bug");
    if (wanted == 1) return 0;
    const std::string asked = std::to_string(wanted) + " queue pairs asked";
    if (!multiqueue()) {
        return failure(ENOTSUP,
                       asked +
                           ", but the device offers no multiqueue (MQ with CTRL_VQ): use queues=1, or "
                           "in QEMU -netdev tap,queues=" +
                           std::to_string(wanted) +
                           " with -device virtio-net-pci,mq=on,vectors=" + std::to_string(2 * wanted + 2));
    }
    if (wanted > offeredPairs_) return failure(EINVAL, asked + ", the device offers " + std::to_string(offeredPairs_));
    unsigned queues = commonRead16(NUM_QUEUES);
    if (queues < 2 * offeredPairs_ + 1)
        return failure(EIO,
                       "the device has " + std::to_string(queues) + " virtqueues, too few for " +
                           std::to_string(offeredPairs_) + " pairs and the control queue");
    return 0;
}

int VirtioNetDriver::setUpQueue(unsigned index, Queue& q, unsigned size, std::size_t base) {
    // Virtqueue configuration (4.1.5.1.3) through the common configuration (4.1.4.3).
    commonWrite16(QUEUE_SELECT, static_cast<std::uint16_t>(index));
    std::uint16_t maxSize = commonRead16(QUEUE_SIZE);
    if (maxSize == 0 || maxSize < size) return EIO;
    commonWrite16(QUEUE_SIZE, static_cast<std::uint16_t>(size));
    std::size_t availAt = base + pageRound(16u * size);
    std::size_t usedAt = availAt + pageRound(6u + 2u * size);
    std::uint8_t* rings = memory_.rings();
    std::memset(rings + base, 0, queueBytes(size));
    q.descriptors = reinterpret_cast<volatile Descriptor*>(rings + base);
    q.avail = reinterpret_cast<volatile std::uint16_t*>(rings + availAt);
    q.usedHeader = reinterpret_cast<volatile std::uint16_t*>(rings + usedAt);
    q.used.attach(q.usedHeader, reinterpret_cast<volatile UsedElement*>(rings + usedAt + 4), size);
    q.index = static_cast<std::uint16_t>(index);
    q.availIndex = 0;
    q.overrun = false;
    q.netbufs.assign(size, nullptr);
    // 64-bit fields as two 32-bit writes (QEMU accepts only 32-bit accesses there).
    auto write64 = [this](unsigned offset, std::uint64_t value) {
        commonWrite32(offset, static_cast<std::uint32_t>(value));
        commonWrite32(offset + 4, static_cast<std::uint32_t>(value >> 32));
    };
    write64(QUEUE_DESC, memory_.ringAddress(base));
    write64(QUEUE_DRIVER, memory_.ringAddress(availAt));
    write64(QUEUE_DEVICE, memory_.ringAddress(usedAt));
    commonWrite16(QUEUE_MSIX_VECTOR, q.vector);
    if (q.vector != NO_VECTOR && commonRead16(QUEUE_MSIX_VECTOR) != q.vector) return EIO;  // 4.1.5.1.2: refused
    q.notify =
        reinterpret_cast<volatile std::uint16_t*>(notifyBase_ + commonRead16(QUEUE_NOTIFY_OFF) * notifyMultiplier_);
    q.avail[0] = AVAIL_F_NO_INTERRUPT;  // 2.7.7: no interrupt until setInterruptsEnabled asks
    commonWrite16(QUEUE_ENABLE, 1);
    return 0;
}

int VirtioNetDriver::resetAndEnable(bool enable) {
    if (device_->isReleased()) return ENODEV;
    // A reset starts the queues again: a used-ring overrun, or whatever the watchdog found the
    // device in (a reset under the driver, DEVICE_NEEDS_RESET), is over.
    auto overran = [](const Queue& q) { return q.overrun; };
    if (restart_.clear() || std::any_of(rx_.begin(), rx_.end(), overran) ||
        std::any_of(tx_.begin(), tx_.end(), overran))
        setFaultDescription("");
    // negotiate() begins with a reset: the device stops using the queues before their netbufs go
    // back, whether or not the rest of it works.
    const int negotiated = negotiate();
    releaseQueues();
    if (negotiated != 0) return negotiated;
    if (!enable) {
        setStatus(0);
        setRunning(false);
        setLinkStatus(LinkStatus::down);
        return 0;
    }
    // PCI 3.0, 6.2.2: bus mastering again, which a reset from outside the driver may have cleared.
    device_->enableBusMaster();
    commonWrite16(MSIX_CONFIG, configVector_);
    if (configVector_ != NO_VECTOR && commonRead16(MSIX_CONFIG) != configVector_) commonWrite16(MSIX_CONFIG, NO_VECTOR);
    // receiveq i is virtqueue 2i, transmitq i 2i + 1; the control queue comes after all the
    // pairs the device has (2 * max_virtqueue_pairs with MQ, else 2: 5.1.2), its slot after those we use.
    const unsigned pairs = queueCount();
    const std::size_t slot = queueBytes(queueSize_);
    int error = 0;
    for (unsigned i = 0; i < pairs && error == 0; ++i) {
        error = setUpQueue(2 * i, rx_[i], queueSize_, 2 * i * slot);
        if (error == 0) error = setUpQueue(2 * i + 1, tx_[i], queueSize_, (2 * i + 1) * slot);
    }
    if (error == 0 && hasControlQueue()) {
        const unsigned index = multiqueue() ? 2 * offeredPairs_ : 2;
        error = setUpQueue(index, control_, kControlQueueSize, 2 * pairs * slot);
    }
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
    // The filled receive queues are in memory, and the device live, before it is told of them
    // (3.1.1: no notification before DRIVER_OK). The status write is an uncached register write;
    // this keeps the compiler from moving the ring stores after the doorbells.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    for (Queue& rx : rx_) *rx.notify = rx.index;  // doorbell (4.1.5.2): buffers are available
    // The device uses pair 1 only until told otherwise (5.1.6.5.5), and filters nothing until
    // given a mode and a MAC table (QEMU starts promiscuous).
    if ((multiqueue() && setQueuePairs() != 0) || sendReceiveFilters() != 0) {
        setStatus(STATUS_FAILED);
        return EIO;
    }
    setRunning(true);
    updateLinkStatus();
    return 0;
}

void VirtioNetDriver::fillReceiveQueue(Queue& rx) {
    // Descriptor i always holds rx.netbufs[i]; the header goes in the 12 bytes in front of the
    // netbuf's data (5.1.6.3).
    std::uint32_t room = pool()->bufferSize() - pool()->headroom() + kNetHeaderSize;
    for (unsigned i = 0; i < queueSize_; ++i) {
        rx.descriptors[i].address = rx.netbufs[i]->ioAddress() - kNetHeaderSize;
        rx.descriptors[i].length = room;
        rx.descriptors[i].flags = DESC_F_WRITE;
        rx.avail[2 + i] = static_cast<std::uint16_t>(i);
        rx.used.posted(static_cast<std::uint16_t>(i));
    }
    rx.availIndex = static_cast<std::uint16_t>(queueSize_);
    rx.avail[0] = rx.interrupts ? 0 : AVAIL_F_NO_INTERRUPT;  // 2.7.7
    // 2.7.13.3.1: the descriptors and ring entries are in memory before idx counts them.
    // Release: on x86 a compiler barrier (stores are not reordered with older stores).
    std::atomic_thread_fence(std::memory_order_release);
    rx.avail[1] = rx.availIndex;
}

// Hands the entries added to @p q's available ring since the last call to the device.
void VirtioNetDriver::publish(Queue& q) {
    // 2.7.13.3.1: the descriptors, the ring entries and the buffers they name are in memory
    // before idx counts them. Release: on x86 a compiler barrier.
    std::atomic_thread_fence(std::memory_order_release);
    q.avail[1] = q.availIndex;
    // 2.7.13.4.1: idx is written before the device's flags are read, or a device that just
    // cleared NO_NOTIFY would never hear of these entries. A store then a load of another
    // location is the one reordering x86 does (its store buffer): this fence is an mfence.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // The doorbell: the queue's index to its notification address (4.1.5.2), unless the device
    // said it need not be told (VIRTQ_USED_F_NO_NOTIFY, 2.7.10).
    if ((q.usedHeader[0] & USED_F_NO_NOTIFY) == 0) *q.notify = q.index;
}

bool VirtioNetDriver::hasInterruptPerQueue() const {
    for (const Queue& rx : rx_) {
        if (rx.vector == NO_VECTOR) return false;
    }
    return !rx_.empty();
}

void VirtioNetDriver::releaseQueues() {
    for (std::vector<Queue>* queues : {&rx_, &tx_}) {
        for (Queue& q : *queues) DeviceMemory::freeNetbufs(q.netbufs);
    }
}

unsigned VirtioNetDriver::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    if (queue >= rx_.size() || !isRunning()) return 0;
    Queue& rx = rx_[queue];
    const std::uint16_t usedIndex = rx.used.deviceIndex();
    if (usedIndex == rx.used.lastUsed()) return 0;  // nothing received: the cheapest poll
    return receiveUsed(queue, usedIndex, out, max);
}

// Out of line, so that an empty poll does not pay for saving the registers this part needs.
[[gnu::noinline]] unsigned VirtioNetDriver::receiveUsed(unsigned queue, std::uint16_t usedIndex, Netbuf** out,
                                                        unsigned max) {
    Queue& rx = rx_[queue];
    const unsigned pending = rx.used.ready(usedIndex);
    if (pending == VirtqueueUsedRing::kOverrun) [[unlikely]] {
        usedRingOverrun("receive", queue, rx, usedIndex);
        return 0;
    }
    // 2.7.14: read the used elements (and the frames) only after the idx that counts them.
    // Acquire: on x86 a compiler barrier (loads are not reordered with older loads).
    std::atomic_thread_fence(std::memory_order_acquire);
    const unsigned mask = queueSize_ - 1;
    std::uint32_t room = pool()->bufferSize() - pool()->headroom() + kNetHeaderSize;
    unsigned n = 0, errors = 0, drops = 0, refilled = 0;
    const unsigned ready = std::min({max, ReceiveRefill::kMaxBurst, pending});
    Netbuf* fresh[ReceiveRefill::kMaxBurst];
    ReceiveRefill refill(*pool(), fresh, ready);
    for (unsigned seen = 0; seen < ready; ++seen) {
        VirtqueueUsedRing::Element e;
        // A device bug (an id outside the queue, or one it does not hold): never trust it blindly.
        if (rx.used.next(e) != VirtqueueUsedRing::Verdict::taken) [[unlikely]] {
            errors++;
            continue;
        }
        const std::uint32_t id = e.id, length = e.length;
        if (Netbuf* received = refill.exchange(rx.netbufs[id])) {
            if (VirtqueueUsedRing::judgeFrame(length, kNetHeaderSize, room) != VirtqueueUsedRing::Frame::fits ||
                received->setSize(length - kNetHeaderSize) != 0 ||
                !takeOffload(*received)) {  // too short, too long, or a partial checksum outside the frame
                errors++;
                received->free();
            } else {
                out[n++] = received;
            }
        } else {
            drops++;  // no netbuf to replace it: the frame is dropped, the buffer goes back
        }
        rx.descriptors[id].address = rx.netbufs[id]->ioAddress() - kNetHeaderSize;
        rx.descriptors[id].length = room;
        rx.avail[2 + (rx.availIndex & mask)] = static_cast<std::uint16_t>(id);
        rx.availIndex++;
        rx.used.posted(static_cast<std::uint16_t>(id));
        refilled++;
    }
    if (refilled != 0) publish(rx);
    if (errors != 0) report(QueueEvent::receiveError, queue, errors);
    if (drops != 0) report(QueueEvent::receiveDrop, queue, drops);
    return n;
}

// With GUEST_CSUM the device may hand over a packet whose checksum is still partial (NEEDS_CSUM:
// the layers above complete it from csumStart, as with a tap's vnet header) or already checked
// (DATA_VALID) (5.1.6.4). @return false when the partial checksum's place is outside the frame.
bool VirtioNetDriver::takeOffload(Netbuf& received) const {
    NetbufOffload& offload = received.offload();
    if ((features_ & F_GUEST_CSUM) == 0) {
        offload = NetbufOffload{};
        return true;
    }
    const auto* header = reinterpret_cast<const VirtioNetHeader*>(received.data() - kNetHeaderSize);
    offload = NetbufOffload{};
    offload.flags = header->flags & (NetbufOffload::kNeedsChecksum | NetbufOffload::kDataValid);
    if (!offload.needsChecksum()) return true;
    offload.csumStart = header->csumStart;
    offload.csumOffset = header->csumOffset;
    return offload.isConsistentWith(received.size());
}

// A device whose used idx ran further ahead than the ring holds has written nothing that can be
// trusted (2.7.8: it uses only what it holds): the queue is not read again until a reset (down and
// up), and the fault is said once.
void VirtioNetDriver::usedRingOverrun(const char* kind, unsigned index, Queue& queue, std::uint16_t deviceIndex) {
    if (queue.overrun) return;
    queue.overrun = true;
    report(std::string_view(kind) == "receive" ? QueueEvent::receiveError : QueueEvent::transmitError, index);
    setFaultDescription("virtio-net: " + std::string(kind) + " queue " + std::to_string(index) +
                        ": the device's used index ran " +
                        std::to_string(static_cast<std::uint16_t>(deviceIndex - queue.used.lastUsed())) +
                        " entries ahead of a ring of " + std::to_string(queue.used.size()) +
                        " (a device fault); the queue stays stopped until the interface is reset");
}

void VirtioNetDriver::cleanTransmitQueue(unsigned index, Queue& tx) {
    const std::uint16_t usedIndex = tx.used.deviceIndex();
    const unsigned pending = tx.used.ready(usedIndex);
    if (pending == VirtqueueUsedRing::kOverrun) [[unlikely]] {
        usedRingOverrun("transmit", index, tx, usedIndex);
        return;
    }
    // 2.7.14: the used elements after the idx that counts them (acquire: a compiler barrier on x86).
    std::atomic_thread_fence(std::memory_order_acquire);
    TransmitCompletions done;
    unsigned errors = 0;
    for (unsigned i = 0; i < pending; ++i) {
        VirtqueueUsedRing::Element e;
        if (tx.used.next(e) != VirtqueueUsedRing::Verdict::taken) [[unlikely]] {
            errors++;  // an id outside the queue, or a chain the device does not hold
            continue;
        }
        done.add(tx.netbufs[e.id]);
        tx.netbufs[e.id] = nullptr;
        tx.freeIds.push_back(static_cast<std::uint16_t>(e.id));
    }
    if (errors != 0) report(QueueEvent::transmitError, index, errors);
}

unsigned VirtioNetDriver::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    if (tx_.empty() || !isRunning()) return 0;
    const unsigned index = queue % queueCount();
    Queue& tx = tx_[index];
    cleanTransmitQueue(index, tx);
    const unsigned mask = queueSize_ - 1;
    unsigned accepted = 0;
    while (accepted < count && !tx.freeIds.empty()) {
        Netbuf* nb = packets[accepted++];
        if (!memory_.reachable(nb) || nb->size() == 0 || nb->growTop(kNetHeaderSize) != 0) {
            report(QueueEvent::transmitError, index, *nb);  // the device cannot reach or send it
            nb->free();
            continue;
        }
        // The header in front of the frame (5.1.6.2): what the device should finish for it.
        VirtioNetHeader header;
        const NetbufOffload& offload = nb->offload();
        if ((features_ & F_CSUM) != 0 && offload.needsChecksum()) {
            header.flags = NetbufOffload::kNeedsChecksum;
            header.csumStart = offload.csumStart;
            header.csumOffset = offload.csumOffset;
        }
        if ((features_ & (F_HOST_TSO4 | F_HOST_TSO6)) != 0 && offload.gsoType != NetbufOffload::kGsoNone) {
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
        tx.used.posted(id);
    }
    if (accepted != 0) publish(tx);
    return accepted;
}

int VirtioNetDriver::interruptEventFd(unsigned queue) const {
    return queue < rx_.size() && rx_[queue].vector != NO_VECTOR ? device_->msixEventFd(rx_[queue].vector) : -1;
}

int VirtioNetDriver::setInterruptsEnabled(unsigned queue, bool enabled) {
    if (interruptEventFd(queue) < 0) return EOPNOTSUPP;
    Queue& rx = rx_[queue];
    rx.interrupts = enabled;
    if (rx.avail != nullptr) rx.avail[0] = enabled ? 0 : AVAIL_F_NO_INTERRUPT;  // 2.7.7
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
    if (device_->isReleased()) return;  // gone for good: nothing left to watch
    // The kernel wants the device back (hot-unplug, unbind), or it reads as absent (a read of a
    // removed device completes with all ones): let go of it, so that the removal can finish.
    if (device_->removalRequested())
        return releaseDevice("the kernel asked for the device back (hot-unplug or unbind)");
    const std::uint8_t deviceStatus = status();
    if (deviceStatus == 0xff) return releaseDevice("the device reads as all ones (removed)");
    if (restart_.pending()) {
        restart_.restart(*this);
    } else if (isRunning()) {
        // 2.1.1: DEVICE_NEEDS_RESET, the device met an error it cannot recover from (QEMU sets it
        // on a descriptor it cannot map, for one); without DRIVER_OK it was reset under the driver
        // (a function-level or bus reset from outside, 4.1.4.3: device_status reads 0 after reset).
        if ((deviceStatus & STATUS_NEEDS_RESET) != 0)
            restart_.stop(
                *this,
                "virtio-net " + name() + ": the device set DEVICE_NEEDS_RESET (an error it cannot recover from)");
        else if ((deviceStatus & STATUS_DRIVER_OK) == 0)
            restart_.stop(*this,
                          "virtio-net " + name() + ": the device was reset under the driver (device status " +
                              std::to_string(deviceStatus) + ")");
        else updateLinkStatus();
    }
    if (eventLoop() != nullptr) setRelativeTimeout(kLinkWatchdog);
}

void VirtioNetDriver::releaseDevice(const std::string& why) {
    QueueGate::Control control(queueGate());
    if (status() != 0xff) resetDevice();  // still there: it stops using the queues first
    setRunning(false);
    restart_.clear();
    memory_.release();  // the IOMMU forgets the rings and pools: no DMA can reach them any more
    releaseQueues();    // so their netbufs can go back
    for (PciBar& bar : bars_) bar.detach();
    device_->release();
    setFaultDescription("virtio-net " + name() + ": " + why + ": released; the interface is gone");
    setLinkStatus(LinkStatus::down);
    setInactive();
}

LinkStatus VirtioNetDriver::updateLinkStatus() {
    if (device_->isReleased()) return LinkStatus::down;
    LinkStatus link = LinkStatus::up;
    if ((features_ & F_STATUS) != 0) {
        std::uint16_t s = *reinterpret_cast<volatile std::uint16_t*>(deviceConfig_ + CONFIG_STATUS);  // 5.1.4
        link = (s & NET_S_LINK_UP) != 0 ? LinkStatus::up : LinkStatus::down;
    }
    setLinkStatus(link);
    return link;
}

}  // namespace nexnet
