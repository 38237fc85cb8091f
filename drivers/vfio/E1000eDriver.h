#pragma once
/// @file E1000eDriver.h
/// @brief E1000eDriver: the Intel 82574L (e1000e, 8086:10d3) driven from userspace through vfio-pci.

#include "drivers/vfio/DeviceMemory.h"
#include "drivers/vfio/DeviceRestart.h"
#include "drivers/vfio/E1000eRegisters.h"
#include "framework/IOEthernet.h"
#include "framework/pci/PciDevice.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nexnet {

/// An IOEthernet driver for the Intel 82574L, the NIC QEMU emulates as "e1000e".
///
/// One receive and one transmit queue of legacy descriptors (datasheet 7.1.4, 7.2.10.1) in a small
/// DMA region of the driver, pointing at netbufs of the driver's NetbufPool, whose data region is
/// mapped for the device (DeviceMemory: IOMMU, or physical addresses without one). Received
/// netbufs go to the caller and are replaced by fresh ones from the pool; transmitted netbufs
/// (from any pool the device can reach) are freed to their owners once the device reports them done.
/// modeDescription() says how the device reaches memory and whether interrupts are available.
///
/// Interrupt mode: receive queue 0 and link changes raise MSI-X vector 0 (IVAR), whose eventfd
/// is interruptEventFd(0); the event loop calls interruptOccurred. Poll mode: interrupts masked
/// (setInterruptsEnabled(0, false)), the caller polls receive().
///
/// Filters: RAL/RAH entry 0 holds the unicast address; promiscuous and all-multicast set
/// RCTL.UPE/MPE; joined groups are hashed into the multicast table (MTA).
/// Statistics: the framework counts what the rings carry; the link watchdog (once a second, with
/// an event loop) also reads the device's clear-on-read counters into hardwareStatistics() and
/// reports the frames the rings never saw (missed for want of a descriptor, bad CRC) and
/// collisions.
///
/// Threading: one queue pair (queueCount() 1: the 82574L's second queue is not used), so one
/// thread: with several workers (QueueWorkers, nexnet-fwd --threads) only worker 0 runs it, and
/// nexnet-fwd refuses more threads than queue pairs. The link watchdog runs on the driver's event
/// loop, which is queue 0's.
class E1000eDriver : public IOEthernet {
public:
    static constexpr std::uint16_t kVendorId = 0x8086;  ///< Intel.
    static constexpr std::uint16_t kDeviceId = 0x10d3;  ///< 82574L.

    /// How the driver is set up.
    struct Options {
        unsigned rxRingSize = 512;                    ///< Receive descriptors (multiple of 8, 8-4096).
        unsigned txRingSize = 512;                    ///< Transmit descriptors (multiple of 8, 8-4096).
        bool interrupts = true;                       ///< Set up MSI-X (interrupt mode available); false: poll only.
        std::chrono::milliseconds linkTimeout{3000};  ///< How long resetAndEnable waits for link.
    };

    /// The device's clear-on-read counters, accumulated since the driver was created (10.2.7).
    /// The device counts only frames that passed its address filter (GPRC).
    struct HardwareStatistics {
        std::uint64_t goodPacketsReceived = 0;      ///< GPRC
        std::uint64_t goodPacketsTransmitted = 0;   ///< GPTC
        std::uint64_t goodOctetsReceived = 0;       ///< GORCL/H
        std::uint64_t goodOctetsTransmitted = 0;    ///< GOTCL/H
        std::uint64_t totalPacketsReceived = 0;     ///< TPR
        std::uint64_t totalPacketsTransmitted = 0;  ///< TPT
        std::uint64_t missedPackets = 0;            ///< MPC
        std::uint64_t receiveNoBuffers = 0;         ///< RNBC
        std::uint64_t crcErrors = 0;                ///< CRCERRS
        std::uint64_t collisions = 0;               ///< COLC
    };

    /// Takes @p device (an 82574L opened through vfio-pci), enables bus mastering, maps BAR 0,
    /// maps its rings and @p pool into the device's container and reads the MAC address from
    /// RAL0/RAH0. The driver is stopped: bring it up with resetAndEnable(true) (or IFF_UP).
    /// Errors: EINVAL (ring sizes, pool buffers under 2048 bytes of data room), ENODEV (not an
    /// 82574L), ENOMEM, or the errno of the mapping; @p message and the Result's message explain.
    static Result<std::unique_ptr<E1000eDriver>> create(std::unique_ptr<PciDevice> device,
                                                        std::shared_ptr<NetbufPool> pool, const Options& options,
                                                        std::string* message = nullptr);
    /// Stops the device (CTRL.RST), frees the netbufs of its rings and unmaps its memory.
    ~E1000eDriver() override;

