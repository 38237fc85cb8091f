#pragma once
/// @file PhysicalDma.h
/// @brief PhysicalDma: device addresses as physical addresses, for VFIO's no-IOMMU mode.

#include "netbuf/NetbufPool.h"
#include "netbuf/Pagemap.h"
#include "netbuf/Result.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace nexnet {

/// The DMA backend of a VfioContainer in no-IOMMU mode: nothing translates the device's
/// addresses, so it is given the physical addresses of the memory, read from the pagemap.
///
/// What a device needs of such memory, and how each need is met:
/// - it must not move or be paged out while the device may use it: every range is locked (mlock);
/// - each DMA buffer and each descriptor ring must be physically contiguous, because the device
///   walks it by address: a ring (mapContiguous) must lie on consecutive frames as a whole, a pool
///   (mapPool) buffer by buffer. Memory on 2 MiB hugepages is contiguous within each hugepage;
///   on 4 KiB pages a buffer that crosses a page boundary is contiguous only by luck, so a pool
///   whose buffers divide the page size (4096 bytes: VfioDriver makes its pools so) never depends
///   on it. A range that is not contiguous is refused with a message, never mapped half-right.
///
/// The kernel could in principle still migrate a locked 4 KiB page (memory compaction, unless
/// vm.compact_unevictable_allowed is 0); hugepages are not migrated. No-IOMMU mode is unsafe by
/// design (no isolation from a buggy device), which VfioContainer::modeDescription() says.
///
/// The pagemap is read through a Pagemap object, so tests give it a file of their own making.
/// Control path only. Not thread safe (VfioContainer calls it under its lock).
class PhysicalDma {
public:
    /// Reads physical addresses from @p pagemap.
    explicit PhysicalDma(Pagemap pagemap) : pagemap_(std::move(pagemap)) {}
    /// Opens the pagemap at @p path (/proc/self/pagemap by default). Errors: Pagemap::open's.
    static Result<PhysicalDma> open(const std::string& path = Pagemap::kSelf);

    /// Locks the @p size bytes at @p address in RAM and returns the physical address of the first,
    /// when they are physically contiguous (a descriptor ring, a command page). Errors: EINVAL
    /// (empty range), ENOMEM or EPERM (cannot lock: RLIMIT_MEMLOCK), and Pagemap's: EPERM (frame
    /// numbers hidden), EFAULT, EIO, ENOMEM (not contiguous); the message says which and what to do.
    Result<std::uint64_t> mapContiguous(void* address, std::size_t size) const;
    /// Locks @p pool's data region and gives every netbuf the physical address of its buffer
    /// (NetbufPool::setBufferIoAddresses), after checking that each buffer is physically
    /// contiguous. @return the physical address of the region's first byte. Errors as
    /// mapContiguous; ENOMEM when a buffer spans frames that are not consecutive (the message
    /// names the netbuf and says to use hugepages or a buffer size that divides 4096).
    Result<std::uint64_t> mapPool(NetbufPool& pool) const;
    /// The physical address of the byte at @p address (already locked). Errors: Pagemap's.
    Result<std::uint64_t> physicalAddress(const void* address) const { return pagemap_.physicalAddress(address); }
    /// Where the physical addresses come from.
    const std::string& pagemapPath() const { return pagemap_.path(); }

private:
    Pagemap pagemap_;
};

}  // namespace nexnet
