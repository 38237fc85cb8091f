#include "drivers/vfio/E1000eDriver.h"

#include "framework/EventLoop.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <thread>
#include <unistd.h>

namespace nexnet {

using namespace e1000e;

namespace {

constexpr unsigned kRefillBurst = 64;  // most descriptors one receiveBurst takes and refills

constexpr std::uint32_t kReceiveBufferSize = 2048;  // RCTL.BSIZE = 00b, BSEX = 0 (10.2.5.1)
constexpr std::chrono::seconds kLinkWatchdog{1};

bool validRingSize(unsigned size) { return size >= 8 && size <= 4096 && size % 8 == 0; }

// MTA hash with RCTL.MO = 00b: bits 47:36 of the destination address (datasheet 10.2.5.x, MTA).
unsigned multicastHash(const EthernetAddress& a) {
    const auto& b = a.bytes;
    return ((b[4] >> 4) | (static_cast<unsigned>(b[5]) << 4)) & 0xfff;
}

}  // namespace

E1000eDriver::E1000eDriver(std::unique_ptr<PciDevice> device, const Options& options)
    : device_(std::move(device)), options_(options) {}

Result<std::unique_ptr<E1000eDriver>> E1000eDriver::create(std::unique_ptr<PciDevice> device,
                                                           std::shared_ptr<NetbufPool> pool, const Options& options,
                                                           std::string* message) {
    using R = Result<std::unique_ptr<E1000eDriver>>;
    auto failure = [&](int error, std::string text) {
        if (message != nullptr) *message = std::move(text);
        return R::failure(error);
    };
    if (!device || !pool) return failure(EINVAL, "e1000e: no device or no pool");
    if (device->vendorId() != kVendorId || device->deviceId() != kDeviceId)
        return failure(ENODEV, device->address() + " is not an Intel 82574L (8086:10d3)");
    if (!validRingSize(options.rxRingSize) || !validRingSize(options.txRingSize))
        return failure(EINVAL, "e1000e: ring sizes must be multiples of 8 between 8 and 4096");
    if (pool->bufferSize() - pool->headroom() < kReceiveBufferSize)
        return failure(EINVAL, "e1000e: pool buffers need 2048 bytes of data room (receive buffer size)");
    if (pool->capacity() < options.rxRingSize + 64)
        return failure(EINVAL, "e1000e: pool smaller than the receive ring plus 64 netbufs");

    std::unique_ptr<E1000eDriver> d(new E1000eDriver(std::move(device), options));
    d->setName(d->device_->address());
    if (int error = d->device_->enableBusMaster(); error != 0) return failure(error, "e1000e: cannot enable bus mastering");
    auto bar = d->device_->mapBar(0);
    if (!bar) return failure(bar.error(), "e1000e: cannot map BAR 0");
    d->bar_ = std::move(*bar);

    size_t ringBytes = (options.rxRingSize + options.txRingSize) * sizeof(RxDescriptor);
    DmaRegion::Options ringOptions;
    ringOptions.name = "nexnet-e1000e-rings";
    ringOptions.hugepages = false;
    auto ring = DmaRegion::allocate(ringBytes, ringOptions);
    if (!ring) return failure(ring.error(), "e1000e: cannot allocate descriptor rings");
    d->ringMemory_ = std::move(*ring);
    VfioContainer& container = d->device_->container();
    auto iova = container.mapDma(d->ringMemory_.data(), d->ringMemory_.size());
    if (!iova) return failure(iova.error(), container.lastError());
    d->ringIova_ = *iova;
    d->ringMemory_.setIova(*iova);
    d->rxRing_ = reinterpret_cast<volatile RxDescriptor*>(d->ringMemory_.data());
    d->txRing_ = reinterpret_cast<volatile TxDescriptor*>(d->ringMemory_.data() + options.rxRingSize * sizeof(RxDescriptor));
    if (int error = container.mapPool(*pool); error != 0) return failure(error, container.lastError());
    d->setPool(std::move(pool));
    d->rxNetbufs_.assign(options.rxRingSize, nullptr);
    d->txNetbufs_.assign(options.txRingSize, nullptr);

    // Mask everything until resetAndEnable; MSI-X vector 0 carries receive and link causes.
    d->write(IMC, ~0u);
    if (options.interrupts && d->device_->msixVectorCount() > 0) d->device_->enableMsix(1);

    // The permanent address is what the EEPROM loaded into RAL0/RAH0 (10.2.5.x).
    std::uint32_t low = d->read(RAL0), high = d->read(RAH0);
    std::uint8_t mac[6] = {static_cast<std::uint8_t>(low), static_cast<std::uint8_t>(low >> 8),
                           static_cast<std::uint8_t>(low >> 16), static_cast<std::uint8_t>(low >> 24),
                           static_cast<std::uint8_t>(high), static_cast<std::uint8_t>(high >> 8)};
    if (int error = d->attachToNetworkWithAddress(EthernetAddress::fromBytes(mac)); error != 0)
        return failure(error, "e1000e: the device reports a multicast MAC address");
    return d;
}

E1000eDriver::~E1000eDriver() {
    if (bar_.isMapped()) {
        write(IMC, ~0u);
        write(RCTL, 0);
        write(TCTL, 0);
        write(CTRL, read(CTRL) | CTRL_RST);  // stop all DMA before the memory is unmapped
        usleep(10000);
    }
    releaseRings();
    clearTimeout();
    VfioContainer& container = device_->container();
    if (pool() != nullptr) container.unmapPool(*pool());
    if (ringIova_ != 0) container.unmapDma(ringIova_);
    foreignPools_.unmapAll(container);
}

int E1000eDriver::resetAndEnable(bool enable) {
    // Reset (datasheet 4.6.1): mask interrupts, CTRL.RST, wait for it to clear, mask again.
    write(IMC, ~0u);
    write(RCTL, 0);
    write(TCTL, 0);
    write(CTRL, read(CTRL) | CTRL_RST);
    usleep(1000);
    for (int i = 0; i < 100 && (read(CTRL) & CTRL_RST) != 0; ++i) usleep(1000);
    write(IMC, ~0u);
    write(ICR, read(ICR));
    releaseRings();
    if (!enable) {
        setRunning(false);
        setLinkStatus(LinkStatus::down);
        return 0;
    }
    write(CTRL, read(CTRL) | CTRL_SLU | CTRL_ASDE);
    setHardwareAddress(hardwareAddress());
    writeMulticastTable();
    if (int error = setUpRings(); error != 0) return error;

    // MSI-X routing (10.2.4.9): receive queue 0 and "other" (link) causes to vector 0.
    write(IVAR, ((IVAR_VALID | 0) << IVAR_RXQ0_SHIFT) | ((IVAR_VALID | 0) << IVAR_OTHER_SHIFT));
    write(ITR, 0);
    if (interruptsEnabled_) write(IMS, ICR_RXQ0 | ICR_RXT0 | ICR_LSC | ICR_OTHER);

    auto deadline = std::chrono::steady_clock::now() + options_.linkTimeout;
    while ((read(STATUS) & STATUS_LU) == 0 && std::chrono::steady_clock::now() < deadline) usleep(10000);
    setRunning(true);
    updateLinkStatus();
    return 0;
}

int E1000eDriver::setUpRings() {
    const unsigned rxSize = options_.rxRingSize, txSize = options_.txRingSize;
    if (pool()->allocateBulk(rxNetbufs_.data(), rxSize) != 0) return ENOBUFS;
    for (unsigned i = 0; i < rxSize; ++i) {
        rxRing_[i].address = rxNetbufs_[i]->ioAddress();
        rxRing_[i].status = 0;
    }
    for (unsigned i = 0; i < txSize; ++i) {
        txRing_[i].address = 0;
        txRing_[i].command = 0;
        txRing_[i].status = 0;
    }
    std::atomic_thread_fence(std::memory_order_release);  // descriptors visible before the device looks
    std::uint64_t rxIova = ringIova_, txIova = ringIova_ + rxSize * sizeof(RxDescriptor);
    write(RDBAL, static_cast<std::uint32_t>(rxIova));
    write(RDBAH, static_cast<std::uint32_t>(rxIova >> 32));
    write(RDLEN, rxSize * sizeof(RxDescriptor));
    write(RDH, 0);
    write(RDT, rxSize - 1);  // every descriptor but one belongs to the device
    write(RDTR, 0);
    write(RADV, 0);
    rxNext_ = 0;
    writeReceiveControl();
    write(TDBAL, static_cast<std::uint32_t>(txIova));
    write(TDBAH, static_cast<std::uint32_t>(txIova >> 32));
    write(TDLEN, txSize * sizeof(TxDescriptor));
    write(TDH, 0);
    write(TDT, 0);
    txTail_ = txClean_ = txInFlight_ = 0;
    write(TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);
    return 0;
}

void E1000eDriver::releaseRings() {
    for (Netbuf*& nb : rxNetbufs_) {
        if (nb != nullptr) nb->free();
        nb = nullptr;
    }
    for (Netbuf*& nb : txNetbufs_) {
        if (nb != nullptr) nb->free();
        nb = nullptr;
    }
    txInFlight_ = 0;
}

void E1000eDriver::writeReceiveControl() {
    std::uint32_t rctl = RCTL_EN | RCTL_BAM | RCTL_SECRC;  // BSIZE 00b: 2048-byte buffers
    if (isPromiscuous()) rctl |= RCTL_UPE | RCTL_MPE;
    if (isAllMulticast()) rctl |= RCTL_MPE;
    write(RCTL, rctl);
}

void E1000eDriver::writeMulticastTable() {
    std::uint32_t table[MTA_REGISTERS] = {};
    for (const EthernetAddress& a : multicastAddresses()) {
        unsigned hash = multicastHash(a);
        table[hash >> 5] |= 1u << (hash & 31);
    }
    for (unsigned i = 0; i < MTA_REGISTERS; ++i) write(MTA + 4 * i, table[i]);
}

unsigned E1000eDriver::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    if (queue != 0 || !isRunning()) return 0;
    const unsigned size = options_.rxRingSize;
    if ((rxRing_[rxNext_].status & RX_DD) == 0) return 0;  // nothing received: the cheapest poll
    unsigned n = 0, errors = 0, drops = 0, last = size;
    // Count the descriptors done (DD) first, so their replacement buffers come in one bulk get
    // (the pool's thread cache); one at a time only when the pool cannot give them all.
    const unsigned limit = std::min(max, kRefillBurst);
    unsigned ready = 0;
    for (unsigned at = rxNext_; ready < limit && (rxRing_[at].status & RX_DD) != 0; at = at + 1 == size ? 0 : at + 1) ready++;
    std::atomic_thread_fence(std::memory_order_acquire);  // read the descriptors after DD
    Netbuf* refills[kRefillBurst];
    const bool bulk = ready != 0 && pool()->allocateBulk(refills, ready) == 0;
    for (unsigned i = 0; i < ready; ++i) {
        volatile RxDescriptor& d = rxRing_[rxNext_];
        std::uint8_t status = d.status;
        Netbuf* fresh = bulk ? refills[i] : pool()->allocate();
        if (fresh == nullptr) {  // keep the old buffer in the ring: the frame is dropped
            drops++;
            fresh = rxNetbufs_[rxNext_];
            fresh->reset(pool()->headroom());
        } else {
            Netbuf* received = rxNetbufs_[rxNext_];
            if ((status & RX_EOP) != 0 && d.errors == 0 && received->setSize(d.length) == 0) {
                out[n++] = received;
            } else {  // a frame over several buffers or with errors: not for us (MTU 1500)
                errors++;
                received->free();
            }
        }
        rxNetbufs_[rxNext_] = fresh;
        d.address = fresh->ioAddress();
        d.status = 0;
        last = rxNext_;
        rxNext_ = rxNext_ + 1 == size ? 0 : rxNext_ + 1;
    }
    if (last != size) {
        std::atomic_thread_fence(std::memory_order_release);  // new buffer addresses before the tail
        write(RDT, last);
    }
    if (errors != 0) report(QueueEvent::receiveError, 0, errors);
    if (drops != 0) report(QueueEvent::receiveDrop, 0, drops);
    return n;
}

