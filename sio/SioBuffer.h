#pragma once
/// @file SioBuffer.h
/// @brief SioBuffer: a buffer of DMA memory the program holds (from sio_reserve or a
/// receive), released when it goes.

#include "sio/dma.h"

#include <cstddef>
#include <cstdint>
#include <utility>

namespace nexnet {

/// One buffer of DMA memory the program holds: reserved for writing (DmaMemory::reserve) or
/// filled by a receive (SioDescriptor::receive). sio_release on destruction, unless released
/// or detached before. Movable, not copyable.
class SioBuffer {
public:
    /// No buffer.
    SioBuffer() = default;
    /// Holds @p size bytes at @p data of @p memory (the caller hands over its duty to release).
    SioBuffer(dma_mem_t memory, void* data, std::size_t size) : memory_(memory), data_(data), size_(size) {}
    /// Takes over @p other's buffer.
    SioBuffer(SioBuffer&& other) noexcept
        : memory_(other.memory_), data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    /// Releases its buffer, takes over @p other's.
    SioBuffer& operator=(SioBuffer&& other) noexcept {
        if (this != &other) {
            release();
            memory_ = other.memory_;
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    SioBuffer(const SioBuffer&) = delete;
    SioBuffer& operator=(const SioBuffer&) = delete;
    /// sio_release.
    ~SioBuffer() { release(); }

    /// The bytes.
    std::uint8_t* data() const { return static_cast<std::uint8_t*>(data_); }
    /// How many (reserved, or received).
    std::size_t size() const { return size_; }
    /// True when it holds a buffer.
    explicit operator bool() const { return data_ != nullptr; }
    /// The memory it belongs to.
    dma_mem_t memory() const { return memory_; }

    /// sio_release now. @return 0, or the errno of sio_release (never expected: the buffer is
    /// the program's by construction).
    int release() {
        if (data_ == nullptr) return 0;
        int result = sio_release(memory_, data_, size_ == 0 ? 1 : size_);
        data_ = nullptr;
        size_ = 0;
        return result;
    }
    /// Gives up the duty to release (the caller took it over). @return the data.
    void* detach() {
        size_ = 0;
        return std::exchange(data_, nullptr);
    }

private:
    dma_mem_t memory_ = nullptr;
    void* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace nexnet
