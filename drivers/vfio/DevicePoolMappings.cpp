#include "drivers/vfio/DevicePoolMappings.h"

namespace nexnet {

bool DevicePoolMappings::reachable(Netbuf* packet, NetbufPool* own, VfioContainer& container) {
    NetbufPool* owner = packet->pool();
    if (owner == own || (owner != nullptr && owner == last_)) return true;
    if (owner == nullptr) return false;
    if (container.iovaOf(owner->dataRegion().data()) == 0) {
        if (container.mapPool(*owner) != 0) return false;
        mappings_.push_back(owner->dataRegion().iova());
    }
    if (std::shared_ptr<NetbufPool> kept = owner->weak_from_this().lock()) {
        bool known = false;
        for (const auto& pool : pools_) known = known || pool == kept;
        if (!known) pools_.push_back(std::move(kept));
    }
    last_ = owner;
    return true;
}

void DevicePoolMappings::unmapAll(VfioContainer& container) {
    for (std::uint64_t iova : mappings_) container.unmapDma(iova);
    mappings_.clear();
    pools_.clear();
    last_ = nullptr;
}

}  // namespace nexnet