unsigned E1000eDriver::cleanTransmitRing() {
    // Free what the device finished (TX_DD, written back because every descriptor has TX_RS),
    // in bulk and to each netbuf's own pool: forwarded netbufs come from other drivers' pools.
    Netbuf* done[64];
    unsigned count = 0, freed = 0;
    const unsigned size = options_.txRingSize;
    while (txInFlight_ > 0 && (txRing_[txClean_].status & TX_DD) != 0) {
        done[count++] = txNetbufs_[txClean_];
        txNetbufs_[txClean_] = nullptr;
        txClean_ = txClean_ + 1 == size ? 0 : txClean_ + 1;
        txInFlight_--;
        if (count == 64) {
            NetbufPool::freeToOwners(done, count);
            freed += count;
            count = 0;
        }
    }
    if (count != 0) NetbufPool::freeToOwners(done, count);
    return freed + count;
}

unsigned E1000eDriver::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    if (queue != 0 || !isRunning()) return 0;
    cleanTransmitRing();
    const unsigned size = options_.txRingSize;
    unsigned accepted = 0;
    // One descriptor stays empty: head == tail means an empty ring to the device (7.2.10).
    while (accepted < count && txInFlight_ < size - 1) {
        Netbuf* nb = packets[accepted];
        if (!foreignPools_.reachable(nb, pool(), device_->container()) || nb->size() == 0 || nb->size() > 16288) {
            report(QueueEvent::transmitError, 0, *nb);  // the device cannot reach or send it
            nb->free();
            accepted++;
            continue;
        }
        volatile TxDescriptor& d = txRing_[txTail_];
        d.address = nb->ioAddress();
        d.length = static_cast<std::uint16_t>(nb->size());
        d.command = TX_EOP | TX_IFCS | TX_RS;
        d.status = 0;
        txNetbufs_[txTail_] = nb;
        txTail_ = txTail_ + 1 == size ? 0 : txTail_ + 1;
        txInFlight_++;
        accepted++;
    }
    if (accepted != 0) {
        std::atomic_thread_fence(std::memory_order_release);  // descriptors before the tail write
        write(TDT, txTail_);
    }
    return accepted;
}

