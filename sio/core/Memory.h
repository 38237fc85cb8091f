#pragma once
/// @file Memory.h
/// @brief Memory: the DMA-able memory behind a dma_mem_t, and who owns each of its buffers.

#include "netbuf/DmaRegion.h"
#include "netbuf/Result.h"
#include "netbuf/SioAllocator.h"
#include "sio/dma.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace nexnet::sio {

/// DMA-able memory (a DmaRegion: memfd, hugepages when free, mlocked) cut into units by a
/// SioAllocator, with the owner of every buffer tracked so misuse is refused, not obeyed.
///
/// A buffer (an allocation: one unit for a receive buffer, a run of units for a reservation)
/// is in one of four states, recorded in one atomic word at its first unit:
///
///     free ──sio_reserve──► reserved ──sio_release──► free
///       │                                                  (a zero-copy send in flight
///       └─posted for receive─► posted ──kernel filled it──► received   defers the release
///           (dma_assoc, a       ▲   (sio_recv returns it)      │        until the kernel's
///            socket's pool)     └──────sio_release─────────────┘        notification)
///
/// The word also counts the zero-copy sends in flight from the buffer, the parts a stream
/// receive handed out, whether a release waits for the sends, and the association (the
/// socket's receive pool) a received buffer returns to.
class Memory {
public:
    /// Allocates @p size bytes with dma_alloc's @p flags. Errors: EINVAL, ENOMEM, or mlock's
    /// errno with DMA_LOCKED.
    static Result<std::unique_ptr<Memory>> create(std::size_t size, unsigned flags);
    Memory(const Memory&) = delete;
    Memory& operator=(const Memory&) = delete;

    /// The handle the program holds (set once by the table that owns the memory).
    void setHandle(std::uintptr_t handle) { handle_ = handle; }
    /// The handle the program holds.
    std::uintptr_t handle() const { return handle_; }
    /// The size dma_alloc was given.
    std::size_t size() const { return size_; }
    /// First byte.
    std::uint8_t* base() const { return region_.data(); }
    /// The minimum allocation size (also the receive buffer size).
    std::size_t unit() const { return allocator_->unit(); }
    /// Units.
    std::size_t units() const { return allocator_->units(); }
    /// Address of unit @p unit.
    std::uint8_t* unitAddress(std::size_t unit) const { return base() + (unit << unitShift_); }
    /// The unit holding the byte at @p p (which must be inside).
    std::size_t unitOf(const void* p) const {
        return static_cast<std::size_t>(static_cast<const std::uint8_t*>(p) - base()) >> unitShift_;
    }
    /// True when the @p length bytes at @p p lie inside the units.
    bool contains(const void* p, std::size_t length) const;
    /// The region (for registering it with the kernel, or with a device).
    const DmaRegion& region() const { return region_; }

    /// sio_reserve. @return 0, or -1 with errno and message.
    int reserve(void** memp, std::size_t size);
    /// sio_release. @return 0, or -1 with errno and message.
    int release(void* mem, std::size_t size);
    /// dma_getinfo. @return 0.
    int info(struct dma_info& info) const;

    /// Takes up to @p count free units as receive buffers of association @p slot (now
    /// "posted", owned by the kernel); their numbers go to @p units. @return how many.
    std::size_t takeReceiveUnits(unsigned slot, std::size_t count, std::uint32_t* units);
    /// The kernel filled posted unit @p unit: the program holds it now, in one part.
    void markReceived(std::size_t unit);
    /// One more part of received unit @p unit was handed out (a stream read split it).
    void addPart(std::size_t unit);
    /// True when unit @p unit is posted for receiving by association @p slot.
    bool isPosted(std::size_t unit, unsigned slot) const;
    /// A posted unit the kernel never filled goes back to the allocator (disassociation).
    void unpost(std::size_t unit);
    /// A received unit whose data was copied out (never given to the program) goes back: to
    /// its pool when @p keep (@return true: posted again, the caller lends it to the kernel),
    /// else to the allocator (@return false). Also false when something else still holds it
    /// (another part of it, a zero-copy send), which releases it later.
    bool returnToPool(std::size_t unit, bool keep);
    /// A received unit the program was never given goes back to its pool or the allocator
    /// (a receive nobody wanted: a datagram truncated away, a socket closed).
    void releaseUnit(std::size_t unit);

    /// Checks that the @p length bytes at @p p lie in one reserved or received buffer, the
    /// only memory a program may send from. @return its first unit, or -1 with errno and message.
    long checkSendable(const void* p, std::size_t length) const;
    /// checkSendable, then counts a zero-copy send from the buffer (which the kernel now
    /// reads until its notification). @return its first unit, or -1 with errno (EBUSY: too
    /// many sends from one buffer at once).
    long beginSend(const void* p, std::size_t length);
    /// The kernel's notification for a zero-copy send from the buffer at @p unit arrived;
    /// completes a release that waited for it.
    void endSend(std::size_t unit);

    /// Records an association with the socket named by @p socketHandle. @return its slot, or
    /// -1 with errno (ENOSPC: too many sockets).
    int addAssociation(std::uintptr_t socketHandle);
    /// Ends association @p slot: received buffers that would have gone back to it go back to
    /// the allocator instead.
    void removeAssociation(unsigned slot);
    /// Sockets associated now.
    int associations() const { return associations_.load(std::memory_order_acquire); }
    /// Zero-copy sends from this memory not yet notified.
    long sendsInFlight() const { return sendsInFlight_.load(std::memory_order_acquire); }

private:
    Memory(DmaRegion region, std::unique_ptr<SioAllocator> allocator, std::size_t size);

    int releaseAt(std::size_t first);
    void finishRelease(std::size_t first, std::uint32_t word);
    void recycle(std::size_t first, unsigned home);

    static constexpr unsigned kSlots = 64;

    DmaRegion region_;
    std::unique_ptr<SioAllocator> allocator_;
    std::size_t size_;
    std::size_t unitShift_;
    std::uintptr_t handle_ = 0;
    std::unique_ptr<std::atomic<std::uint32_t>[]> words_;
    std::atomic<int> associations_{0};
    std::atomic<long> sendsInFlight_{0};
    std::mutex slotsMutex_;
    std::atomic<std::uintptr_t> slots_[kSlots] = {};
};

/// Hands received unit @p unit of @p memory back to the receive pool of the socket named by
/// @p socketHandle. @return false when that socket no longer takes it (closed, disassociated):
/// the caller frees the unit. Defined by the layer that owns the sockets (sio/Sockets.cpp).
bool recycleTo(std::uintptr_t socketHandle, Memory& memory, std::size_t unit);

}  // namespace nexnet::sio
