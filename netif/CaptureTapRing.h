#pragma once
/// @file CaptureTapRing.h
/// @brief CaptureTapRing: the bounded, preallocated byte ring between a capture tap's data path
/// and its writer thread.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace nexnet {

/// A single-producer, single-consumer ring of variable-length frame records in one block of
/// memory allocated up front, as a BPF capture buffer. The data path copies a frame in with
/// push() (no lock, no allocation, no syscall: a copy and one release store); the writer thread
/// takes records out with pop() and release().
///
/// @verbatim
///  | record | record | record |  free ...  | pad | ...      positions grow without bound;
///  ^ tail (consumer)          ^ head (producer)              offset = position % capacity
///  record = 16-byte header {captured, length, nanoseconds} + data padded to 16 bytes
///  a record never wraps: when it does not fit before the end, a pad record fills the rest
/// @endverbatim
///
/// When the free space is too small, push() refuses and the caller counts a drop: capture never
/// waits for the disk.
class CaptureTapRing {
public:
    /// One record as pop() returns it; valid until release().
    struct Record {
        const std::uint8_t* data = nullptr;  ///< The stored bytes.
        std::uint32_t captured = 0;          ///< Bytes stored.
        std::uint32_t length = 0;            ///< Bytes of the frame on the wire.
        std::uint64_t nanoseconds = 0;       ///< Timestamp, nanoseconds since the epoch.
    };

    /// A ring of @p bytes (rounded up to 16; at least 64).
    explicit CaptureTapRing(std::size_t bytes);
    CaptureTapRing(const CaptureTapRing&) = delete;
    CaptureTapRing& operator=(const CaptureTapRing&) = delete;

    /// Producer: copies @p captured bytes of a @p length-byte frame in. @return false (nothing
    /// stored) when there is no room.
    bool push(const std::uint8_t* frame, std::uint32_t captured, std::uint32_t length, std::uint64_t nanoseconds);
    /// Consumer: the oldest record, or false when the ring is empty.
    bool pop(Record& record);
    /// Consumer: frees the record pop() returned.
    void release();

    /// Bytes of the ring.
    std::size_t capacity() const { return capacity_; }
    /// Largest frame (captured bytes) a record can hold.
    std::size_t largestRecord() const { return capacity_ / 2 - kHeader; }

private:
    static constexpr std::size_t kHeader = 16;
    static constexpr std::uint32_t kPad = UINT32_MAX;  // "skip to the start of the ring"
    static std::size_t recordBytes(std::uint32_t captured) { return kHeader + ((captured + 15u) & ~std::size_t{15}); }

    std::size_t capacity_;
    std::unique_ptr<std::uint8_t[]> buffer_;
    alignas(64) std::atomic<std::uint64_t> head_{0};  // written by the producer
    std::uint64_t cachedTail_ = 0;                    // producer's last view of tail_
    alignas(64) std::atomic<std::uint64_t> tail_{0};  // written by the consumer
    std::uint64_t popped_ = 0;                        // consumer: end of the record being read
};

}  // namespace nexnet
