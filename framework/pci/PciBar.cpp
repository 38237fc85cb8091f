#include "framework/pci/PciBar.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>

namespace nexnet {

PciBar& PciBar::operator=(PciBar&& other) noexcept {
    if (this != &other) {
        if (base_ != nullptr) munmap(const_cast<std::uint8_t*>(base_), size_);
        base_ = other.base_;
        size_ = other.size_;
        other.base_ = nullptr;
        other.size_ = 0;
    }
    return *this;
}

int PciBar::detach() {
    if (base_ == nullptr) return 0;
    void* at = const_cast<std::uint8_t*>(base_);
    // MAP_FIXED replaces the device mapping atomically: no window where the range is unmapped.
    void* fake = mmap(at, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (fake == MAP_FAILED) {
        const int error = errno;
        munmap(at, size_);
        base_ = nullptr;
        size_ = 0;
        return error;
    }
    std::memset(fake, 0xff, size_);
    return 0;
}

PciBar::~PciBar() {
    if (base_ != nullptr) munmap(const_cast<std::uint8_t*>(base_), size_);
}

}  // namespace nexnet
