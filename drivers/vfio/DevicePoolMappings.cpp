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
    last_ = owner;
    return true;
}

void DevicePoolMappings::unmapAll(VfioContainer& container) {
    for (std::uint64_t iova : mappings_) container.unmapDma(iova);
    mappings_.clear();
    last_ = nullptr;
}

}  // namespace nexnet