int E1000eDriver::interruptEventFd(unsigned queue) const {
    return queue == 0 ? device_->msixEventFd(0) : -1;
}

int E1000eDriver::setInterruptsEnabled(unsigned queue, bool enabled) {
    if (queue != 0 || !hasInterrupts()) return EOPNOTSUPP;
    interruptsEnabled_ = enabled;
    if (enabled) {
        write(IMS, ICR_RXQ0 | ICR_RXT0 | ICR_LSC | ICR_OTHER);
    } else {
        write(IMC, ~0u);
    }
    return 0;
}

void E1000eDriver::interruptOccurred(unsigned queue) {
    std::uint64_t count;
    if (::read(device_->msixEventFd(0), &count, sizeof count) < 0 && errno != EAGAIN) return;
    // Clear the causes before receiving: a frame arriving from here on raises a new interrupt.
    std::uint32_t causes = read(ICR);
    write(ICR, causes);
    if ((causes & (ICR_LSC | ICR_OTHER)) != 0) updateLinkStatus();
    IOEthernet::interruptOccurred(queue);
}

int E1000eDriver::eventLoopChanged() {
    // The framework cancelled the watchdog of the previous loop; start it on the new one.
    return eventLoop() != nullptr ? setRelativeTimeout(kLinkWatchdog) : 0;
}

