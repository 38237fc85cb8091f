#include "framework/pci/VfioContainer.h"

#include "framework/pci/PciDevice.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <vector>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace nexnet {

namespace {
constexpr std::uint64_t kIovaAlignment = 2u << 20;  // 2 MiB: lets the IOMMU use large pages
std::string groupPath(int group) { return "/dev/vfio/" + std::to_string(group); }

// True when @p bdf is a bridge (config header type 1 or 2): VFIO accepts any driver on those.
bool isBridge(const std::string& bdf) {
    std::string path = "/sys/bus/pci/devices/" + bdf + "/config";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    std::uint8_t headerType = 0;
    bool read = pread(fd, &headerType, 1, 0x0e) == 1;
    ::close(fd);
    return read && (headerType & 0x7f) != 0;
}

// Why group @p group is not viable, and what to do: every device of the group with its driver,
// those that keep the group from VFIO named.
std::string notViableMessage(int group) {
    const std::string directory = "/sys/kernel/iommu_groups/" + std::to_string(group) + "/devices";
    std::vector<std::string> devices;
    if (DIR* d = opendir(directory.c_str())) {
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] != '.') devices.emplace_back(e->d_name);
        }
        closedir(d);
    }
    std::sort(devices.begin(), devices.end());
    std::string listed, blockers, blockerBdf;
    for (const std::string& bdf : devices) {
        std::string driver = PciDevice::boundDriver(bdf);
        listed += (listed.empty() ? "" : ", ") + bdf + " (" + (driver.empty() ? "no driver" : driver) + ")";
        if (!driver.empty() && driver != "vfio-pci" && driver != "pci-stub" && !isBridge(bdf)) {
            blockers += (blockers.empty() ? "" : ", ") + bdf + " is bound to " + driver;
            if (blockerBdf.empty()) blockerBdf = bdf;
        }
    }
    std::string text = "IOMMU group " + std::to_string(group) +
        " is not viable: VFIO needs every device of the group bound to vfio-pci or to no driver";
    if (!blockers.empty()) text += ", and " + blockers;
    const std::string bdf = blockerBdf.empty() ? std::string("BDF") : blockerBdf;
    text += ". The group (" + directory + ") holds " +
        (listed.empty() ? std::string("no device sysfs shows") : listed) +
        ". Bind each device that is on another driver to vfio-pci (nexnetctl bind " + bdf + "), or unbind it (echo " +
        bdf + " > /sys/bus/pci/devices/" + bdf +
        "/driver/unbind); devices that share a group cannot be split between the kernel and VFIO";
    return text;
}
}  // namespace

int VfioContainer::fail(int error, std::string message) const {
    lastError_ = std::move(message);
    return error;
}

