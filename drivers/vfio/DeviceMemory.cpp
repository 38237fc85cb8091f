#include "drivers/vfio/DeviceMemory.h"

#include <cstring>

namespace nexnet {

void DeviceMemory::release() {
    if (!container_ || released_) return;
    released_ = true;
    foreignPools_.unmapAll(*container_);
    if (poolMapped_) container_->unmapPool(*pool_);
    poolMapped_ = false;
    if (ringBase_ != 0) container_->unmapDma(ringBase_);
}

int DeviceMemory::setUp(PciDevice& device, std::shared_ptr<NetbufPool> pool, std::size_t ringBytes,
                        const std::string& name, std::string* message) {
    auto failure = [message](int error, std::string text) {
        if (message != nullptr) *message = std::move(text);
        return error;
    };
    container_ = device.sharedContainer();
    pool_ = std::move(pool);
    // PCI 3.0, 6.2.2: COMMAND.BUS_MASTER, or the device can neither fetch a descriptor nor write a frame.
    if (int error = device.enableBusMaster(); error != 0)
        return failure(error, device.address() + ": cannot enable bus mastering");
    DmaRegion::Options options;
    options.name = name;
    // Without an IOMMU a ring must be physically contiguous: a hugepage is. With one, a 4 KiB page
    // is enough and keeps the hugepages for the pools.
    options.hugepages = container_->mode() == VfioContainer::Mode::noIommu;
    auto region = DmaRegion::allocate(ringBytes, options);
    if (!region)
        return failure(region.error(), name + ": cannot allocate " + std::to_string(ringBytes) + " bytes of rings");
    rings_ = std::move(*region);
    std::memset(rings_.data(), 0, rings_.size());
    auto address = container_->mapDma(rings_.data(), rings_.size());
    if (!address) return failure(address.error(), name + ": " + container_->lastError());
    ringBase_ = *address;
    rings_.setIova(ringBase_);
    if (int error = container_->mapPool(*pool_); error != 0)
        return failure(error, name + ": " + container_->lastError());
    poolMapped_ = true;
    return 0;
}

std::string DeviceMemory::describe() const {
    if (!container_ || !pool_) return "not set up";
    const char* pages = pool_->dataRegion().usesHugepages() ? "2 MiB hugepages" : "4 KiB pages";
    return container_->modeDescription() + ", pool of " + std::to_string(pool_->capacity()) + " netbufs of " +
        std::to_string(pool_->bufferSize()) + " bytes on " + pages;
}

void DeviceMemory::freeNetbufs(std::vector<Netbuf*>& slots) {
    for (Netbuf*& nb : slots) {
        if (nb != nullptr) nb->free();
        nb = nullptr;
    }
}

}  // namespace nexnet
