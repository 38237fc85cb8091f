#include "framework/pci/PciDevice.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <linux/vfio.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace nexnet {

namespace {

constexpr std::uint32_t kPciCommand = 0x04;  // PCI 3.0, 6.2.2
constexpr std::uint16_t kCommandMemory = 1u << 1;
constexpr std::uint16_t kCommandBusMaster = 1u << 2;
constexpr std::uint32_t kPciStatus = 0x06;
constexpr std::uint16_t kStatusCapabilities = 1u << 4;
constexpr std::uint32_t kCapabilityPointer = 0x34;

// Only for addresses isAddress() accepted: nothing odd ('..', '/') reaches a sysfs path.
std::string sysfs(const std::string& bdf) { return "/sys/bus/pci/devices/" + bdf; }

std::string linkName(const std::string& path) {
    char buffer[512];
    ssize_t n = readlink(path.c_str(), buffer, sizeof buffer - 1);
    if (n <= 0) return "";
    buffer[n] = 0;
    const char* slash = std::strrchr(buffer, '/');
    return slash != nullptr ? slash + 1 : buffer;
}

std::uint32_t readHex(const std::string& path, bool& ok) {
    std::ifstream in(path);
    std::string text;
    ok = static_cast<bool>(in >> text);
    return ok ? static_cast<std::uint32_t>(std::strtoul(text.c_str(), nullptr, 16)) : 0;
}

}  // namespace

Result<std::uint32_t> PciDevice::readSysfsId(const std::string& bdf) {
    using R = Result<std::uint32_t>;
    if (!isAddress(bdf)) return R::failure(EINVAL);
    bool okVendor = false, okDevice = false;
    std::uint32_t vendor = readHex(sysfs(bdf) + "/vendor", okVendor);
    std::uint32_t device = readHex(sysfs(bdf) + "/device", okDevice);
    if (!okVendor || !okDevice) return R::failure(ENODEV);
    return (vendor << 16) | device;
}

bool PciDevice::isAddress(std::string_view bdf) {
    static constexpr char form[] = "xxxx:xx:dx.f";  // d: the device's high digit, 0 or 1 (5 bits)
    if (bdf.size() != sizeof form - 1) return false;
    for (std::size_t i = 0; i < bdf.size(); ++i) {
        char c = bdf[i];
        bool ok = form[i] == 'x' ? std::isxdigit(static_cast<unsigned char>(c)) != 0
            : form[i] == 'd'     ? (c == '0' || c == '1')
            : form[i] == 'f'     ? (c >= '0' && c <= '7')
                                 : c == form[i];
        if (!ok) return false;
    }
    return true;
}

std::string PciDevice::boundDriver(const std::string& bdf) {
    return isAddress(bdf) ? linkName(sysfs(bdf) + "/driver") : "";
}

Result<std::unique_ptr<PciDevice>> PciDevice::open(const std::string& bdf, std::shared_ptr<VfioContainer> container,
                                                   std::string* message) {
    using R = Result<std::unique_ptr<PciDevice>>;
    auto failure = [&](int error, std::string text) {
        if (message != nullptr) *message = std::move(text);
        return R::failure(error);
    };
    if (!isAddress(bdf)) return failure(EINVAL, "'" + bdf + "' is not a PCI address (DDDD:BB:DD.F, e.g. 0000:00:03.0)");
    if (!container) return failure(EINVAL, "no VFIO container");
    if (access(sysfs(bdf).c_str(), F_OK) != 0)
        return failure(ENODEV, "no PCI device " + bdf + " (`lspci -D` lists the devices)");
    std::string driver = boundDriver(bdf);
    if (driver.empty())
        return failure(ENODEV, bdf + " is bound to no driver: bind it to vfio-pci (nexnetctl bind " + bdf + ")");
    if (driver != "vfio-pci")
        return failure(EBUSY,
                       bdf + " is bound to " + driver +
                           ", not vfio-pci: take it from the kernel with "
                           "`nexnetctl bind " +
                           bdf + "` (its interface disappears from Linux)");
    std::string groupName = linkName(sysfs(bdf) + "/iommu_group");
    if (groupName.empty())
        return failure(ENODEV,
                       bdf +
                           " has no IOMMU group: enable the IOMMU (intel_iommu=on or amd_iommu=on on "
                           "the kernel command line, VT-d/AMD-Vi in the firmware)");
    int group = std::atoi(groupName.c_str());
    if (int error = container->addGroup(group); error != 0) return failure(error, container->lastError());

    std::unique_ptr<PciDevice> d(new PciDevice());
    d->bdf_ = bdf;
    d->container_ = std::move(container);
    d->fd_ = ioctl(d->container_->groupFd(group), VFIO_GROUP_GET_DEVICE_FD, bdf.c_str());
    if (d->fd_ < 0) {
        int error = errno;
        return failure(error,
                       "VFIO_GROUP_GET_DEVICE_FD " + bdf + ": " + std::strerror(error) +
                           (error == EBUSY ? " (another process has the device open)" : ""));
    }
    vfio_device_info info{};
    info.argsz = sizeof info;
    if (ioctl(d->fd_, VFIO_DEVICE_GET_INFO, &info) != 0) return failure(errno, "VFIO_DEVICE_GET_INFO failed");
    if ((info.flags & VFIO_DEVICE_FLAGS_PCI) == 0) return failure(ENODEV, bdf + " is not a PCI device");
    d->resettable_ = (info.flags & VFIO_DEVICE_FLAGS_RESET) != 0;
    vfio_region_info config{};
    config.argsz = sizeof config;
    config.index = VFIO_PCI_CONFIG_REGION_INDEX;
    if (ioctl(d->fd_, VFIO_DEVICE_GET_REGION_INFO, &config) != 0) return failure(errno, "no config space region");
    d->configOffset_ = config.offset;
    d->vendor_ = d->configRead16(0);
    d->device_ = d->configRead16(2);
    return d;
}

