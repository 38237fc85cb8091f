#pragma once
/// @file DevicePoolMappings.h
/// @brief DevicePoolMappings: the other drivers' pools a VFIO device reaches (forwarding without copies).

#include "framework/pci/VfioContainer.h"
#include "netbuf/Netbuf.h"
#include "netbuf/NetbufPool.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace nexnet {

/// The netbuf pools a VFIO device can DMA from besides its driver's own. A frame to transmit may
/// live in another driver's pool (nexnet-fwd hands received netbufs straight to the other side);
/// that pool is mapped into the device's IOMMU container the first time one of its netbufs is
/// seen, and stays mapped until the driver closes. While mapped, a pool held by a shared_ptr is
/// kept alive too: netbufs of it may sit in the transmit ring after its own driver is gone, and
/// they return to it when this driver closes. Part of every VFIO driver's DeviceMemory, asked on
/// its transmit path (DeviceMemory::reachable).
class DevicePoolMappings {
public:
    /// True when the device can reach @p packet's buffer: it is in @p own pool, in a pool already
    /// mapped, or in a pool this call maps into @p container now. False for a wrapped netbuf or a
    /// pool that cannot be mapped (the caller drops the packet).
    bool reachable(Netbuf* packet, NetbufPool* own, VfioContainer& container) {
        const std::uint16_t id = packet->poolId();  // wrapped netbufs have none that matches
        if (id == own->id() || id == lastId_) [[likely]]
            return true;
        return mapForeign(packet->pool(), container);
    }
    /// Drops every mapping reachable() made and the pools it kept alive; the driver calls it when
    /// it closes, after its rings gave their netbufs back.
    void unmapAll(VfioContainer& container);

private:
    bool mapForeign(NetbufPool* owner, VfioContainer& container);

    std::uint16_t lastId_ = NetbufPool::kMaxPools;  // the last foreign pool seen: one compare on the fast path
    std::vector<std::uint64_t> mappings_;
    std::vector<std::shared_ptr<NetbufPool>> pools_;  // foreign pools seen, kept alive until unmapAll
};

}  // namespace nexnet
