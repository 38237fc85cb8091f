#include "netbuf/DmaRegion.h"

#include "netbuf/Pagemap.h"

#include <cerrno>
#include <fcntl.h>
#include <linux/memfd.h>
#include <utility>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nexnet {

namespace {

constexpr std::size_t kSmallPage = 4096;
constexpr std::size_t kHugePage = 2u << 20;

std::size_t roundUp(std::size_t value, std::size_t unit) { return (value + unit - 1) / unit * unit; }

/// Makes and maps a memfd of @p size bytes; MFD_HUGETLB when @p huge. Returns the errno on failure.
int mapMemfd(const std::string& name, std::size_t size, bool huge, int& fd, std::uint8_t*& data) {
    unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
    if (huge) flags = MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB;
    fd = memfd_create(name.c_str(), flags);
    if (fd < 0) return errno;
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
        int e = errno;
        close(fd);
        return e;
    }
    // MAP_POPULATE: a hugetlbfs mapping with no free pages fails here rather than with SIGBUS later.
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        return e;
    }
    data = static_cast<std::uint8_t*>(p);
    return 0;
}

}  // namespace

Result<DmaRegion> DmaRegion::allocate(std::size_t size, const Options& options) {
    if (size == 0) return Result<DmaRegion>::failure(EINVAL);
    DmaRegion region;
    int error = ENOMEM;
    if (options.hugepages || options.requireHugepages) {
        region.size_ = roundUp(size, kHugePage);
        error = mapMemfd(options.name, region.size_, true, region.fd_, region.data_);
        if (error == 0) region.pageSize_ = kHugePage;
    }
    if (error != 0) {
        if (options.requireHugepages) return Result<DmaRegion>::failure(error);
        region.size_ = roundUp(size, kSmallPage);
        error = mapMemfd(options.name, region.size_, false, region.fd_, region.data_);
        if (error != 0) return Result<DmaRegion>::failure(error);
        region.pageSize_ = kSmallPage;
    }
    if (options.lock) region.locked_ = mlock(region.data_, region.size_) == 0;
    return region;
}

Result<DmaRegion> DmaRegion::attach(int fd, std::size_t size, bool writable) {
    if (size == 0) return Result<DmaRegion>::failure(EINVAL);
    struct stat st {};
    if (fstat(fd, &st) != 0) return Result<DmaRegion>::failure(errno);
    if (static_cast<std::size_t>(st.st_size) < size) return Result<DmaRegion>::failure(EINVAL);
    DmaRegion region;
    region.fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (region.fd_ < 0) return Result<DmaRegion>::failure(errno);
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    void* p = mmap(nullptr, size, prot, MAP_SHARED, region.fd_, 0);
    if (p == MAP_FAILED) return Result<DmaRegion>::failure(errno);
    region.data_ = static_cast<std::uint8_t*>(p);
    region.size_ = size;
    region.pageSize_ = static_cast<std::size_t>(st.st_blksize) >= kHugePage ? kHugePage : kSmallPage;
    return region;
}

DmaRegion::DmaRegion(DmaRegion&& other) noexcept { *this = std::move(other); }

DmaRegion& DmaRegion::operator=(DmaRegion&& other) noexcept {
    if (this != &other) {
        release();
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        pageSize_ = other.pageSize_;
        fd_ = std::exchange(other.fd_, -1);
        locked_ = std::exchange(other.locked_, false);
        iova_ = std::exchange(other.iova_, 0);
    }
    return *this;
}

DmaRegion::~DmaRegion() { release(); }

void DmaRegion::release() {
    if (data_ != nullptr) munmap(data_, size_);  // munmap also drops the mlock
    if (fd_ >= 0) close(fd_);
    data_ = nullptr;
    fd_ = -1;
    size_ = 0;
}

Result<std::uint64_t> DmaRegion::physicalAddress(std::size_t offset) const {
    if (offset >= size_) return Result<std::uint64_t>::failure(ERANGE, "offset outside the region");
    auto pagemap = Pagemap::open();
    if (!pagemap) return Result<std::uint64_t>::failure(pagemap);
    return pagemap->physicalAddress(data_ + offset);
}

}  // namespace nexnet
