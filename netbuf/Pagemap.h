#pragma once
/// @file Pagemap.h
/// @brief Pagemap: the physical addresses behind this process's memory, read from /proc/self/pagemap.

#include "netbuf/Result.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nexnet {

/// The kernel's table of a process's virtual pages and the physical frames behind them
/// (/proc/PID/pagemap, Linux Documentation/admin-guide/mm/pagemap.rst): how a device that sees
/// physical memory directly (VFIO's no-IOMMU mode) is given the addresses of netbufs and rings.
///
/// @verbatim
///   pagemap file: one little-endian 64-bit entry per 4 KiB virtual page, at (address / 4096) * 8
///   bit 63: present in RAM   bit 62: swapped   bits 0-54: page frame number (PFN)
///   physical address of a byte = PFN * 4096 + address % 4096
/// @endverbatim
///
/// Hugepages are listed 4 KiB at a time too (a 2 MiB page is 512 consecutive frames). The kernel
/// shows frame numbers only to CAP_SYS_ADMIN; to anyone else a present page has PFN 0.
///
/// A Pagemap reads the file it was opened on, so a test can hand it a file of its own making
/// (open(path)) instead of the kernel's. Control path only: every lookup is a pread.
/// Movable, not copyable; not thread safe.
class Pagemap {
public:
    /// Where the kernel publishes the calling process's pagemap.
    static constexpr const char* kSelf = "/proc/self/pagemap";
    /// The granularity of the pagemap: one entry per 4 KiB of virtual memory.
    static constexpr std::size_t kPageSize = 4096;

    /// Opens the pagemap at @p path (the kernel's by default). Errors: open's errno (ENOENT: no
    /// /proc; EACCES), with a message naming the file.
    static Result<Pagemap> open(const std::string& path = kSelf);

    /// An unopened pagemap (every lookup fails with EBADF).
    Pagemap() = default;
    /// Takes over @p other's file.
    Pagemap(Pagemap&& other) noexcept;
    /// Closes this pagemap's file and takes over @p other's.
    Pagemap& operator=(Pagemap&& other) noexcept;
    Pagemap(const Pagemap&) = delete;
    Pagemap& operator=(const Pagemap&) = delete;
    /// Closes the file.
    ~Pagemap();

    /// The physical address of every 4 KiB page that [@p address, @p address + @p size) touches,
    /// in order (one pread for all of them). Errors: EINVAL (size 0), EIO (the file ends before
    /// the range's entries), EFAULT (a page is not in RAM: not touched yet, or swapped out: lock
    /// the memory first), EPERM (the kernel hides frame numbers: needs CAP_SYS_ADMIN), each with
    /// a message naming the address.
    Result<std::vector<std::uint64_t>> physicalPages(const void* address, std::size_t size) const;
    /// The physical address of the byte at @p address. Errors as physicalPages().
    Result<std::uint64_t> physicalAddress(const void* address) const;
    /// The physical address of @p address when the @p size bytes from it lie on physically
    /// consecutive frames, as a device needs for one DMA buffer or descriptor ring. Errors as
    /// physicalPages(), and ENOMEM when the range is split over frames that are not consecutive
    /// (the message says where, and that a 2 MiB hugepage is always contiguous).
    Result<std::uint64_t> contiguousPhysicalAddress(const void* address, std::size_t size) const;
    /// The file this pagemap reads.
    const std::string& path() const { return path_; }

private:
    int fd_ = -1;
    std::string path_;
};

}  // namespace nexnet
