#pragma once
/// @file VirtioNetDriver.h
/// @brief VirtioNetDriver: a modern virtio-net PCI device (1af4:1041) driven through vfio-pci.

#include "drivers/vfio/DeviceMemory.h"
#include "drivers/vfio/DeviceRestart.h"
#include "drivers/vfio/VirtioNetLayout.h"
#include "drivers/vfio/VirtqueueUsedRing.h"
#include "framework/IOEthernet.h"
#include "framework/pci/PciDevice.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nexnet {

/// An IOEthernet driver for a modern (virtio 1.x) virtio-net PCI device, as QEMU's
/// `virtio-net-pci,disable-legacy=on,iommu_platform=on`. Section numbers: virtio 1.2.
///
/// Negotiates VERSION_1 and, behind an IOMMU, ACCESS_PLATFORM (required there: without it the
/// device would DMA to guest-physical addresses, which a VFIO process cannot know; without an
/// IOMMU physical addresses are what the driver gives it anyway), MAC and STATUS when offered,
/// and the checksum and TSO features when offered (CSUM, GUEST_CSUM, HOST_TSO4/6): the netbuf's
/// NetbufOffload travels in the 12-byte VirtioNetHeader in front of each frame, in the netbuf's
/// headroom. The split virtqueues (2.7) live in the driver's DeviceMemory.
///
/// Filters: with the control virtqueue and CTRL_RX offered (QEMU's default) the device filters
/// as a NIC does: promiscuous and all-multicast modes (VIRTIO_NET_CTRL_RX, 5.1.6.5.1) and a MAC
/// table holding the driver's address and the joined groups (VIRTIO_NET_CTRL_MAC_TABLE_SET,
/// 5.1.6.5.2), sent once the device is live and again on every change. Without CTRL_RX nothing
/// filters: the device delivers every frame and the modes are only recorded (filtersFrames()
/// says which).
///
/// Queue pairs: one by default (receiveq1 and transmitq1, MQ not negotiated). With
/// Options::queuePairs N > 1 the driver negotiates MQ (5.1.3.1: it needs the control virtqueue),
/// sets up receiveq1..N and transmitq1..N (queues 2i and 2i+1) and the control queue (queue
/// 2 * max_virtqueue_pairs), and sends VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET N once the device is live
/// (5.1.6.5.6); the device then spreads what it receives over the N receive queues (a QEMU tap
/// backend by flow hash). Pair i is queue i of the IONetwork burst calls, interruptEventFd and
/// the statistics; queueCount() is N.
///
/// Interrupt mode: receive queue i raises MSI-X vector i and configuration changes (link) vector
/// N when the device has N + 1 vectors; with fewer, receive queue 0 has vector 0, configuration
/// changes vector 1 (when there are two), and the other receive queues work in poll mode only
/// (interruptEventFd -1). Poll mode suppresses receive interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT).
///
/// Everything the device writes is checked before use (VirtqueueUsedRing): a used-ring id outside
/// the queue or of a chain the device does not hold (used twice, never made available), a length
/// shorter than the header and an Ethernet header or longer than the buffer, a partial checksum
/// outside the frame: each is counted as a receive (or transmit) error, never followed. A used idx
/// further ahead than the ring holds stops the queue: faultDescription() says so, and down then up
/// (a reset) starts it again.
///
/// Threading: each queue pair may run on its own thread, concurrently with the others
/// (IONetwork's per-queue model): pair i's receiveBurst, transmitBurst and interruptOccurred touch
/// only receiveq/transmitq i (their rings, descriptor ids and netbufs), the pool (thread caches)
/// and queue i's counters. The control virtqueue is used only by control calls (resetAndEnable,
/// the filter calls) while the queue gate holds every queue; they wait for the device's
/// acknowledgement: QEMU gives it within the notification, a device gets at most a second. The
/// link state is read by whichever thread notices a configuration change (a queue's interrupt,
/// the watchdog on the driver's event loop): setLinkStatus tells the client once per change.
class VirtioNetDriver : public IOEthernet {
public:
    static constexpr std::uint16_t kVendorId = 0x1af4;  ///< Red Hat (virtio).
    static constexpr std::uint16_t kDeviceId = 0x1041;  ///< Modern virtio-net.

    /// How the driver is set up.
    struct Options {
        unsigned queueSize = 256;  ///< Descriptors per virtqueue (power of two, at most the device's).
        bool interrupts = true;    ///< Set up MSI-X (interrupt mode available); false: poll only.
        unsigned queuePairs = 1;   ///< Receive/transmit queue pairs, 1 to IONetwork::kMaxQueues.
    };

