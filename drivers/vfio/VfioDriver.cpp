#include "drivers/vfio/VfioDriver.h"

#include "drivers/vfio/E1000eDriver.h"
#include "drivers/vfio/VirtioNetDriver.h"

#include <cerrno>
#include <cstdio>

namespace nexnet {

namespace {

Result<std::unique_ptr<IONetwork>> failure(int error, const std::string& text) {
    return Result<std::unique_ptr<IONetwork>>::failure(error, text);
}

template <typename Driver>
Result<std::unique_ptr<IONetwork>> opened(Result<std::unique_ptr<Driver>> driver) {
    if (!driver) return failure(driver.error(), driver.message());
    return Result<std::unique_ptr<IONetwork>>(std::unique_ptr<IONetwork>(std::move(*driver)));
}

}  // namespace

int VfioDriver::registerWith(DriverRegistry& registry) {
    return registry.registerDriver("vfio",
                                   "vfio:DDDD:BB:DD.F[,queues=N][,pool=N][,rxring=N][,txring=N][,interrupts=0|1]",
                                   "PCI NIC through vfio-pci: Intel 82574L (e1000e), virtio-net (modern)",
                                   {"queues", "pool", "rxring", "txring", "interrupts"}, open);
}

Result<std::unique_ptr<IONetwork>> VfioDriver::open(const DriverUri& uri) {
    auto poolSize = uri.number("pool", 4096, 1u << 24);
    auto rxRing = uri.number("rxring", 512, 4096);
    auto txRing = uri.number("txring", 512, 4096);
    auto interrupts = uri.flag("interrupts", true);
    auto queues = uri.number("queues", 1, IONetwork::kMaxQueues, 1);
    for (const auto* bad : {&poolSize, &rxRing, &txRing, &queues}) {
        if (!*bad) return failure(bad->error(), bad->message());
    }
    if (!interrupts) return failure(interrupts.error(), interrupts.message());
    auto id = PciDevice::readSysfsId(uri.target);
    if (!id) {
        return failure(id.error(),
                       id.error() == EINVAL ? "'" + uri.target + "' is not a PCI address (0000:00:03.0)"
                                            : "no PCI device " + uri.target + " (`lspci -D` lists them)");
    }
    constexpr std::uint32_t kE1000e = std::uint32_t{E1000eDriver::kVendorId} << 16 | E1000eDriver::kDeviceId;
    constexpr std::uint32_t kVirtioNet = std::uint32_t{VirtioNetDriver::kVendorId} << 16 | VirtioNetDriver::kDeviceId;
    if (*id == kE1000e && *queues != 1)
        return failure(EINVAL, uri.target + " is an e1000e: nexnet drives one queue pair on it (queues=1)");
    if (*id != kE1000e && *id != kVirtioNet) {
        char text[16];
        std::snprintf(text, sizeof text, "%04x:%04x", *id >> 16, *id & 0xffff);
        return failure(ENODEV,
                       "no nexnet driver for PCI ID " + std::string(text) + " of " + uri.target +
                           " (supported: 8086:10d3 e1000e, 1af4:1041 virtio-net)");
    }
    std::string message;
    auto container = VfioContainer::shared(&message);
    if (!container) return failure(container.error(), message);
    auto device = PciDevice::open(uri.target, *container, &message);
    if (!device) return failure(device.error(), message);
    NetbufPool::Options poolOptions;
    poolOptions.count = static_cast<std::uint32_t>(*poolSize);
    poolOptions.name = "nexnet-vfio-" + uri.target;
    // Without an IOMMU the device writes each buffer by physical address, so no buffer may span
    // two pages that are not physically contiguous: 4096-byte buffers (a page each, whatever the
    // page size) never do (PhysicalDma).
    if ((*container)->mode() == VfioContainer::Mode::noIommu) poolOptions.dataRoom = 4096 - poolOptions.headroom;
    auto pool = NetbufPool::create(poolOptions);
    if (!pool) return failure(pool.error(), "cannot make a pool of " + std::to_string(*poolSize) + " netbufs");
    std::shared_ptr<NetbufPool> shared(std::move(*pool));

    // Each driver says how it runs (IOMMU or physical addresses, pages, interrupts) in its
    // modeDescription(); the program prints it.
    if (*id == kVirtioNet) {
        VirtioNetDriver::Options options;
        options.queueSize = uri.option("rxring") ? static_cast<unsigned>(*rxRing) : 256;  // QEMU's default maximum
        options.interrupts = *interrupts;
        options.queuePairs = static_cast<unsigned>(*queues);
        return opened(VirtioNetDriver::create(std::move(*device), shared, options));
    }
    E1000eDriver::Options options;
    options.rxRingSize = static_cast<unsigned>(*rxRing);
    options.txRingSize = static_cast<unsigned>(*txRing);
    options.interrupts = *interrupts;
    return opened(E1000eDriver::create(std::move(*device), shared, options));
}

}  // namespace nexnet
