#pragma once
/// @file VfioContainer.h
/// @brief VfioContainer: one VFIO container (an IOMMU address space), its groups and DMA mappings.

#include "framework/pci/PhysicalDma.h"
#include "netbuf/NetbufPool.h"
#include "netbuf/Result.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace nexnet {

/// A VFIO container: the I/O address space that every device in it shares, and the IOMMU
/// mappings that let those devices reach process memory.
///
/// @verbatim
///   /dev/vfio/vfio (container) ---- VFIO_SET_IOMMU (type1v2)
///        |-- /dev/vfio/7  (group) -- device 0000:00:01.0     all devices see the same IOVAs
///        `-- /dev/vfio/8  (group) -- device 0000:00:02.0
///   IOVA  0x1_0000_0000 + ...  ->  a NetbufPool's data region (VFIO_IOMMU_MAP_DMA)
/// @endverbatim
///
/// Several devices share one container (shared()) so a netbuf received by one NIC can be sent by
/// another without a copy: the pool is mapped once, at one IOVA, for all of them. IOVAs are handed
/// out from 4 GiB up, aligned to 2 MiB so that hugepage-backed memory is mapped with 2 MiB IOMMU
/// pages. Mappings are reference counted (mapPool twice maps once) and removed when the last user
/// unmaps them or the container is destroyed.
///
/// Without an IOMMU (a kernel with CONFIG_VFIO_NOIOMMU and vfio's enable_unsafe_noiommu_mode=1,
/// chosen automatically when no IOMMU backend exists) nothing translates what the device sends,
/// so device addresses are physical addresses (PhysicalDma: /proc/self/pagemap, memory locked,
/// each buffer and ring checked to be physically contiguous); a netbuf's ioAddress() is then its
/// physical address. mode() and modeDescription() say which of the two runs.
///
/// Errors are errnos; every failure also leaves a sentence in lastError() saying what happened
/// and what the user should do about it (load vfio-pci, bind the device, run as root, ...).
///
/// Thread safety: all methods may be called from any thread (one internal lock); none is meant
/// for the data path.
class VfioContainer {
public:
    /// How devices in the container reach memory.
    enum class Mode {
        iommu,    ///< Type1 IOMMU: DMA goes through VFIO_IOMMU_MAP_DMA mappings (IOVAs).
        noIommu,  ///< No IOMMU (CONFIG_VFIO_NOIOMMU): device addresses are physical addresses (PhysicalDma).
    };

    /// Opens /dev/vfio/vfio. Errors: ENOENT (no VFIO: lastError says to load vfio-pci), EACCES,
    /// EINVAL (unknown VFIO API version), ENOTSUP (neither type1 nor no-IOMMU available), or, in
    /// no-IOMMU mode, the errno of opening /proc/self/pagemap.
    /// @p message, when not nullptr, receives the explanation of a failure.
    static Result<std::shared_ptr<VfioContainer>> open(std::string* message = nullptr);
    /// The process-wide container that drivers opened by URI share, opened on first use.
    /// Errors as open(); a failure is not remembered (the next call tries again).
    static Result<std::shared_ptr<VfioContainer>> shared(std::string* message = nullptr);

    /// Unmaps every mapping and closes the groups and the container.
    ~VfioContainer();
    VfioContainer(const VfioContainer&) = delete;
    VfioContainer& operator=(const VfioContainer&) = delete;

    /// Adds IOMMU group @p group (the number in /sys/bus/pci/devices/BDF/iommu_group) to the
    /// container, setting the IOMMU type with the first group. Adding a group twice is 0.
    /// @return 0, ENOENT (no /dev/vfio/N: device not bound to vfio-pci), EACCES (permission),
    /// EBUSY (group not viable: another device of the group is bound to a host driver), or the
    /// errno of the ioctl. lastError() explains.
    int addGroup(int group);
    /// The open fd of @p group (for VFIO_GROUP_GET_DEVICE_FD), or -1 when not added.
    int groupFd(int group) const;

    /// Maps @p size bytes at @p address (page aligned) for device reads and writes and returns the
    /// device address of the first byte: the IOVA chosen, or in no-IOMMU mode its physical address
    /// (the range is locked and must then be physically contiguous: a descriptor ring). Mapping
    /// the same range again returns the same address and counts a reference. Errors: EINVAL
    /// (unaligned or empty), ENXIO (no group added yet), ENOMEM (RLIMIT_MEMLOCK too low, or in
    /// no-IOMMU mode not physically contiguous), EPERM (no-IOMMU mode: physical addresses hidden),
    /// or the ioctl's errno; lastError() says what to do.
    Result<std::uint64_t> mapDma(void* address, std::size_t size);
    /// Drops one reference to the mapping at @p iova; the last one unmaps it (VFIO_IOMMU_UNMAP_DMA;
    /// in no-IOMMU mode only the record goes, the memory stays locked until it is freed).
    /// @return 0, ENOENT when nothing is mapped there, or the ioctl's errno.
    int unmapDma(std::uint64_t iova);
    /// Maps @p pool's data region and records the device addresses in the pool, so every netbuf's
    /// ioAddress() is one: the IOVA (NetbufPool::setIoBase), or in no-IOMMU mode each buffer's
    /// physical address (PhysicalDma::mapPool: each buffer must be physically contiguous).
    /// @return 0 or mapDma's errno (ENOMEM for a buffer that is not contiguous); lastError() explains.
    int mapPool(NetbufPool& pool);
    /// Drops mapPool's reference on @p pool's data region. @return unmapDma's result.
    int unmapPool(NetbufPool& pool);
    /// The device address of @p address (IOVA, or physical address in no-IOMMU mode), or 0 when
    /// it is not inside a mapping.
    std::uint64_t iovaOf(const void* address) const;

    /// The container's mode: IOMMU or no-IOMMU.
    Mode mode() const { return mode_; }
    /// The mode as a sentence for logs ("VFIO type1v2 IOMMU", "VFIO no-IOMMU mode, physical
    /// addresses ..."): nexnet never hides which mode runs.
    std::string modeDescription() const;
    /// The explanation of the last failure (empty when none failed yet).
    std::string lastError() const;
    /// The container's fd (/dev/vfio/vfio).
    int fd() const { return fd_; }

private:
    struct Mapping {
        std::uintptr_t address;
        std::size_t size;
        std::uint64_t iova;
        unsigned references;
    };
    VfioContainer() = default;
    int fail(int error, std::string message) const;
    Mapping* findMapping(std::uintptr_t address, std::size_t size);
    int unmapLocked(std::uint64_t iova, std::size_t size);

    int fd_ = -1;
    int iommuType_ = 0;
    Mode mode_ = Mode::iommu;
    std::map<int, int> groups_;              // group number -> fd
    std::map<std::uint64_t, Mapping> maps_;  // by IOVA
    std::uint64_t nextIova_ = 1ull << 32;
    std::optional<PhysicalDma> physical_;  // no-IOMMU mode only
    mutable std::mutex lock_;
    mutable std::string lastError_;
};

}  // namespace nexnet