    /// Takes @p device, finds the virtio capabilities, maps their BARs, its queues and @p pool
    /// into the device's container, negotiates features and reads the MAC. The device is stopped
    /// until resetAndEnable(true). Errors: ENODEV (not modern virtio-net, capabilities missing),
    /// ENOTSUP (VERSION_1, or behind an IOMMU ACCESS_PLATFORM, not offered, or queuePairs > 1
    /// without MQ and CTRL_VQ offered), EINVAL (options, more queue pairs than the device offers,
    /// pool headroom under 12 bytes), EIO (the device reports an invalid max_virtqueue_pairs or
    /// too few queues), or the mapping's errno; @p message and the Result's message explain.
    static Result<std::unique_ptr<VirtioNetDriver>> create(std::unique_ptr<PciDevice> device,
                                                           std::shared_ptr<NetbufPool> pool, const Options& options,
                                                           std::string* message = nullptr);
    /// Resets the device, frees the netbufs of its queues and unmaps its memory.
    ~VirtioNetDriver() override;

    /// Resets the device, negotiates, sets up the queues, fills the receive queues and, through
    /// the control queue, sets the number of pairs and the receive filters; with @p enable false
    /// only resets it. @return 0, EIO (device refused features, queues, the pair count or the
    /// filters), ENOBUFS (pool too small).
    int resetAndEnable(bool enable) override;
    /// The queue pairs in use (Options::queuePairs).
    unsigned queueCount() const override { return static_cast<unsigned>(rx_.size()); }
    /// The eventfd of receive queue @p queue's MSI-X vector; -1 without one (poll mode only).
    int interruptEventFd(unsigned queue) const override;
    /// Clears or sets VIRTQ_AVAIL_F_NO_INTERRUPT on receive queue @p queue. EOPNOTSUPP when the
    /// queue has no MSI-X vector.
    int setInterruptsEnabled(unsigned queue, bool enabled) override;
    /// Reads the queue's eventfd and the link, then receives (base).
    void interruptOccurred(unsigned queue) override;
    /// The link watchdog, every second while an event loop is attached: reads the link status
    /// from the device configuration. It also watches the device itself:
    /// - the kernel asks for it back (hot-unplug, unbind: PciDevice::enableRemovalRequest) or it
    ///   reads as all ones (removed): the driver resets it if it can, unmaps its DMA, gives the
    ///   netbufs of its queues back, lets go of its BARs and closes it (PciDevice::release), so
    ///   that the removal finishes; the link goes down and faultDescription() says "... released;
    ///   the interface is gone" for good (resetAndEnable is ENODEV from then on);
    /// - the device set DEVICE_NEEDS_RESET (2.1.1) or was reset under the driver (DRIVER_OK
    ///   gone from device_status): the driver resets it, takes back the netbufs of its queues and
    ///   says so in faultDescription() with the link down; on the next tick it brings it up again
    ///   (as resetAndEnable(true)) and the fault clears, or says why the restart failed.
    /// Runs as a control call (the queue gate closed while it stops or restarts the device).
    void timeoutOccurred() override;
    /// Records the address; when the device filters, puts it in the MAC table (5.1.6.5.2).
    /// @return 0, EINVAL (multicast or zero address), EIO (the device refused the table).
    int setHardwareAddress(const EthernetAddress& address) override;
    /// Sends VIRTIO_NET_CTRL_RX_PROMISC when the device filters (and runs), then records the mode.
    /// @return 0 or EIO (the device refused; mode unchanged).
    int setPromiscuousMode(bool enabled) override;
    /// Sends VIRTIO_NET_CTRL_RX_ALLMULTI when the device filters (and runs), then records the mode.
    /// @return 0 or EIO (the device refused; mode unchanged).
    int setMulticastMode(bool enabled) override;
    /// Joins the group and, when the device filters, sends the new MAC table.
    /// @return the base's errors, or EIO (the device refused; the group is not joined).
    int addMulticastAddress(const EthernetAddress& address) override;
    /// Leaves the group and, when the device filters, sends the new MAC table.
    /// @return the base's errors, or EIO (the device refused; the group stays joined).
    int removeMulticastAddress(const EthernetAddress& address) override;
    /// 1500: no merged receive buffers, one netbuf per frame.
    unsigned maxMtu() const override { return 1500; }

    /// Reads the link (config status LINK_UP when STATUS was negotiated; up otherwise).
    LinkStatus updateLinkStatus();
    /// Features offered by the device.
    std::uint64_t deviceFeatures() const { return deviceFeatures_; }
    /// Features negotiated.
    std::uint64_t negotiatedFeatures() const { return features_; }
    /// True when the device filters frames by address and mode (CTRL_VQ and CTRL_RX negotiated);
    /// false: it delivers every frame.
    bool filtersFrames() const { return (features_ & virtio::F_CTRL_RX) != 0; }
    /// Queue pairs the device offers (max_virtqueue_pairs with MQ, else 1).
    unsigned offeredQueuePairs() const { return offeredPairs_; }
    /// The PCI device.
    PciDevice& device() { return *device_; }
    /// True when MSI-X was set up.
    bool hasInterrupts() const { return device_->msixEventFd(0) >= 0; }
    /// True when every receive queue has its own MSI-X vector.
    bool hasInterruptPerQueue() const;

protected:
    /// Takes up to @p max received frames from receive queue @p queue, refilling it; a frame
    /// whose buffer cannot be replaced is reported as a receive drop, a bad used element or frame
    /// as a receive error. @return the number taken; 0 for an unknown queue.
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override;
    /// Queues up to @p count frames on transmit queue @p queue (modulo queueCount()), each behind a
    /// VirtioNetHeader in its headroom; notifies once. @return the number accepted (the caller
    /// keeps the rest: the queue is full).
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override;
    /// Starts the link watchdog on the new event loop, if any.
    int eventLoopChanged() override;

private:
    // The control queue carries one command at a time: a few descriptors are plenty.
    static constexpr unsigned kControlQueueSize = 16;

