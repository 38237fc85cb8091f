#include "SystemCheck.h"

#include "netbuf/DmaRegion.h"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nexnet {

namespace {

bool writeFile(const std::string& path, const std::string& value) {
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
    close(fd);
    return ok;
}

bool exists(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0;
}

unsigned countEntries(const std::string& dir) {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return 0;
    unsigned n = 0;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    return n;
}

unsigned meminfo(const std::string& key) {
    std::ifstream in("/proc/meminfo");
    std::string name;
    unsigned long value = 0;
    std::string unit;
    while (in >> name >> value) {
        std::getline(in, unit);
        if (name == key + ":") return static_cast<unsigned>(value);
    }
    return 0;
}

bool isHugetlbfsMounted(const std::string& where) {
    std::ifstream in("/proc/mounts");
    std::string device, point, type;
    while (in >> device >> point >> type) {
        std::string rest;
        std::getline(in, rest);
        if (type == "hugetlbfs" && point == where) return true;
    }
    return false;
}

SystemCheck::Finding hugepages() {
    unsigned total = meminfo("HugePages_Total"), free = meminfo("HugePages_Free");
    SystemCheck::Finding f{"hugepages", free > 0,
                           std::to_string(total) + " reserved, " + std::to_string(free) + " free (2 MiB)", ""};
    if (!f.ok)
        f.advice =
            "pools fall back to 4 KiB pages (slower DMA mappings, more TLB misses): run `nexnetctl hugepages 512` as "
            "root";
    return f;
}

SystemCheck::Finding vfio() {
    bool container = exists("/dev/vfio/vfio");
    unsigned groups = countEntries("/sys/kernel/iommu_groups");
    SystemCheck::Finding f{"vfio", container && groups > 0, "", ""};
    f.detail = std::string(container ? "/dev/vfio/vfio present" : "no /dev/vfio/vfio") + ", " + std::to_string(groups) +
        " IOMMU groups";
    if (!container) f.advice = "load the driver: `modprobe vfio-pci` (needs a kernel with VFIO)";
    else if (groups == 0)
        f.advice =
            "no IOMMU is active: enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on (or amd_iommu=on)";
    return f;
}

SystemCheck::Finding tun() {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    SystemCheck::Finding f{"tun", fd >= 0,
                           fd >= 0 ? "/dev/net/tun opens" : std::string("/dev/net/tun: ") + std::strerror(errno), ""};
    if (fd >= 0) close(fd);
    else f.advice = "the tap driver needs it: `modprobe tun`, and root or CAP_NET_ADMIN";
    return f;
}

SystemCheck::Finding memlock() {
    rlimit limit{};
    getrlimit(RLIMIT_MEMLOCK, &limit);
    bool unlimited = limit.rlim_cur == RLIM_INFINITY;
    bool ok = unlimited || limit.rlim_cur >= (64ul << 20) || geteuid() == 0;
    SystemCheck::Finding f{"memlock", ok, unlimited ? "unlimited" : std::to_string(limit.rlim_cur >> 10) + " KiB", ""};
    if (!ok)
        f.advice = "pools cannot be locked in RAM (DMA needs it): raise it with `ulimit -l unlimited` or limits.conf";
    return f;
}

SystemCheck::Finding physicalAddresses() {
    auto region = DmaRegion::allocate(4096);
    bool ok = region && region->physicalAddress(0).ok();
    SystemCheck::Finding f{"physical addresses", ok,
                           ok ? "visible in /proc/self/pagemap" : "hidden (not CAP_SYS_ADMIN)", ""};
    if (!ok) f.advice = "only needed for DMA without an IOMMU: run as root";
    return f;
}

}  // namespace

std::vector<SystemCheck::Finding> SystemCheck::check() {
    return {hugepages(), vfio(), tun(), memlock(), physicalAddresses()};
}

int SystemCheck::reserveHugepages(unsigned count, std::string& message) {
    if (!writeFile("/proc/sys/vm/nr_hugepages", std::to_string(count))) {
        int error = errno;
        message = std::string("cannot write /proc/sys/vm/nr_hugepages: ") + std::strerror(error) + " (run as root)";
        return error;
    }
    unsigned granted = meminfo("HugePages_Total");
    message = "requested " + std::to_string(count) + " hugepages, the kernel granted " + std::to_string(granted);
    if (granted > 0 && !isHugetlbfsMounted("/dev/hugepages")) {
        mkdir("/dev/hugepages", 0755);
        if (mount("nodev", "/dev/hugepages", "hugetlbfs", 0, nullptr) == 0)
            message += "; mounted hugetlbfs at /dev/hugepages";
        else message += std::string("; mounting /dev/hugepages failed: ") + std::strerror(errno);
    }
    return granted >= count ? 0 : ENOMEM;
}

int SystemCheck::bindToVfio(const std::string& bdf, std::string& message) {
    std::string device = "/sys/bus/pci/devices/" + bdf;
    if (!exists(device)) {
        message = "no PCI device " + bdf + " (see `lspci -D`)";
        return ENODEV;
    }
    if (!exists("/sys/bus/pci/drivers/vfio-pci") && system("modprobe vfio-pci 2>/dev/null") != 0) {
        message = "cannot load vfio-pci: `modprobe vfio-pci` failed (kernel without VFIO?)";
        return ENOENT;
    }
    if (!exists(device + "/iommu_group")) {
        message = bdf + " has no IOMMU group: enable the IOMMU (intel_iommu=on) and reboot";
        return ENXIO;
    }
    char link[256] = {};
    ssize_t n = readlink((device + "/driver").c_str(), link, sizeof link - 1);
    std::string current = n > 0 ? std::string(link, static_cast<std::size_t>(n)) : "";
    current = current.substr(current.find_last_of('/') + 1);
    if (current == "vfio-pci") {
        message = bdf + " is already bound to vfio-pci";
        return 0;
    }
    if (!current.empty() && !writeFile(device + "/driver/unbind", bdf)) {
        message = "cannot unbind " + bdf + " from " + current + ": " + std::strerror(errno) + " (run as root)";
        return errno;
    }
    if (!writeFile(device + "/driver_override", "vfio-pci") || !writeFile("/sys/bus/pci/drivers/vfio-pci/bind", bdf)) {
        int error = errno;
        message = "cannot bind " + bdf + " to vfio-pci: " + std::strerror(error);
        return error;
    }
    char groupLink[256] = {};
    n = readlink((device + "/iommu_group").c_str(), groupLink, sizeof groupLink - 1);
    std::string groupName = n > 0 ? std::string(groupLink, static_cast<std::size_t>(n)) : "?";
    groupName = groupName.substr(groupName.find_last_of('/') + 1);
    message = bdf + " bound to vfio-pci" + (current.empty() ? "" : " (was " + current + ")") + ", group /dev/vfio/" +
        groupName + "; open it as vfio:" + bdf;
    return 0;
}

}  // namespace nexnet
