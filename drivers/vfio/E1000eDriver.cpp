#include "drivers/vfio/E1000eDriver.h"

#include "drivers/vfio/E1000eWriteBack.h"
#include "drivers/vfio/ReceiveRefill.h"
#include "drivers/vfio/TransmitCompletions.h"
#include "framework/EventLoop.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace nexnet {

using namespace e1000e;

namespace {

constexpr std::uint32_t kReceiveBufferSize = 2048;  // RCTL.BSIZE = 00b with BSEX = 0 (10.2.5.1)
constexpr std::uint32_t kMaxFrame = 16288;          // one legacy descriptor's buffer at most (7.2.10.1)
constexpr std::chrono::seconds kLinkWatchdog{1};

bool validRingSize(unsigned size) { return size >= 8 && size <= 4096 && size % 8 == 0; }

// The MTA bit of a group with RCTL.MO = 00b: destination address bits 47:36 (10.2.5.1, MO) pick
// one of the 4096 bits, whose word is bits 11:5 and whose bit in it is bits 4:0.
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
    auto failure = [&](int error, std::string why) {
        if (message != nullptr) *message = why;
        return R::failure(error, std::move(why));
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
    std::string text;
    const std::size_t ringBytes = (options.rxRingSize + options.txRingSize) * sizeof(RxDescriptor);
    if (int error = d->memory_.setUp(*d->device_, pool, ringBytes, "nexnet-e1000e-rings", &text); error != 0)
        return failure(error, "e1000e: " + text);
    auto bar = d->device_->mapBar(0);
    if (!bar) return failure(bar.error(), "e1000e: cannot map BAR 0");
    d->bar_ = std::move(*bar);
    d->rxRing_ = reinterpret_cast<volatile RxDescriptor*>(d->memory_.rings());
    d->txRing_ =
        reinterpret_cast<volatile TxDescriptor*>(d->memory_.rings() + options.rxRingSize * sizeof(RxDescriptor));
    d->setPool(std::move(pool));
    d->rxNetbufs_.assign(options.rxRingSize, nullptr);
    d->txNetbufs_.assign(options.txRingSize, nullptr);

    // What an earlier user left in the clear-on-read counters is not this driver's (a reset
    // does not clear them in QEMU's model): read it away.
    d->readHardwareCounters();
    // Every cause masked (IMC, 10.2.4.1) until resetAndEnable; MSI-X vector 0 carries receive and link.
    d->write(IMC, ~0u);
    if (options.interrupts && d->device_->msixVectorCount() > 0) d->device_->enableMsix(1);
    // Hot-unplug and unbind: the kernel asks for the device back through vfio's request channel
    // (the watchdog hears it and releases the device). Without one (ENOTSUP) a removal waits for
    // the program to close the device.
    d->device_->enableRemovalRequest();

    // The permanent address: what the device loaded into RAL0/RAH0 from its NVM at reset.
    std::uint32_t low = d->read(RAL0), high = d->read(RAH0);
    std::uint8_t mac[6] = {static_cast<std::uint8_t>(low),       static_cast<std::uint8_t>(low >> 8),
                           static_cast<std::uint8_t>(low >> 16), static_cast<std::uint8_t>(low >> 24),
                           static_cast<std::uint8_t>(high),      static_cast<std::uint8_t>(high >> 8)};
    if (int error = d->attachToNetworkWithAddress(EthernetAddress::fromBytes(mac)); error != 0)
        return failure(error, "e1000e: the device reports a multicast MAC address");
    d->setModeDescription("Intel 82574L (e1000e) via " + d->memory_.describe() + ", " +
                          (d->hasInterrupts() ? "MSI-X interrupts or polling" : "polling only"));
    return d;
}

E1000eDriver::~E1000eDriver() {
    if (bar_.isMapped() && !device_->isReleased()) {
        // Stop all DMA before memory_ unmaps the rings and pools (4.6.1: mask, receiver and
        // transmitter off, CTRL.RST), and give the reset time to finish.
        write(IMC, ~0u);
        write(RCTL, 0);
        write(TCTL, 0);
        write(CTRL, read(CTRL) | CTRL_RST);
        usleep(10000);
    }
    releaseRings();
}

int E1000eDriver::resetAndEnable(bool enable) {
    if (device_->isReleased()) return ENODEV;
    // Whatever stopped the device under the driver, this reset starts it afresh.
    if (restart_.clear()) setFaultDescription("");
    // Reset (4.6.1): mask interrupts, receiver and transmitter off, CTRL.RST (10.2.2.1), which
    // clears itself; then mask again and clear what the reset left in ICR (10.2.4.1).
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
    // PCI 3.0, 6.2.2: bus mastering again, which a reset from outside the driver may have cleared.
    device_->enableBusMaster();
    // CTRL.SLU and ASDE (10.2.2.1): let the MAC take the link the PHY negotiated.
    write(CTRL, read(CTRL) | CTRL_SLU | CTRL_ASDE);
    setHardwareAddress(hardwareAddress());
    writeMulticastTable();
    if (int error = setUpRings(); error != 0) return error;

    // MSI-X routing (IVAR, 10.2.4.9): receive queue 0 and the "other" causes (link) to vector 0.
    // No interrupt throttling (ITR, 10.2.4.2): the event loop batches by itself.
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
        rxRing_[i].status = 0;  // 7.1.8: a zero status byte is how software tells a descriptor not yet filled
    }
    for (unsigned i = 0; i < txSize; ++i) {
        txRing_[i].address = 0;
        txRing_[i].command = 0;
        txRing_[i].status = 0;
    }
    // The descriptors are in memory before the device learns where the rings are: it may fetch as
    // soon as RDT gives it descriptors (7.1.8). On x86 a release fence only keeps the compiler from
    // moving the stores; the CPU already keeps stores to memory ahead of a later uncached register write.
    std::atomic_thread_fence(std::memory_order_release);
    const std::uint64_t rxAddress = memory_.ringAddress(),
                        txAddress = memory_.ringAddress(rxSize * sizeof(RxDescriptor));
    // Receive ring (4.6.5): base, length in bytes (a multiple of 128, 7.1.8), head 0.
    write(RDBAL, static_cast<std::uint32_t>(rxAddress));
    write(RDBAH, static_cast<std::uint32_t>(rxAddress >> 32));
    write(RDLEN, rxSize * sizeof(RxDescriptor));
    write(RDH, 0);
    // Tail write: the device owns the descriptors from head up to, not including, the tail
    // (7.1.8), and head == tail means it owns none. rxSize - 1 gives it all but one, so the ring
    // never looks empty to it when full; that one is handed over by the first receiveBurst.
    write(RDT, rxSize - 1);
    // No receive interrupt delay (RDTR, RADV): the event loop batches by itself.
    write(RDTR, 0);
    write(RADV, 0);
    rxNext_ = 0;
    writeReceiveControl();  // RCTL.EN last (4.6.5): the ring is ready
    // Transmit ring (4.6.6): base, length, head and tail 0 (empty, 7.2.4), then TCTL.EN.
    write(TDBAL, static_cast<std::uint32_t>(txAddress));
    write(TDBAH, static_cast<std::uint32_t>(txAddress >> 32));
    write(TDLEN, txSize * sizeof(TxDescriptor));
    write(TDH, 0);
    write(TDT, 0);
    txTail_ = txClean_ = txInFlight_ = 0;
    write(TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);
    return 0;
}