    struct Queue {
        volatile virtio::Descriptor* descriptors = nullptr;
        volatile std::uint16_t* avail = nullptr;       // flags, idx, ring[size], used_event
        volatile std::uint16_t* usedHeader = nullptr;  // flags, idx
        VirtqueueUsedRing used;                        // what the device wrote there, checked
        volatile std::uint16_t* notify = nullptr;
        std::uint16_t index = 0;                   // virtqueue index, what a notification writes
        std::uint16_t vector = virtio::NO_VECTOR;  // receive: its MSI-X vector
        bool interrupts = false;                   // receive: interrupts wanted (setInterruptsEnabled)
        std::uint16_t availIndex = 0;
        bool overrun = false;          // the device's used idx ran past the ring: nothing read until a reset
        std::vector<Netbuf*> netbufs;  // by descriptor id
        std::vector<std::uint16_t> freeIds;
    };
    VirtioNetDriver(std::unique_ptr<PciDevice> device, const Options& options);
    int findCapabilities(std::string* message);
    int negotiate();
    int checkQueuePairs(std::string* message);
    int setUpQueue(unsigned index, Queue& queue, unsigned size, std::size_t base);
    unsigned receiveUsed(unsigned queue, std::uint16_t usedIndex, Netbuf** out, unsigned max);
    void fillReceiveQueue(Queue& queue);
    void releaseQueues();
    bool takeOffload(Netbuf& received) const;
    void cleanTransmitQueue(unsigned index, Queue& queue);
    void usedRingOverrun(const char* kind, unsigned index, Queue& queue, std::uint16_t deviceIndex);
    void releaseDevice(const std::string& why);
    void resetDevice();
    void publish(Queue& queue);
    bool multiqueue() const { return (features_ & virtio::F_MQ) != 0; }
    bool hasControlQueue() const { return (features_ & virtio::F_CTRL_VQ) != 0; }
    static std::size_t queueBytes(unsigned size);
    // The control virtqueue (VirtioNetControl.cpp).
    std::size_t controlQueueBytes() const;
    int sendCommand(std::uint8_t commandClass, std::uint8_t command, const void* data, std::size_t size);
    int setQueuePairs();
    int sendReceiveFilters();
    int sendMacTable();
    int setReceiveMode(std::uint8_t command, bool enabled);
    volatile std::uint8_t* common(unsigned offset) const { return common_ + offset; }
    void commonWrite16(unsigned offset, std::uint16_t v) {
        *reinterpret_cast<volatile std::uint16_t*>(common_ + offset) = v;
    }
    std::uint16_t commonRead16(unsigned offset) const {
        return *reinterpret_cast<volatile std::uint16_t*>(common_ + offset);
    }
    void commonWrite32(unsigned offset, std::uint32_t v) {
        *reinterpret_cast<volatile std::uint32_t*>(common_ + offset) = v;
    }
    std::uint32_t commonRead32(unsigned offset) const {
        return *reinterpret_cast<volatile std::uint32_t*>(common_ + offset);
    }
    void setStatus(std::uint8_t status) { *common(virtio::DEVICE_STATUS) = status; }
    std::uint8_t status() const { return *common(virtio::DEVICE_STATUS); }

    std::unique_ptr<PciDevice> device_;
    Options options_;
    std::array<PciBar, 6> bars_;
    DeviceMemory memory_;  // after device_: unmapped once the destructor reset the device
    volatile std::uint8_t* common_ = nullptr;
    volatile std::uint8_t* deviceConfig_ = nullptr;
    volatile std::uint8_t* notifyBase_ = nullptr;
    std::uint32_t notifyMultiplier_ = 0;
    std::uint64_t deviceFeatures_ = 0;
    std::uint64_t features_ = 0;
    unsigned offeredPairs_ = 1;
    unsigned queueSize_ = 0;
    std::vector<Queue> rx_;  // one per pair
    std::vector<Queue> tx_;
    Queue control_;  // with CTRL_VQ only
    std::uint16_t configVector_ = virtio::NO_VECTOR;
    DeviceRestart restart_;  // the watchdog stopped the device (DEVICE_NEEDS_RESET, a reset under it)
};

}  // namespace nexnet