Result<std::shared_ptr<VfioContainer>> VfioContainer::open(std::string* message) {
    using R = Result<std::shared_ptr<VfioContainer>>;
    std::shared_ptr<VfioContainer> c(new VfioContainer());
    auto failure = [&](int error, std::string text) {
        if (message != nullptr) *message = std::move(text);
        return R::failure(error);
    };
    c->fd_ = ::open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    if (c->fd_ < 0) {
        int error = errno;
        if (error == ENOENT)
            return failure(error,
                           "no /dev/vfio/vfio: load the VFIO driver (`modprobe vfio-pci`) on a kernel "
                           "with VFIO, with the IOMMU on (intel_iommu=on or amd_iommu=on)");
        if (error == EACCES || error == EPERM)
            return failure(error,
                           "permission denied on /dev/vfio/vfio: run as root, or give your user "
                           "access to /dev/vfio (udev rule, group vfio)");
        return failure(error, std::string("cannot open /dev/vfio/vfio: ") + std::strerror(error));
    }
    if (ioctl(c->fd_, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
        return failure(EINVAL, "unknown VFIO API version: kernel and nexnet disagree");
    if (ioctl(c->fd_, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0) {
        c->iommuType_ = VFIO_TYPE1v2_IOMMU;
    } else if (ioctl(c->fd_, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0) {
        c->iommuType_ = VFIO_TYPE1_IOMMU;
    } else if (ioctl(c->fd_, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) > 0) {
        c->iommuType_ = VFIO_NOIOMMU_IOMMU;
        c->mode_ = Mode::noIommu;
        auto physical = PhysicalDma::open();
        if (!physical)
            return failure(physical.error(), "VFIO no-IOMMU mode needs physical addresses: " + physical.message());
        c->physical_.emplace(std::move(*physical));
    } else {
        return failure(ENOTSUP,
                       "VFIO offers no IOMMU backend: `modprobe vfio_iommu_type1` and enable the "
                       "IOMMU (intel_iommu=on), or load vfio with enable_unsafe_noiommu_mode=1");
    }
    return c;
}

Result<std::shared_ptr<VfioContainer>> VfioContainer::shared(std::string* message) {
    static std::mutex lock;
    static std::weak_ptr<VfioContainer> current;
    std::lock_guard guard(lock);
    if (auto c = current.lock()) return c;
    auto c = open(message);
    if (c) current = *c;
    return c;
}

VfioContainer::~VfioContainer() {
    for (auto& [iova, m] : maps_) unmapLocked(iova, m.size);
    for (auto& [group, fd] : groups_) ::close(fd);
    if (fd_ >= 0) ::close(fd_);
}

int VfioContainer::addGroup(int group) {
    std::lock_guard guard(lock_);
    if (groups_.count(group) != 0) return 0;
    std::string path = groupPath(group);
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && mode_ == Mode::noIommu) {
        path = "/dev/vfio/noiommu-" + std::to_string(group);
        fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    }
    if (fd < 0) {
        int error = errno;
        if (error == EACCES || error == EPERM)
            return fail(error,
                        "permission denied on " + path + ": run as root, or `chown $USER " + path +
                            "` and raise the locked-memory limit (ulimit -l)");
        if (error == EBUSY) return fail(error, path + " is in use by another process (a group opens once)");
        if (error == ENOENT)
            return fail(error, "no " + path + ": bind the group's devices to vfio-pci (nexnetctl bind BDF)");
        return fail(error, "cannot open " + path + ": " + std::strerror(error));
    }
    vfio_group_status status{};
    status.argsz = sizeof status;
    if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) != 0) {
        int error = errno;
        ::close(fd);
        return fail(error, "VFIO_GROUP_GET_STATUS failed on " + path);
    }
    if ((status.flags & VFIO_GROUP_FLAGS_VIABLE) == 0) {
        ::close(fd);
        return fail(EBUSY, notViableMessage(group));
    }
    if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &fd_) != 0) {
        int error = errno;
        ::close(fd);
        return fail(error, "VFIO_GROUP_SET_CONTAINER failed for " + path + ": " + std::strerror(error));
    }
    if (groups_.empty() && ioctl(fd_, VFIO_SET_IOMMU, iommuType_) != 0) {
        int error = errno;
        ::close(fd);
        return fail(error, "VFIO_SET_IOMMU failed: " + std::string(std::strerror(error)));
    }
    groups_[group] = fd;
    return 0;
}

int VfioContainer::groupFd(int group) const {
    std::lock_guard guard(lock_);
    auto it = groups_.find(group);
    return it == groups_.end() ? -1 : it->second;
}

VfioContainer::Mapping* VfioContainer::findMapping(std::uintptr_t address, std::size_t size) {
    for (auto& [iova, m] : maps_) {
        if (m.address == address && m.size == size) return &m;
    }
    return nullptr;
}

// The device stops reaching the range: VFIO_IOMMU_UNMAP_DMA; nothing to undo without an IOMMU
// (the memory stays locked until its owner frees it, and nothing translates addresses).
int VfioContainer::unmapLocked(std::uint64_t iova, std::size_t size) {
    if (mode_ == Mode::noIommu) return 0;
    vfio_iommu_type1_dma_unmap unmap{};
    unmap.argsz = sizeof unmap;
    unmap.iova = iova;
    unmap.size = size;
    return ioctl(fd_, VFIO_IOMMU_UNMAP_DMA, &unmap) == 0 ? 0 : errno;
}