PciDevice::~PciDevice() {
    if (fd_ >= 0) {
        disableMsix();
        if (requestFd_ >= 0) setRequestTrigger(-1);
        std::uint16_t command = configRead16(kPciCommand);
        if (command != 0xffff) configWrite16(kPciCommand, command & ~kCommandBusMaster);
        ::close(fd_);
    }
    for (int fd : msixFds_) ::close(fd);  // left open by release()
    if (requestFd_ >= 0) ::close(requestFd_);
}

int PciDevice::setRequestTrigger(int eventFd) {
    // One eventfd for the single request "interrupt" (VFIO_PCI_REQ_IRQ_INDEX), or none to drop it.
    alignas(vfio_irq_set) std::uint8_t buffer[sizeof(vfio_irq_set) + sizeof(std::int32_t)] = {};
    auto* set = reinterpret_cast<vfio_irq_set*>(buffer);
    set->argsz = eventFd >= 0 ? sizeof buffer : sizeof(vfio_irq_set);
    set->flags = VFIO_IRQ_SET_ACTION_TRIGGER | (eventFd >= 0 ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
    set->index = VFIO_PCI_REQ_IRQ_INDEX;
    set->start = 0;
    set->count = eventFd >= 0 ? 1 : 0;
    if (eventFd >= 0) std::memcpy(set->data, &eventFd, sizeof(std::int32_t));
    return ioctl(fd_, VFIO_DEVICE_SET_IRQS, set) == 0 ? 0 : errno;
}

int PciDevice::enableRemovalRequest() {
    if (fd_ < 0) return ENODEV;
    if (requestFd_ >= 0) return 0;
    vfio_irq_info irq{};
    irq.argsz = sizeof irq;
    irq.index = VFIO_PCI_REQ_IRQ_INDEX;
    if (ioctl(fd_, VFIO_DEVICE_GET_IRQ_INFO, &irq) != 0 || irq.count == 0) return ENOTSUP;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return errno;
    if (int error = setRequestTrigger(fd); error != 0) {
        ::close(fd);
        return error;
    }
    requestFd_ = fd;
    return 0;
}

bool PciDevice::removalRequested() {
    std::uint64_t count = 0;
    return requestFd_ >= 0 && ::read(requestFd_, &count, sizeof count) == sizeof count && count != 0;
}

void PciDevice::release() {
    if (fd_ < 0) return;
    // Interrupts and the request channel off in vfio, without touching the device (no config
    // write: it may be gone). The eventfds stay open until the object goes.
    vfio_irq_set none{};
    none.argsz = sizeof none;
    none.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
    none.index = VFIO_PCI_MSIX_IRQ_INDEX;
    if (!msixFds_.empty()) ioctl(fd_, VFIO_DEVICE_SET_IRQS, &none);
    if (requestFd_ >= 0) setRequestTrigger(-1);
    ::close(fd_);
    fd_ = -1;
}

int PciDevice::readConfig(std::uint32_t offset, void* out, std::size_t size) const {
    ssize_t n = pread(fd_, out, size, static_cast<off_t>(configOffset_ + offset));
    return n == static_cast<ssize_t>(size) ? 0 : (n < 0 ? errno : EIO);
}

int PciDevice::writeConfig(std::uint32_t offset, const void* in, std::size_t size) {
    ssize_t n = pwrite(fd_, in, size, static_cast<off_t>(configOffset_ + offset));
    return n == static_cast<ssize_t>(size) ? 0 : (n < 0 ? errno : EIO);
}

std::uint8_t PciDevice::configRead8(std::uint32_t offset) const {
    std::uint8_t v = 0xff;
    return readConfig(offset, &v, 1) == 0 ? v : 0xff;
}

std::uint16_t PciDevice::configRead16(std::uint32_t offset) const {
    std::uint16_t v = 0xffff;
    return readConfig(offset, &v, 2) == 0 ? v : 0xffff;
}

std::uint32_t PciDevice::configRead32(std::uint32_t offset) const {
    std::uint32_t v = 0xffffffff;
    return readConfig(offset, &v, 4) == 0 ? v : 0xffffffff;
}

int PciDevice::enableBusMaster() {
    std::uint16_t command = configRead16(kPciCommand);
    if (command == 0xffff) return EIO;
    return configWrite16(kPciCommand, command | kCommandMemory | kCommandBusMaster);
}

std::vector<PciCapability> PciDevice::capabilities() const {
    std::vector<PciCapability> list;
    if ((configRead16(kPciStatus) & kStatusCapabilities) == 0) return list;
    std::uint8_t at = configRead8(kCapabilityPointer) & 0xfc;
    while (at >= 0x40 && at != 0xff && list.size() < 48) {  // 48: the most a 256-byte space holds
        list.push_back(PciCapability{configRead8(at), at});
        at = configRead8(at + 1u) & 0xfc;
    }
    return list;
}

PciCapability PciDevice::findCapability(std::uint8_t id) const {
    for (const PciCapability& c : capabilities())
        if (c.id == id) return c;
    return PciCapability{};
}

std::uint64_t PciDevice::barSize(unsigned index) const {
    if (index > VFIO_PCI_BAR5_REGION_INDEX) return 0;
    vfio_region_info region{};
    region.argsz = sizeof region;
    region.index = index;
    return ioctl(fd_, VFIO_DEVICE_GET_REGION_INFO, &region) == 0 ? region.size : 0;
}

Result<PciBar> PciDevice::mapBar(unsigned index) {
    using R = Result<PciBar>;
    if (index > VFIO_PCI_BAR5_REGION_INDEX) return R::failure(EINVAL);
    vfio_region_info region{};
    region.argsz = sizeof region;
    region.index = index;
    if (ioctl(fd_, VFIO_DEVICE_GET_REGION_INFO, &region) != 0 || region.size == 0) return R::failure(ENODEV);
    if ((region.flags & VFIO_REGION_INFO_FLAG_MMAP) == 0) return R::failure(ENOTSUP);
    void* base = mmap(nullptr, region.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, static_cast<off_t>(region.offset));
    if (base == MAP_FAILED) return R::failure(errno);
    return PciBar(base, region.size);
}

unsigned PciDevice::msixVectorCount() const {
    vfio_irq_info irq{};
    irq.argsz = sizeof irq;
    irq.index = VFIO_PCI_MSIX_IRQ_INDEX;
    return ioctl(fd_, VFIO_DEVICE_GET_IRQ_INFO, &irq) == 0 ? irq.count : 0;
}

int PciDevice::enableMsix(unsigned count) {
    if (count == 0 || count > msixVectorCount()) return EINVAL;
    disableMsix();
    for (unsigned i = 0; i < count; ++i) {
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) {
            int error = errno;
            disableMsix();
            return error;
        }
        msixFds_.push_back(fd);
    }
    // struct vfio_irq_set is followed by one int32 eventfd per vector.
    std::vector<std::uint8_t> buffer(sizeof(vfio_irq_set) + sizeof(std::int32_t) * count);
    auto* set = reinterpret_cast<vfio_irq_set*>(buffer.data());
    set->argsz = static_cast<std::uint32_t>(buffer.size());
    set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    set->index = VFIO_PCI_MSIX_IRQ_INDEX;
    set->start = 0;
    set->count = count;
    std::memcpy(set->data, msixFds_.data(), sizeof(std::int32_t) * count);
    if (ioctl(fd_, VFIO_DEVICE_SET_IRQS, set) != 0) {
        int error = errno;
        for (int fd : msixFds_) ::close(fd);
        msixFds_.clear();
        return error;
    }
    return 0;
}

int PciDevice::msixEventFd(unsigned vector) const { return vector < msixFds_.size() ? msixFds_[vector] : -1; }

int PciDevice::disableMsix() {
    if (msixFds_.empty()) return 0;
    vfio_irq_set set{};
    set.argsz = sizeof set;
    set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
    set.index = VFIO_PCI_MSIX_IRQ_INDEX;
    set.start = 0;
    set.count = 0;
    int result = ioctl(fd_, VFIO_DEVICE_SET_IRQS, &set) == 0 ? 0 : errno;
    for (int fd : msixFds_) ::close(fd);
    msixFds_.clear();
    return result;
}

int PciDevice::reset() {
    if (fd_ < 0) return ENODEV;
    if (!resettable_) return ENOTTY;
    return ioctl(fd_, VFIO_DEVICE_RESET) == 0 ? 0 : errno;
}

}  // namespace nexnet
