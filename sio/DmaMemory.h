#pragma once
/// @file DmaMemory.h
/// @brief DmaMemory: DMA-able memory (dma.h) for C++, freed with its owner; DmaAssociation:
/// an association with a socket, ended with its owner.

#include "netbuf/Result.h"
#include "sio/SioBuffer.h"
#include "sio/dma.h"

#include <cerrno>
#include <utility>

namespace nexnet {

/// Owns a dma_mem_t: dma_alloc on allocate(), dma_free when it goes (which fails, leaving the
/// memory allocated, while it is associated or the kernel still sends from it: end those
/// first, e.g. by destroying the DmaAssociation objects). Movable, not copyable.
class DmaMemory {
public:
    /// dma_alloc(@p size, @p flags). Errors: as dma_alloc.
    static Result<DmaMemory> allocate(std::size_t size, unsigned flags = 0) {
        dma_mem_t memory;
        if (dma_alloc(&memory, size, flags) != 0) return Result<DmaMemory>::failure(errno);
        return DmaMemory(memory, size);
    }
    /// No memory.
    DmaMemory() = default;
    /// Takes over @p other's memory.
    DmaMemory(DmaMemory&& other) noexcept
        : memory_(std::exchange(other.memory_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    /// Frees its memory, takes over @p other's.
    DmaMemory& operator=(DmaMemory&& other) noexcept {
        if (this != &other) {
            reset();
            memory_ = std::exchange(other.memory_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    DmaMemory(const DmaMemory&) = delete;
    DmaMemory& operator=(const DmaMemory&) = delete;
    /// dma_free.
    ~DmaMemory() { reset(); }

    /// The handle, for the C calls.
    dma_mem_t get() const { return memory_; }
    /// The size it was allocated with.
    std::size_t size() const { return size_; }
    /// dma_getinfo.
    dma_info info() const {
        dma_info info{};
        dma_getinfo(memory_, &info);
        return info;
    }
    /// sio_reserve(@p size): a buffer to write and send, released when the SioBuffer goes.
    Result<SioBuffer> reserve(std::size_t size) {
        void* data;
        if (sio_reserve(memory_, &data, size) != 0) return Result<SioBuffer>::failure(errno);
        return SioBuffer(memory_, data, size);
    }

private:
    DmaMemory(dma_mem_t memory, std::size_t size) : memory_(memory), size_(size) {}
    void reset() {
        if (memory_ != nullptr) dma_free(memory_, size_);
        memory_ = nullptr;
    }
    dma_mem_t memory_ = nullptr;
    std::size_t size_ = 0;
};

/// dma_assoc for as long as it lives: dma_disassoc when it goes. Movable, not copyable.
class DmaAssociation {
public:
    /// dma_assoc(@p socket, @p memory, @p flags). Errors: as dma_assoc.
    static Result<DmaAssociation> make(int socket, const DmaMemory& memory, unsigned flags = 0) {
        if (dma_assoc(socket, memory.get(), memory.size(), flags) != 0) return Result<DmaAssociation>::failure(errno);
        return DmaAssociation(socket, memory.get(), memory.size());
    }
    /// No association.
    DmaAssociation() = default;
    /// Takes over @p other's association.
    DmaAssociation(DmaAssociation&& other) noexcept
        : socket_(std::exchange(other.socket_, -1)), memory_(other.memory_), size_(other.size_) {}
    /// Ends its association, takes over @p other's.
    DmaAssociation& operator=(DmaAssociation&& other) noexcept {
        if (this != &other) {
            reset();
            socket_ = std::exchange(other.socket_, -1);
            memory_ = other.memory_;
            size_ = other.size_;
        }
        return *this;
    }
    DmaAssociation(const DmaAssociation&) = delete;
    DmaAssociation& operator=(const DmaAssociation&) = delete;
    /// dma_disassoc.
    ~DmaAssociation() { reset(); }

private:
    DmaAssociation(int socket, dma_mem_t memory, std::size_t size) : socket_(socket), memory_(memory), size_(size) {}
    void reset() {
        if (socket_ >= 0) dma_disassoc(socket_, memory_, size_);
        socket_ = -1;
    }
    int socket_ = -1;
    dma_mem_t memory_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace nexnet