Result<std::uint64_t> VfioContainer::mapDma(void* address, std::size_t size) {
    using R = Result<std::uint64_t>;
    std::lock_guard guard(lock_);
    auto start = reinterpret_cast<std::uintptr_t>(address);
    if (size == 0 || start % 4096 != 0 || size % 4096 != 0) return R::failure(fail(EINVAL, "mapDma: unaligned range"));
    if (groups_.empty()) return R::failure(fail(ENXIO, "mapDma before any group was added to the container"));
    if (Mapping* m = findMapping(start, size)) {
        ++m->references;
        return m->iova;
    }
    if (mode_ == Mode::noIommu) {
        auto physical = physical_->mapContiguous(address, size);
        if (!physical) return R::failure(fail(physical.error(), physical.message()));
        maps_[*physical] = Mapping{start, size, *physical, 1};
        return *physical;
    }
    std::uint64_t iova = nextIova_;
    vfio_iommu_type1_dma_map map{};
    map.argsz = sizeof map;
    map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
    map.vaddr = start;
    map.iova = iova;
    map.size = size;
    if (ioctl(fd_, VFIO_IOMMU_MAP_DMA, &map) != 0) {
        int error = errno;
        if (error == ENOMEM)
            return R::failure(fail(error,
                                   "VFIO_IOMMU_MAP_DMA: out of lockable memory: raise RLIMIT_MEMLOCK "
                                   "(ulimit -l unlimited) or run as root"));
        return R::failure(fail(error, std::string("VFIO_IOMMU_MAP_DMA failed: ") + std::strerror(error)));
    }
    maps_[iova] = Mapping{start, size, iova, 1};
    nextIova_ = (iova + size + kIovaAlignment - 1) & ~(kIovaAlignment - 1);
    return iova;
}

int VfioContainer::unmapDma(std::uint64_t iova) {
    std::lock_guard guard(lock_);
    auto it = maps_.find(iova);
    if (it == maps_.end()) return ENOENT;
    if (--it->second.references > 0) return 0;
    int result = unmapLocked(iova, it->second.size);
    maps_.erase(it);
    return result;
}

int VfioContainer::mapPool(NetbufPool& pool) {
    DmaRegion& region = pool.dataRegion();
    if (mode() == Mode::noIommu) {
        // Buffer by buffer: a pool need not be contiguous as a whole, each of its buffers must.
        std::lock_guard guard(lock_);
        const auto start = reinterpret_cast<std::uintptr_t>(region.data());
        if (groups_.empty()) return fail(ENXIO, "mapPool before any group was added to the container");
        if (Mapping* m = findMapping(start, region.size())) {
            ++m->references;
            return 0;
        }
        auto physical = physical_->mapPool(pool);
        if (!physical) return fail(physical.error(), physical.message());
        maps_[*physical] = Mapping{start, region.size(), *physical, 1};
        return 0;
    }
    auto iova = mapDma(region.data(), region.size());
    if (!iova) return iova.error();
    pool.setIoBase(*iova);
    return 0;
}

int VfioContainer::unmapPool(NetbufPool& pool) {
    std::uint64_t iova = iovaOf(pool.dataRegion().data());
    return iova == 0 ? ENOENT : unmapDma(iova);
}

std::uint64_t VfioContainer::iovaOf(const void* address) const {
    std::lock_guard guard(lock_);
    auto a = reinterpret_cast<std::uintptr_t>(address);
    for (auto& [iova, m] : maps_) {
        if (a < m.address || a >= m.address + m.size) continue;
        if (mode_ == Mode::iommu) return iova + (a - m.address);
        auto physical = physical_->physicalAddress(address);
        return physical ? *physical : 0;
    }
    return 0;
}

std::string VfioContainer::modeDescription() const {
    if (mode_ == Mode::noIommu)
        return "VFIO no-IOMMU mode (unsafe: no DMA isolation): device addresses are physical addresses from " +
            physical_->pagemapPath() + ", memory locked";
    return iommuType_ == VFIO_TYPE1v2_IOMMU ? "VFIO type1v2 IOMMU" : "VFIO type1 IOMMU";
}

std::string VfioContainer::lastError() const {
    std::lock_guard guard(lock_);
    return lastError_;
}

}  // namespace nexnet