void E1000eDriver::releaseRings() {
    DeviceMemory::freeNetbufs(rxNetbufs_);
    DeviceMemory::freeNetbufs(txNetbufs_);
    txInFlight_ = 0;
}

void E1000eDriver::writeReceiveControl() {
    // RCTL (10.2.5.1): enabled, broadcasts accepted, CRC stripped, BSIZE 00b (2048-byte buffers);
    // UPE takes every unicast frame, MPE every multicast one; otherwise RAL0/RAH0 and the MTA filter.
    std::uint32_t rctl = RCTL_EN | RCTL_BAM | RCTL_SECRC;
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
    for (unsigned i = 0; i < MTA_REGISTERS; ++i) write(MTA + 4 * i, table[i]);  // 32-bit writes only
}

unsigned E1000eDriver::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    if (queue != 0 || !isRunning()) return 0;
    if ((rxRing_[rxNext_].status & RX_DD) == 0) return 0;  // nothing received: the cheapest poll
    return receiveDone(out, max);
}

// Out of line, so that an empty poll does not pay for saving the registers this part needs.
[[gnu::noinline]] unsigned E1000eDriver::receiveDone(Netbuf** out, unsigned max) {
    const unsigned size = options_.rxRingSize;
    // Count the descriptors done (DD) first, so their replacements come in one bulk get.
    // Only descriptors the device was given: a DD further on (the one kept at the tail, or a lap
    // around a small ring) is a device bug, not a frame.
    const unsigned limit = E1000eWriteBack::readable(size, std::min(max, ReceiveRefill::kMaxBurst));
    unsigned ready = 0;
    for (unsigned at = rxNext_; ready < limit && (rxRing_[at].status & RX_DD) != 0; at = at + 1 == size ? 0 : at + 1)
        ready++;
    // The device writes a descriptor back whole, DD included, after the frame (7.1.7.1): read
    // length, errors and the frame only after seeing DD. Acquire: on x86 a compiler barrier (loads
    // are not reordered with older loads).
    std::atomic_thread_fence(std::memory_order_acquire);
    Netbuf* fresh[ReceiveRefill::kMaxBurst];
    ReceiveRefill refill(*pool(), fresh, ready);
    unsigned n = 0, errors = 0, drops = 0, last = size;
    for (unsigned i = 0; i < ready; ++i) {
        volatile RxDescriptor& d = rxRing_[rxNext_];
        if (Netbuf* received = refill.exchange(rxNetbufs_[rxNext_])) {
            // EOP and no error (7.1.4), a length from an Ethernet header to the buffer: one whole
            // good frame. More than one buffer would mean a frame over 2048 bytes, which the MTU
            // forbids: not for us.
            if (E1000eWriteBack::judge(d.status, d.errors, d.length, kReceiveBufferSize) ==
                    E1000eWriteBack::Verdict::accepted &&
                received->setSize(d.length) == 0) {
                out[n++] = received;
            } else {
                errors++;
                received->free();
            }
        } else {
            drops++;  // no netbuf to replace it: the frame is dropped, the buffer stays in the ring
        }
        d.address = rxNetbufs_[rxNext_]->ioAddress();
        d.status = 0;  // 7.1.8: not filled yet
        last = rxNext_;
        rxNext_ = rxNext_ + 1 == size ? 0 : rxNext_ + 1;
    }
    if (last != size) {
        // The new buffer addresses and cleared status bytes are in memory before the tail hands
        // the descriptors back: the device fetches up to the tail at once (7.1.8). Release: on
        // x86 a compiler barrier (stores to memory stay ahead of the uncached register write).
        std::atomic_thread_fence(std::memory_order_release);
        // Tail write: the device may fill every descriptor before `last`; `last` itself stays
        // ours (7.1.8: head == tail would read as an empty ring), handed over by the next burst.
        write(RDT, last);
    }
    if (errors != 0) report(QueueEvent::receiveError, 0, errors);
    if (drops != 0) report(QueueEvent::receiveDrop, 0, drops);
    return n;
}

