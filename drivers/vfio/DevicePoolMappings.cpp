#include "drivers/vfio/DevicePoolMappings.h"

namespace nexnet {

// The first netbuf of a pool other than the driver's own and the last one seen.
bool DevicePoolMappings::mapForeign(NetbufPool* owner, VfioContainer& container) {
    if (owner == nullptr) return false;
    if (container.iovaOf(owner->dataRegion().data()) == 0) {
        if (container.mapPool(*owner) != 0) return false;
        mappings_.push_back(container.iovaOf(owner->dataRegion().data()));  // the mapping's key, both modes
    }
    if (std::shared_ptr<NetbufPool> kept = owner->weak_from_this().lock()) {
        bool known = false;
        for (const auto& pool : pools_) known = known || pool == kept;
        if (!known) pools_.push_back(std::move(kept));
    }
    lastId_ = owner->id();
    return true;
}

void DevicePoolMappings::unmapAll(VfioContainer& container) {
    for (std::uint64_t iova : mappings_) container.unmapDma(iova);
    mappings_.clear();
    pools_.clear();
    lastId_ = NetbufPool::kMaxPools;
}

}  // namespace nexnet
