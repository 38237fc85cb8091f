#pragma once
/// @file PciBar.h
/// @brief PciBar: a PCI base address register's memory mapped into the process, with typed access.

#include <cstddef>
#include <cstdint>

namespace nexnet {

/// One memory BAR of a PCI device, mapped with mmap through its VFIO device fd.
///
/// Registers are read and written with volatile accesses of exactly the width named
/// (read32/write32...): a device register must see one access of its own size, never a
/// compiler-merged or split one. 64-bit accessors do one 64-bit access; a device that only
/// accepts 32-bit accesses (virtio's common configuration) is written as two write32 calls.
///
/// Offsets are not checked on the data path; an offset must lie inside size(). Made by
/// PciDevice::mapBar; movable, not copyable; unmapped when destroyed.
class PciBar {
public:
    /// An unmapped BAR (data() is nullptr).
    PciBar() = default;
    /// Wraps an existing mapping of @p size bytes at @p base, which this object then unmaps.
    PciBar(void* base, std::size_t size) : base_(static_cast<volatile std::uint8_t*>(base)), size_(size) {}
    /// Takes over @p other's mapping.
    PciBar(PciBar&& other) noexcept : base_(other.base_), size_(other.size_) {
        other.base_ = nullptr;
        other.size_ = 0;
    }
    /// Unmaps this BAR and takes over @p other's mapping.
    PciBar& operator=(PciBar&& other) noexcept;
    PciBar(const PciBar&) = delete;
    PciBar& operator=(const PciBar&) = delete;
    /// Unmaps the BAR.
    ~PciBar();

    /// Reads the 8-bit register at @p offset.
    std::uint8_t read8(std::size_t offset) const { return *reinterpret_cast<volatile std::uint8_t*>(base_ + offset); }
    /// Reads the 16-bit register at @p offset.
    std::uint16_t read16(std::size_t offset) const {
        return *reinterpret_cast<volatile std::uint16_t*>(base_ + offset);
    }
    /// Reads the 32-bit register at @p offset.
    std::uint32_t read32(std::size_t offset) const {
        return *reinterpret_cast<volatile std::uint32_t*>(base_ + offset);
    }
    /// Reads the 64-bit register at @p offset with one access.
    std::uint64_t read64(std::size_t offset) const {
        return *reinterpret_cast<volatile std::uint64_t*>(base_ + offset);
    }
    /// Writes the 8-bit register at @p offset.
    void write8(std::size_t offset, std::uint8_t value) {
        *reinterpret_cast<volatile std::uint8_t*>(base_ + offset) = value;
    }
    /// Writes the 16-bit register at @p offset.
    void write16(std::size_t offset, std::uint16_t value) {
        *reinterpret_cast<volatile std::uint16_t*>(base_ + offset) = value;
    }
    /// Writes the 32-bit register at @p offset.
    void write32(std::size_t offset, std::uint32_t value) {
        *reinterpret_cast<volatile std::uint32_t*>(base_ + offset) = value;
    }
    /// Writes the 64-bit register at @p offset with one access.
    void write64(std::size_t offset, std::uint64_t value) {
        *reinterpret_cast<volatile std::uint64_t*>(base_ + offset) = value;
    }
    /// Sets @p bits in the 32-bit register at @p offset (read, or, write).
    void setBits32(std::size_t offset, std::uint32_t bits) { write32(offset, read32(offset) | bits); }
    /// Clears @p bits in the 32-bit register at @p offset (read, and-not, write).
    void clearBits32(std::size_t offset, std::uint32_t bits) { write32(offset, read32(offset) & ~bits); }

    /// Start of the mapping, or nullptr.
    volatile std::uint8_t* data() const { return base_; }
    /// Bytes mapped.
    std::size_t size() const { return size_; }
    /// True when mapped.
    bool isMapped() const { return base_ != nullptr; }
    /// Lets go of the device behind the BAR while keeping its addresses readable: the mapping is
    /// replaced, in place, by private memory of the same size filled with ones, which is what a
    /// read from a device that is no longer there returns on PCI (a master abort completes with
    /// all ones; PCI 3.0, 6.2.1 on reading an absent function's vendor ID). A driver calls it when
    /// the kernel takes its device back (PciDevice::release): the device's file is no longer
    /// referenced by the mapping, so the kernel can finish the removal, and a register access
    /// made afterwards by a path that raced the release reads ones instead of faulting (SIGBUS).
    /// @return 0 or mmap's errno (the BAR is then unmapped instead).
    int detach();

private:
    volatile std::uint8_t* base_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace nexnet
