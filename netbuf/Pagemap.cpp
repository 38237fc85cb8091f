#include "netbuf/Pagemap.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <utility>

namespace nexnet {

namespace {

// Documentation/admin-guide/mm/pagemap.rst.
constexpr std::uint64_t kPresent = 1ull << 63;
constexpr std::uint64_t kSwapped = 1ull << 62;
constexpr std::uint64_t kFrameMask = (1ull << 55) - 1;

std::string hex(std::uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%" PRIx64, value);
    return text;
}

}  // namespace

Result<Pagemap> Pagemap::open(const std::string& path) {
    Pagemap pagemap;
    pagemap.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (pagemap.fd_ < 0) {
        int error = errno;
        return Result<Pagemap>::failure(error, "cannot open " + path + ": " + std::strerror(error));
    }
    pagemap.path_ = path;
    return pagemap;
}

Pagemap::Pagemap(Pagemap&& other) noexcept { *this = std::move(other); }

Pagemap& Pagemap::operator=(Pagemap&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::move(other.path_);
    }
    return *this;
}

Pagemap::~Pagemap() {
    if (fd_ >= 0) ::close(fd_);
}

Result<std::vector<std::uint64_t>> Pagemap::physicalPages(const void* address, std::size_t size) const {
    using R = Result<std::vector<std::uint64_t>>;
    if (fd_ < 0) return R::failure(EBADF, "pagemap not opened");
    if (size == 0) return R::failure(EINVAL, "pagemap: an empty range has no pages");
    const auto start = reinterpret_cast<std::uintptr_t>(address);
    const std::uint64_t first = start / kPageSize, last = (start + size - 1) / kPageSize;
    std::vector<std::uint64_t> entries(last - first + 1);
    const std::size_t bytes = entries.size() * sizeof(std::uint64_t);
    std::size_t done = 0;
    while (done < bytes) {
        ssize_t n = pread(fd_, reinterpret_cast<char*>(entries.data()) + done, bytes - done,
                          static_cast<off_t>(first * sizeof(std::uint64_t) + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int error = errno;
            return R::failure(error, "cannot read " + path_ + ": " + std::strerror(error));
        }
        if (n == 0) return R::failure(EIO, path_ + " ends before the entry of " + hex(start + done / 8 * kPageSize));
        done += static_cast<std::size_t>(n);
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::uint64_t entry = entries[i], page = (first + i) * kPageSize, frame = entry & kFrameMask;
        if ((entry & kPresent) == 0) {
            return R::failure(EFAULT,
                              "the page at " + hex(page) + " is not in RAM (" +
                                  ((entry & kSwapped) != 0 ? "swapped out" : "never touched") +
                                  "): DMA memory must be populated and locked (mlock)");
        }
        if (frame == 0) {
            return R::failure(EPERM,
                              path_ +
                                  " hides physical addresses (page frame numbers read 0): "
                                  "reading them needs CAP_SYS_ADMIN (run as root)");
        }
        entries[i] = frame * kPageSize;
    }
    return entries;
}

Result<std::uint64_t> Pagemap::physicalAddress(const void* address) const {
    auto pages = physicalPages(address, 1);
    if (!pages) return Result<std::uint64_t>::failure(pages);
    return pages->front() + reinterpret_cast<std::uintptr_t>(address) % kPageSize;
}

Result<std::uint64_t> Pagemap::contiguousPhysicalAddress(const void* address, std::size_t size) const {
    auto pages = physicalPages(address, size);
    if (!pages) return Result<std::uint64_t>::failure(pages);
    const std::vector<std::uint64_t>& p = *pages;
    for (std::size_t i = 1; i < p.size(); ++i) {
        if (p[i] != p[i - 1] + kPageSize) {
            const auto start = reinterpret_cast<std::uintptr_t>(address);
            const std::uint64_t boundary = (start / kPageSize + i) * kPageSize;
            return Result<std::uint64_t>::failure(
                ENOMEM,
                "the " + std::to_string(size) + " bytes at " + hex(start) + " are not physically contiguous: the " +
                    "page at " + hex(boundary) + " is at physical " + hex(p[i]) + ", not " + hex(p[i - 1] + kPageSize) +
                    " (memory on 2 MiB hugepages is contiguous within each page)");
        }
    }
    return p.front() + reinterpret_cast<std::uintptr_t>(address) % kPageSize;
}

}  // namespace nexnet
