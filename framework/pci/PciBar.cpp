#include "framework/pci/PciBar.h"

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

PciBar::~PciBar() {
    if (base_ != nullptr) munmap(const_cast<std::uint8_t*>(base_), size_);
}

}  // namespace nexnet