void E1000eDriver::timeoutOccurred() {
    if (isRunning()) {
        updateLinkStatus();
        collectHardwareStatistics();
    }
    if (eventLoop() != nullptr) setRelativeTimeout(kLinkWatchdog);
}

LinkStatus E1000eDriver::updateLinkStatus() {
    LinkStatus status = (read(STATUS) & STATUS_LU) != 0 ? LinkStatus::up : LinkStatus::down;
    setLinkStatus(status);
    return status;
}

int E1000eDriver::setHardwareAddress(const EthernetAddress& address) {
    if (address.isMulticast() || address.isZero()) return EINVAL;
    const auto& b = address.bytes;
    write(RAL0, b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24));
    write(RAH0, b[4] | (b[5] << 8) | RAH_AV);
    return IOEthernet::setHardwareAddress(address);
}

int E1000eDriver::setPromiscuousMode(bool enabled) {
    int error = IOEthernet::setPromiscuousMode(enabled);
    if (error == 0 && isRunning()) writeReceiveControl();
    return error;
}

int E1000eDriver::setMulticastMode(bool enabled) {
    int error = IOEthernet::setMulticastMode(enabled);
    if (error == 0 && isRunning()) writeReceiveControl();
    return error;
}

int E1000eDriver::addMulticastAddress(const EthernetAddress& address) {
    int error = IOEthernet::addMulticastAddress(address);
    if (error == 0) writeMulticastTable();
    return error;
}

int E1000eDriver::removeMulticastAddress(const EthernetAddress& address) {
    int error = IOEthernet::removeMulticastAddress(address);
    if (error == 0) writeMulticastTable();
    return error;
}

const E1000eDriver::HardwareStatistics& E1000eDriver::hardwareStatistics() {
    collectHardwareStatistics();
    return hardware_;
}

void E1000eDriver::collectHardwareStatistics() {
    // The statistics registers clear on read (datasheet 10.2.7): read each once, add it up, and
    // report what the framework cannot see itself: frames the device missed for want of a
    // descriptor (MPC) and frames with a bad CRC (CRCERRS), which never reach the rings, and
    // collisions (COLC).
    HardwareStatistics& h = hardware_;
    std::uint32_t missed = read(MPC), crc = read(CRCERRS), collisions = read(COLC);
    h.goodPacketsReceived += read(GPRC);
    h.goodPacketsTransmitted += read(GPTC);
    h.goodOctetsReceived += read(GORCL);
    h.goodOctetsReceived += static_cast<std::uint64_t>(read(GORCH)) << 32;
    h.goodOctetsTransmitted += read(GOTCL);
    h.goodOctetsTransmitted += static_cast<std::uint64_t>(read(GOTCH)) << 32;
    h.totalPacketsReceived += read(TPR);
    h.totalPacketsTransmitted += read(TPT);
    h.missedPackets += missed;
    h.receiveNoBuffers += read(RNBC);
    h.crcErrors += crc;
    h.collisions += collisions;
    if (missed != 0) report(QueueEvent::receiveDrop, 0, missed);
    if (crc != 0) report(QueueEvent::receiveError, 0, crc);
    if (collisions != 0) report(QueueEvent::collision, 0, collisions);
}

}  // namespace nexnet