    /// Resets the device (CTRL.RST), programs address, filters, rings and interrupts, sets the link
    /// up (CTRL.SLU) and waits up to Options::linkTimeout for STATUS.LU; with @p enable false only
    /// resets and stops it, freeing the netbufs in the rings. Clears a fault the watchdog found
    /// (a reset under the driver). @return 0, ENOBUFS (pool too small for the receive ring),
    /// ENOMEM, or ENODEV once the device was released (hot-unplug).
    int resetAndEnable(bool enable) override;
    /// MSI-X vector 0's eventfd for queue 0, -1 without MSI-X (the same from creation to destruction).
    int interruptEventFd(unsigned queue) const override;
    /// Unmasks (IMS) or masks (IMC) the receive and link interrupts.
    int setInterruptsEnabled(unsigned queue, bool enabled) override;
    /// Reads the eventfd, clears ICR, updates the link on a link change, then receives (base).
    void interruptOccurred(unsigned queue) override;
    /// The watchdog, every second while an event loop is attached: polls the link (STATUS.LU)
    /// and collects the hardware counters. It also watches the device itself:
    /// - the kernel asks for it back (hot-unplug, unbind: PciDevice::enableRemovalRequest) or it
    ///   reads as all ones (removed): the driver stops it if it can, unmaps its DMA, gives the
    ///   netbufs of its rings back, lets go of its BAR and closes it (PciDevice::release), so that
    ///   the removal finishes; the link goes down and faultDescription() says "... released; the
    ///   interface is gone" for good (resetAndEnable is ENODEV from then on);
    /// - it was reset under the driver (RCTL.EN found clear, e.g. a function-level or bus reset
    ///   from outside): the driver resets it properly, takes back the netbufs of its rings and
    ///   says so in faultDescription() with the link down; on the next tick it brings it up again
    ///   (as resetAndEnable(true)) and the fault clears.
    /// Runs as a control call (the queue gate closed while it stops or restarts the device).
    void timeoutOccurred() override;
    /// Writes RAL0/RAH0.
    int setHardwareAddress(const EthernetAddress& address) override;
    /// Sets or clears RCTL.UPE (and MPE, which promiscuous mode implies).
    int setPromiscuousMode(bool enabled) override;
    /// Sets or clears RCTL.MPE.
    int setMulticastMode(bool enabled) override;
    /// Adds the group to the list and its hash bit to the MTA.
    int addMulticastAddress(const EthernetAddress& address) override;
    /// Removes the group and rebuilds the MTA.
    int removeMulticastAddress(const EthernetAddress& address) override;

    /// Reads STATUS.LU and records it with setLinkStatus. Control thread. @return the link state.
    LinkStatus updateLinkStatus();
    /// Reads and accumulates the hardware counters (reporting missed frames, CRC errors and
    /// collisions to the framework's counters, as the watchdog does every second). Control
    /// thread, while the queue's thread is not receiving. @return the totals so far.
    const HardwareStatistics& hardwareStatistics();
    /// The PCI device.
    PciDevice& device() { return *device_; }
    /// True when MSI-X was set up (interrupt mode possible).
    bool hasInterrupts() const { return device_->msixEventFd(0) >= 0; }

protected:
    /// Takes up to @p max received frames (queue 0), refilling the ring from the pool; a frame
    /// whose buffer cannot be replaced stays in the ring and is reported as a receive drop.
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override;
    /// Queues up to @p count frames on queue 0; frees those the device finished. Writes TDT once.
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override;
    /// Starts the watchdog on the new event loop, if any.
    int eventLoopChanged() override;

private:
    E1000eDriver(std::unique_ptr<PciDevice> device, const Options& options);
    unsigned receiveDone(Netbuf** out, unsigned max);
    HardwareStatistics readHardwareCounters();
    void collectHardwareStatistics();
    int setUpRings();
    void releaseRings();
    void writeReceiveControl();
    void writeMulticastTable();
    unsigned cleanTransmitRing();
    void releaseDevice(const std::string& why);
    std::uint32_t read(std::uint32_t reg) const { return bar_.read32(reg); }
    void write(std::uint32_t reg, std::uint32_t value) { bar_.write32(reg, value); }

    std::unique_ptr<PciDevice> device_;
    Options options_;
    PciBar bar_;
    DeviceMemory memory_;  // after device_: unmapped once the destructor stopped the device
    volatile e1000e::RxDescriptor* rxRing_ = nullptr;
    volatile e1000e::TxDescriptor* txRing_ = nullptr;
    std::vector<Netbuf*> rxNetbufs_;
    std::vector<Netbuf*> txNetbufs_;
    unsigned rxNext_ = 0;   // next descriptor the device will fill
    unsigned txTail_ = 0;   // next descriptor to hand to the device
    unsigned txClean_ = 0;  // oldest descriptor not yet freed
    unsigned txInFlight_ = 0;
    bool interruptsEnabled_ = false;
    DeviceRestart restart_;  // the watchdog stopped the device after a reset under it
    HardwareStatistics hardware_;
};

}  // namespace nexnet
