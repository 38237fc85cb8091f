#pragma once
/// @file VfioDriver.h
/// @brief VfioDriver: the "vfio:" URI scheme, which opens a PCI NIC through vfio-pci with the driver
/// its PCI ID names.

#include "framework/DriverRegistry.h"

#include <cstdint>
#include <string>

namespace nexnet {

/// Opens `vfio:DDDD:BB:DD.F[,queues=N][,pool=N][,rxring=N][,txring=N][,interrupts=0|1]` with the driver
/// for the device's PCI ID: E1000eDriver for 8086:10d3, VirtioNetDriver for 1af4:1041.
///
/// queues: receive/transmit queue pairs, 1 (default) to 16; more than 1 needs a virtio-net device
/// offering multiqueue (VIRTIO_NET_F_MQ) with at least N pairs (e1000e: 1 only). The device spreads
/// received flows over the pairs; queue i of the IONetwork burst calls is pair i.
///
/// Every device opened this way joins the process-wide VfioContainer::shared(), so netbufs received
/// on one VFIO NIC can be transmitted on another without a copy. Each driver gets its own pool of
/// `pool` netbufs (default 4096; 2 KiB data room, hugepages when the system has free ones; without an
/// IOMMU 4 KiB buffers, one page each, since the device writes them by physical address). rxring and
/// txring: descriptors (e1000e, default 512 each); virtio-net uses rxring as its queue size (default 256).
///
/// On success the driver's modeDescription() says what runs (driver, IOMMU or physical addresses,
/// hugepages or not, interrupts): nexnet never hides a slower mode; programs print it. On failure the
/// result's message says what is wrong and what to do. Nothing is printed.
class VfioDriver {
public:
    /// Registers "vfio:" with @p registry. @return DriverRegistry::registerDriver's result.
    static int registerWith(DriverRegistry& registry);
    /// Opens the device @p uri names (the registry's factory). Errors, each with a message: EINVAL
    /// (options), ENODEV (no such device, or no driver for its PCI ID), and those of PciDevice::open
    /// and the drivers.
    static Result<std::unique_ptr<IONetwork>> open(const DriverUri& uri);
};

}  // namespace nexnet
