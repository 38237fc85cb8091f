#pragma once
/// @file DmaRegion.h
/// @brief DmaRegion: memory that devices can DMA into and other processes can map (Drepper's dma_alloc).

#include "netbuf/Result.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace nexnet {

/// A block of memory suitable for DMA and for sharing with other processes.
///
/// The memory is a memfd, so it can be handed to another process (app rings) and mapped by it,
/// and mapped into an IOMMU (VFIO). It uses 2 MiB hugepages when the system has free ones and
/// normal pages otherwise, and is locked in RAM (mlock) when the process is allowed to: pages a
/// device may write into must not move. Which of these happened is reported by usesHugepages()
/// and isLocked(), never hidden.
///
/// This is the `dma_alloc()` / `dma_free()` of Drepper's "The Need for Asynchronous, Zero-Copy
/// Network I/O": creating a DmaRegion allocates, destroying it frees.
///
/// A DmaRegion is movable, not copyable.
class DmaRegion {
public:
    /// How a region should be made.
    struct Options {
        /// Name shown in /proc/PID/maps (memfd name).
        std::string name = "nexnet-dma";
        /// Try 2 MiB hugepages first (falls back to normal pages when none are free).
        bool hugepages = true;
        /// Require hugepages: fail with ENOMEM instead of falling back.
        bool requireHugepages = false;
        /// Lock the pages in RAM; a failure to lock is reported by isLocked(), not an error.
        bool lock = true;
    };

    /// Allocates a region of at least @p size bytes (rounded up to the page size).
    /// Errors: EINVAL for size 0, ENOMEM (or the errno of memfd_create/ftruncate/mmap).
    static Result<DmaRegion> allocate(std::size_t size, const Options& options);
    /// Allocates with default options.
    static Result<DmaRegion> allocate(std::size_t size) { return allocate(size, Options{}); }

    /// Maps a region another process made, from its memfd @p fd (the fd is duplicated, the
    /// caller keeps its own). @p size must not exceed the file's size. @p writable false maps it
    /// read-only. Errors: EBADF, EINVAL (size 0 or larger than the file), or mmap's errno.
    static Result<DmaRegion> attach(int fd, std::size_t size, bool writable);

    /// An empty region (data() is nullptr).
    DmaRegion() = default;
    /// Takes over @p other's memory; @p other becomes empty.
    DmaRegion(DmaRegion&& other) noexcept;
    /// Frees this region's memory and takes over @p other's.
    DmaRegion& operator=(DmaRegion&& other) noexcept;
    DmaRegion(const DmaRegion&) = delete;
    DmaRegion& operator=(const DmaRegion&) = delete;
    /// Unmaps the memory and closes the memfd (dma_free).
    ~DmaRegion();

    /// Start of the mapping in this process, or nullptr for an empty region.
    std::uint8_t* data() const { return data_; }
    /// Size of the mapping in bytes (a multiple of pageSize()).
    std::size_t size() const { return size_; }
    /// The memfd behind the region; valid while the region lives. Hand it to other processes.
    int fd() const { return fd_; }
    /// Page size backing the region: 2 MiB with hugepages, 4 KiB otherwise.
    std::size_t pageSize() const { return pageSize_; }
    /// True when the region is backed by hugepages.
    bool usesHugepages() const { return pageSize_ > 4096; }
    /// True when the pages are locked in RAM.
    bool isLocked() const { return locked_; }
    /// True when @p pointer lies inside the region.
    bool contains(const void* pointer) const {
        auto p = static_cast<const std::uint8_t*>(pointer);
        return p >= data_ && p < data_ + size_;
    }

    /// Physical address of the byte at @p offset, read from /proc/self/pagemap (Pagemap), for DMA
    /// without an IOMMU. Needs CAP_SYS_ADMIN (the kernel hides frame numbers otherwise).
    /// Errors: ERANGE for an offset outside the region, EPERM when the kernel hides the address,
    /// EFAULT when the page is not in RAM, each with a message.
    Result<std::uint64_t> physicalAddress(std::size_t offset) const;

    /// The I/O virtual address a device uses for the start of the region, once a driver mapped it
    /// into an IOMMU (setIova); 0 when not mapped.
    std::uint64_t iova() const { return iova_; }
    /// The device address of the byte at @p offset (iova() + offset).
    std::uint64_t iovaAt(std::size_t offset) const { return iova_ + offset; }
    /// Records the IOVA at which a driver mapped this region (VFIO_IOMMU_MAP_DMA).
    void setIova(std::uint64_t iova) { iova_ = iova; }

private:
    void release();

    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t pageSize_ = 4096;
    int fd_ = -1;
    bool locked_ = false;
    std::uint64_t iova_ = 0;
};

}  // namespace nexnet