unsigned E1000eDriver::cleanTransmitRing() {
    // The device writes TX_DD back (every descriptor asks with TX_RS) once it has read the
    // descriptor and its buffer (7.2.10.1), oldest first (7.2.4): from then on the netbuf is ours
    // to free. Nothing else of the descriptor is read, so no barrier is needed after DD.
    TransmitCompletions done;
    unsigned freed = 0;
    const unsigned size = options_.txRingSize;
    while (txInFlight_ > 0 && (txRing_[txClean_].status & TX_DD) != 0) {
        done.add(txNetbufs_[txClean_]);
        txNetbufs_[txClean_] = nullptr;
        txClean_ = txClean_ + 1 == size ? 0 : txClean_ + 1;
        txInFlight_--;
        freed++;
    }
    return freed;
}

unsigned E1000eDriver::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    if (queue != 0 || !isRunning()) return 0;
    cleanTransmitRing();
    const unsigned size = options_.txRingSize;
    unsigned accepted = 0;
    // One descriptor stays empty: head == tail means an empty ring to the device (7.2.4).
    while (accepted < count && txInFlight_ < size - 1) {
        Netbuf* nb = packets[accepted];
        if (!memory_.reachable(nb) || nb->size() == 0 || nb->size() > kMaxFrame) {
            report(QueueEvent::transmitError, 0, *nb);  // the device cannot reach or send it
            nb->free();
            accepted++;
            continue;
        }
        volatile TxDescriptor& d = txRing_[txTail_];  // a legacy descriptor (7.2.10.1)
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
        // The descriptors and the frames they point at (written by whoever filled the netbufs)
        // are in memory before the tail moves over them: the device fetches up to the tail at
        // once and never beyond it (7.2.4.1). Release: on x86 a compiler barrier.
        std::atomic_thread_fence(std::memory_order_release);
        // Tail write: the doorbell; the device sends the descriptors from its head up to txTail_ (7.2.4).
        write(TDT, txTail_);
    }
    return accepted;
}

int E1000eDriver::interruptEventFd(unsigned queue) const { return queue == 0 ? device_->msixEventFd(0) : -1; }

int E1000eDriver::setInterruptsEnabled(unsigned queue, bool enabled) {
    if (queue != 0 || !hasInterrupts()) return EOPNOTSUPP;
    interruptsEnabled_ = enabled;
    if (enabled) {
        write(IMS, ICR_RXQ0 | ICR_RXT0 | ICR_LSC | ICR_OTHER);  // IMS (10.2.4): unmask these causes
    } else {
        write(IMC, ~0u);  // IMC: mask every cause
    }
    return 0;
}

