#pragma once
/// @file SioAllocator.h
/// @brief SioAllocator: Drepper's sio_reserve / sio_release, a thread-safe bitmap allocator with a
/// minimum allocation size over a block of DMA memory.

#include "netbuf/Result.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace nexnet {

/// Hands out pieces of a block of memory in whole units, the way Drepper's paper asks for
/// sio_reserve() and sio_release() ("The Need for Asynchronous, Zero-Copy Network I/O",
/// section 6): "require a significant minimum allocation size ... It is possible to use a
/// simple bitmap allocator."
///
/// The allocator knows offsets only (0 to size), not addresses: the owner adds the block's base.
/// One bit per unit says "in use"; the first unit of each allocation records its length in
/// units, so a release finds the allocation from any byte inside it and a second release of the
/// same allocation is refused instead of freeing someone else's memory.
///
/// Thread-safe. A one-unit reservation (the common case: one buffer per datagram) takes a bit
/// with one compare-and-swap and no lock; longer ones search for a run of free units under a
/// mutex. A release is lock-free.
class SioAllocator {
public:
    /// One allocation: where it starts and how long it is, in bytes.
    struct Allocation {
        /// Offset of the first byte.
        std::size_t offset = 0;
        /// Length in bytes (a multiple of unit()).
        std::size_t size = 0;
    };

    /// Manages @p size bytes (rounded down to whole units) in units of @p unit bytes.
    /// Errors: EINVAL when @p unit is not a power of two or @p size holds no whole unit.
    static Result<std::unique_ptr<SioAllocator>> create(std::size_t size, std::size_t unit);

    SioAllocator(const SioAllocator&) = delete;
    SioAllocator& operator=(const SioAllocator&) = delete;

    /// Reserves @p size bytes rounded up to whole units, contiguous.
    /// @return the offset of the first byte; EINVAL for size 0 or more than the block holds,
    /// ENOMEM when no run of free units is long enough.
    Result<std::size_t> reserve(std::size_t size);

    /// Releases the allocation containing the @p size bytes at @p offset (any byte of it, any
    /// length up to its end). @return 0; EINVAL when @p offset is outside the block or not in
    /// use (never reserved, or already released), or @p size is 0 or runs past the allocation.
    int release(std::size_t offset, std::size_t size);

    /// The allocation containing the byte at @p offset; EINVAL when that byte is not in use.
    Result<Allocation> allocationAt(std::size_t offset) const;

    /// The minimum allocation size in bytes (a power of two).
    std::size_t unit() const { return unit_; }
    /// Units managed.
    std::size_t units() const { return units_; }
    /// Units not in use right now (a snapshot).
    std::size_t freeUnits() const { return units_ - used_.load(std::memory_order_relaxed); }

private:
    SioAllocator(std::size_t units, std::size_t unit);

    bool isUsed(std::size_t unit) const;
    Result<std::size_t> reserveOne();
    Result<std::size_t> reserveRun(std::size_t count);
    bool takeRun(std::size_t first, std::size_t count);
    void clearRun(std::size_t first, std::size_t count);
    std::size_t startOf(std::size_t unit) const;

    std::size_t unit_;
    std::size_t unitShift_;
    std::size_t units_;
    std::size_t words_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> bits_;
    // Length in units at the first unit of each allocation, 0 elsewhere.
    std::unique_ptr<std::atomic<std::uint32_t>[]> lengths_;
    std::atomic<std::size_t> used_{0};
    std::atomic<std::size_t> hint_{0};
    std::mutex runs_;
};

}  // namespace nexnet
