#include "framework/pci/PhysicalDma.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <vector>

namespace nexnet {

namespace {

// Pins the pages behind the range (and populates them): a device without an IOMMU writes to
// whatever frame the address names, so the frame must stay the range's.
Result<std::uint64_t> lock(void* address, std::size_t size) {
    if (size == 0) return Result<std::uint64_t>::failure(EINVAL, "no-IOMMU DMA: an empty range");
    if (mlock(address, size) == 0) return std::uint64_t{0};
    int error = errno;
    return Result<std::uint64_t>::failure(error,
                                          "cannot lock " + std::to_string(size) + " bytes of DMA memory in RAM (" +
                                              std::strerror(error) + "): raise RLIMIT_MEMLOCK " +
                                              "(ulimit -l unlimited) or run as root");
}

}  // namespace

Result<PhysicalDma> PhysicalDma::open(const std::string& path) {
    auto pagemap = Pagemap::open(path);
    if (!pagemap) return Result<PhysicalDma>::failure(pagemap);
    return PhysicalDma(std::move(*pagemap));
}

Result<std::uint64_t> PhysicalDma::mapContiguous(void* address, std::size_t size) const {
    if (auto locked = lock(address, size); !locked) return locked;
    auto physical = pagemap_.contiguousPhysicalAddress(address, size);
    if (!physical && physical.error() == ENOMEM) {
        return Result<std::uint64_t>::failure(ENOMEM,
                                              "no-IOMMU DMA: a device reads descriptors by physical address, and " +
                                                  physical.message() +
                                                  ": reserve hugepages (nexnetctl hugepages 64) so rings get one");
    }
    return physical;
}

Result<std::uint64_t> PhysicalDma::mapPool(NetbufPool& pool) const {
    using R = Result<std::uint64_t>;
    DmaRegion& region = pool.dataRegion();
    if (auto locked = lock(region.data(), region.size()); !locked) return locked;
    auto pages = pagemap_.physicalPages(region.data(), region.size());
    if (!pages) return R::failure(pages);
    // The region starts on a page boundary (mmap), so buffer i's bytes are pages
    // [i * size / 4096, ((i + 1) * size - 1) / 4096] of it.
    constexpr std::size_t kPage = Pagemap::kPageSize;
    const std::size_t size = pool.bufferSize();
    std::vector<std::uint64_t> addresses(pool.capacity());
    for (std::uint32_t i = 0; i < pool.capacity(); ++i) {
        const std::size_t start = std::size_t{i} * size, first = start / kPage, last = (start + size - 1) / kPage;
        for (std::size_t page = first + 1; page <= last; ++page) {
            if ((*pages)[page] == (*pages)[page - 1] + kPage) continue;
            return R::failure(ENOMEM,
                              "no-IOMMU DMA: netbuf " + std::to_string(i) + " of the pool (" + std::to_string(size) +
                                  "-byte buffers) spans two pages that are not physically contiguous, so a device "
                                  "could not write it by physical address; use a pool on hugepages "
                                  "(nexnetctl hugepages N) or buffers whose size divides 4096");
        }
        addresses[i] = (*pages)[first] + start % kPage;
    }
    if (int error = pool.setBufferIoAddresses(addresses); error != 0)
        return R::failure(error, "no-IOMMU DMA: the pool refused the buffer addresses");
    return addresses.front();
}

}  // namespace nexnet
