#pragma once
/// @file VirtioNetDriver.h
/// @brief VirtioNetDriver: a modern virtio-net PCI device (1af4:1041) driven through vfio-pci.

#include "drivers/vfio/VirtioNetLayout.h"
#include "drivers/vfio/DevicePoolMappings.h"
#include "framework/IOEthernet.h"
#include "framework/pci/PciDevice.h"
#include "netbuf/DmaRegion.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nexnet {

/// An IOEthernet driver for a modern (virtio 1.x) virtio-net PCI device, as QEMU's
/// `virtio-net-pci,disable-legacy=on,iommu_platform=on`.
///
/// Negotiates VERSION_1 and ACCESS_PLATFORM (both required: without ACCESS_PLATFORM the device
/// would DMA to guest-physical addresses, which a VFIO process cannot know), MAC and STATUS when
/// offered, and the checksum and TSO features when offered (CSUM, GUEST_CSUM, HOST_TSO4/6): the
/// netbuf's NetbufOffload travels in the 12-byte virtio-net header in front of each frame, in the
/// netbuf's headroom. One receive and one transmit split virtqueue (spec 2.6) live in a DMA region
/// of the driver; multiqueue is not used even when offered (queue pair 0 only).
///
/// Interrupt mode: the receive queue raises MSI-X vector 0, configuration changes (link) vector
/// 1; poll mode suppresses receive interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT).
///
/// Threading: one thread at a time (the event loop's), as every IONetwork.
class VirtioNetDriver : public IOEthernet {
public:
    static constexpr std::uint16_t kVendorId = 0x1af4;  ///< Red Hat (virtio).
    static constexpr std::uint16_t kDeviceId = 0x1041;  ///< Modern virtio-net.

    /// How the driver is set up.
    struct Options {
        unsigned queueSize = 256;  ///< Descriptors per virtqueue (power of two, at most the device's).
        bool interrupts = true;    ///< Set up MSI-X (interrupt mode available); false: poll only.
    };

    /// Takes @p device, finds the virtio capabilities, maps their BARs and @p pool into the
    /// device's container, negotiates features and reads the MAC. The device is stopped until
    /// resetAndEnable(true). Errors: ENODEV (not modern virtio-net, capabilities missing),
    /// ENOTSUP (VERSION_1 or ACCESS_PLATFORM not offered), EINVAL (options, pool headroom under
    /// 12 bytes), or the mapping's errno; @p message explains.
    static Result<std::unique_ptr<VirtioNetDriver>> create(std::unique_ptr<PciDevice> device,
                                                           std::shared_ptr<NetbufPool> pool, const Options& options,
                                                           std::string* message = nullptr);
    /// Resets the device and unmaps its memory.
    ~VirtioNetDriver() override;

    /// Resets the device, negotiates, sets up both queues and fills the receive queue; with
    /// @p enable false only resets it. @return 0, EIO (device refused features or queues),
    /// ENOBUFS (pool too small).
    int resetAndEnable(bool enable) override;
    /// Takes up to @p max received frames from the receive queue, refilling it.
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override;
    /// Queues up to @p count frames, each behind a virtio-net header in its headroom; notifies once.
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override;
    /// MSI-X vector 0's eventfd, -1 without MSI-X.
    int interruptEventFd(unsigned queue) const override;
    /// Clears or sets VIRTQ_AVAIL_F_NO_INTERRUPT on the receive queue.
    int setInterruptsEnabled(unsigned queue, bool enabled) override;
    /// Reads the eventfd and the link, then receives (base).
    void interruptOccurred(unsigned queue) override;
    /// Reads the link status from the device configuration.
    void timeoutOccurred() override;
    /// virtio-net filters nothing without a control queue: promiscuous and multicast modes are
    /// recorded only (the device delivers everything). Base behaviour kept.
    unsigned maxMtu() const override { return 1500; }

    /// Reads the link (config status LINK_UP when STATUS was negotiated; up otherwise).
    LinkStatus updateLinkStatus();
    /// Features offered by the device.
    std::uint64_t deviceFeatures() const { return deviceFeatures_; }
    /// Features negotiated.
    std::uint64_t negotiatedFeatures() const { return features_; }
    /// Queue pairs the device offers (max_virtqueue_pairs with MQ, else 1).
    unsigned offeredQueuePairs() const { return offeredPairs_; }
    /// The PCI device.
    PciDevice& device() { return *device_; }
    /// True when MSI-X was set up.
    bool hasInterrupts() const { return device_->msixEventFd(0) >= 0; }

private:
    struct Queue {
        volatile virtio::Descriptor* descriptors = nullptr;
        volatile std::uint16_t* avail = nullptr;  // flags, idx, ring[size], used_event
        volatile std::uint16_t* usedHeader = nullptr;  // flags, idx
        volatile virtio::UsedElement* used = nullptr;
        std::uint64_t iova = 0;    // of descriptors; avail and used follow
        volatile std::uint16_t* notify = nullptr;
        std::uint16_t availIndex = 0;
        std::uint16_t lastUsed = 0;
        std::vector<Netbuf*> netbufs;  // by descriptor id
        std::vector<std::uint16_t> freeIds;
    };
    VirtioNetDriver(std::unique_ptr<PciDevice> device, const Options& options);
    int findCapabilities(std::string* message);
    int negotiate();
    int setUpQueue(unsigned index, Queue& queue, std::uint16_t vector);
    void releaseQueues();
    void cleanTransmitQueue();
    volatile std::uint8_t* common(unsigned offset) const { return common_ + offset; }
    void commonWrite16(unsigned offset, std::uint16_t v) { *reinterpret_cast<volatile std::uint16_t*>(common_ + offset) = v; }
    std::uint16_t commonRead16(unsigned offset) const { return *reinterpret_cast<volatile std::uint16_t*>(common_ + offset); }
    void commonWrite32(unsigned offset, std::uint32_t v) { *reinterpret_cast<volatile std::uint32_t*>(common_ + offset) = v; }
    std::uint32_t commonRead32(unsigned offset) const { return *reinterpret_cast<volatile std::uint32_t*>(common_ + offset); }
    void setStatus(std::uint8_t status) { *common(virtio::DEVICE_STATUS) = status; }
    std::uint8_t status() const { return *common(virtio::DEVICE_STATUS); }

    std::unique_ptr<PciDevice> device_;
    Options options_;
    std::array<PciBar, 6> bars_;
    volatile std::uint8_t* common_ = nullptr;
    volatile std::uint8_t* deviceConfig_ = nullptr;
    volatile std::uint8_t* notifyBase_ = nullptr;
    std::uint32_t notifyMultiplier_ = 0;
    std::uint64_t deviceFeatures_ = 0;
    std::uint64_t features_ = 0;
    unsigned offeredPairs_ = 1;
    unsigned queueSize_ = 0;
    DmaRegion ringMemory_;
    std::uint64_t ringIova_ = 0;
    Queue rx_;
    Queue tx_;
    bool interruptsEnabled_ = false;
    DevicePoolMappings foreignPools_;
};

}  // namespace nexnet
