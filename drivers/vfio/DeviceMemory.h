#pragma once
/// @file DeviceMemory.h
/// @brief DeviceMemory: the memory a VFIO NIC reaches (its descriptor rings, its pool, the pools it forwards from).

#include "drivers/vfio/DevicePoolMappings.h"
#include "framework/pci/PciDevice.h"
#include "netbuf/DmaRegion.h"
#include "netbuf/NetbufPool.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nexnet {

/// What every VFIO NIC driver sets up the same way before it touches a ring, and takes down the
/// same way after the device stopped: bus mastering, one DMA region for the descriptor rings
/// mapped for the device, the driver's pool mapped, and the other drivers' pools its transmit
/// ring reaches (DevicePoolMappings). E1000eDriver and VirtioNetDriver each hold one, declared
/// after their PciDevice, so it is destroyed (and everything unmapped) after the driver's
/// destructor stopped the device's DMA and freed the netbufs its rings held.
///
/// In VFIO's no-IOMMU mode the rings are allocated on a 2 MiB hugepage when the system has a
/// free one: a device walks a ring by physical address, so it must be physically contiguous
/// (VfioContainer::mapDma refuses it otherwise, saying so).
///
/// Not thread safe: the driver's control thread sets it up; reachable() runs on a transmit queue's
/// thread.
class DeviceMemory {
public:
    DeviceMemory() = default;
    DeviceMemory(const DeviceMemory&) = delete;
    DeviceMemory& operator=(const DeviceMemory&) = delete;
    /// Unmaps the foreign pools, the pool and the rings (in that order), if set up.
    ~DeviceMemory() { release(); }
    /// Unmaps now what the destructor would (the device's DMA mappings; the ring memory stays
    /// allocated, so the driver's pointers into it stay valid): what a driver does once its device
    /// stopped for good or is being taken away (PciDevice::release). After it reachable() is
    /// false for every netbuf. Control thread, while no burst runs.
    void release();

    /// Enables bus mastering on @p device (vfio-pci leaves it off: nothing DMAs before), allocates
    /// @p ringBytes of zeroed ring memory named @p name, and maps it and @p pool into the device's
    /// container. Called once, from the driver's create(). @return 0 or an errno; @p message (when
    /// not nullptr) says what failed and what to do.
    int setUp(PciDevice& device, std::shared_ptr<NetbufPool> pool, std::size_t ringBytes, const std::string& name,
              std::string* message);

    /// The ring memory in this process.
    std::uint8_t* rings() const { return rings_.data(); }
    /// The device address of the ring memory's byte at @p offset (IOVA, or physical address).
    std::uint64_t ringAddress(std::size_t offset = 0) const { return ringBase_ + offset; }
    /// True when the device can reach @p packet's buffer: in the driver's pool, or in another pool
    /// mapped now or before (DevicePoolMappings::reachable). False: the driver drops the packet.
    bool reachable(Netbuf* packet) { return !released_ && foreignPools_.reachable(packet, pool_.get(), *container_); }
    /// How the device reaches memory, for IONetwork::modeDescription(): the container's mode and
    /// the pool's page size ("VFIO type1v2 IOMMU, pool of 4096 netbufs on 2 MiB hugepages").
    std::string describe() const;

    /// Frees every netbuf @p slots still holds (each to its own pool) and empties the slots: what a
    /// driver does with its rings once the device stopped.
    static void freeNetbufs(std::vector<Netbuf*>& slots);

private:
    std::shared_ptr<VfioContainer> container_;
    std::shared_ptr<NetbufPool> pool_;
    DmaRegion rings_;
    std::uint64_t ringBase_ = 0;
    bool poolMapped_ = false;
    bool released_ = false;
    DevicePoolMappings foreignPools_;
};

}  // namespace nexnet