void E1000eDriver::interruptOccurred(unsigned queue) {
    std::uint64_t count;
    if (::read(device_->msixEventFd(0), &count, sizeof count) < 0 && errno != EAGAIN) return;
    // Clear the causes before receiving (ICR is write-1-to-clear, 10.2.4.1): a frame arriving
    // from here on raises a new interrupt.
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
    if (device_->isReleased()) return;  // gone for good: nothing left to watch
    // The kernel wants the device back (hot-unplug, unbind), or it reads as absent (a read of a
    // removed device completes with all ones): let go of it, so that the removal can finish.
    if (device_->removalRequested())
        return releaseDevice("the kernel asked for the device back (hot-unplug or unbind)");
    if (read(STATUS) == ~0u) return releaseDevice("the device reads as all ones (removed)");
    if (restart_.pending()) {
        restart_.restart(*this);
    } else if (isRunning()) {
        // Running, the driver keeps RCTL.EN set (writeReceiveControl): found clear, the device was
        // reset under it (a function-level or bus reset, 10.2.5.1 RCTL's reset value 0), and its
        // rings, addresses and filters are gone with it.
        if ((read(RCTL) & RCTL_EN) == 0) {
            restart_.stop(*this, "e1000e " + name() + ": the device was reset under the driver (RCTL.EN found clear)");
        } else {
            updateLinkStatus();
            collectHardwareStatistics();
        }
    }
    if (eventLoop() != nullptr) setRelativeTimeout(kLinkWatchdog);
}

void E1000eDriver::releaseDevice(const std::string& why) {
    QueueGate::Control control(queueGate());
    if (read(STATUS) != ~0u) {  // still there: stop its DMA first (4.6.1: mask, receiver and transmitter off)
        write(IMC, ~0u);
        write(RCTL, 0);
        write(TCTL, 0);
    }
    setRunning(false);
    restart_.clear();
    memory_.release();  // the IOMMU forgets the rings and pools: no DMA can reach them any more
    releaseRings();     // so their netbufs can go back
    bar_.detach();
    device_->release();
    setFaultDescription("e1000e " + name() + ": " + why + ": released; the interface is gone");
    setLinkStatus(LinkStatus::down);
    setInactive();
}

LinkStatus E1000eDriver::updateLinkStatus() {
    if (device_->isReleased()) return LinkStatus::down;
    LinkStatus status = (read(STATUS) & STATUS_LU) != 0 ? LinkStatus::up : LinkStatus::down;  // 10.2.2.2
    setLinkStatus(status);
    return status;
}

int E1000eDriver::setHardwareAddress(const EthernetAddress& address) {
    if (address.isMulticast() || address.isZero()) return EINVAL;
    // Receive address 0 (RAL0/RAH0), low word first, then the high word with Address Valid.
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
    if (!device_->isReleased()) collectHardwareStatistics();
    return hardware_;
}

E1000eDriver::HardwareStatistics E1000eDriver::readHardwareCounters() {
    // The statistics registers clear when read (10.2.7): each is read once; what it held is what
    // the device counted since the last read. The 64-bit octet counters are read low word first.
    HardwareStatistics h;
    h.missedPackets = read(MPC);
    h.crcErrors = read(CRCERRS);
    h.collisions = read(COLC);
    h.goodPacketsReceived = read(GPRC);
    h.goodPacketsTransmitted = read(GPTC);
    h.goodOctetsReceived = read(GORCL);
    h.goodOctetsReceived += static_cast<std::uint64_t>(read(GORCH)) << 32;
    h.goodOctetsTransmitted = read(GOTCL);
    h.goodOctetsTransmitted += static_cast<std::uint64_t>(read(GOTCH)) << 32;
    h.totalPacketsReceived = read(TPR);
    h.totalPacketsTransmitted = read(TPT);
    h.receiveNoBuffers = read(RNBC);
    return h;
}

void E1000eDriver::collectHardwareStatistics() {
    // Add up, and report what the framework cannot see itself: frames the device missed for want
    // of a descriptor (MPC) and frames with a bad CRC (CRCERRS), which never reach the rings, and
    // collisions (COLC).
    const HardwareStatistics d = readHardwareCounters();
    HardwareStatistics& h = hardware_;
    h.goodPacketsReceived += d.goodPacketsReceived;
    h.goodPacketsTransmitted += d.goodPacketsTransmitted;
    h.goodOctetsReceived += d.goodOctetsReceived;
    h.goodOctetsTransmitted += d.goodOctetsTransmitted;
    h.totalPacketsReceived += d.totalPacketsReceived;
    h.totalPacketsTransmitted += d.totalPacketsTransmitted;
    h.missedPackets += d.missedPackets;
    h.receiveNoBuffers += d.receiveNoBuffers;
    h.crcErrors += d.crcErrors;
    h.collisions += d.collisions;
    if (d.missedPackets != 0) report(QueueEvent::receiveDrop, 0, d.missedPackets);
    if (d.crcErrors != 0) report(QueueEvent::receiveError, 0, d.crcErrors);
    if (d.collisions != 0) report(QueueEvent::collision, 0, d.collisions);
}

}  // namespace nexnet
