#include "drivers/tap/TapKernelEnd.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nexnet {

namespace {

/// Closes a file descriptor at the end of a scope.
struct ScopedFd {
    int fd;
    ~ScopedFd() {
        if (fd >= 0) close(fd);
    }
};

bool sameFile(int a, int b) {
    struct stat sa {
    }, sb{};
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

int TapKernelEnd::socketInDeviceNamespace() const {
    // TUNGETDEVNETNS (Linux 5.2) hands back the namespace the interface lives in now; it may not
    // be the one the tap was opened in. A socket belongs for life to the namespace of the thread
    // that made it, so make it there and come straight back.
    ScopedFd device{ioctl(tapFd(), TUNGETDEVNETNS)};
    ScopedFd own{open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)};
    if (device.fd < 0 || own.fd < 0 || sameFile(device.fd, own.fd))
        return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (setns(device.fd, CLONE_NEWNET) != 0) return -1;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int saved = errno;
    setns(own.fd, CLONE_NEWNET);
    errno = saved;
    return fd;
}

int TapKernelEnd::name(std::string& out) const {
    ifreq ifr{};
    if (ioctl(tapFd(), TUNGETIFF, &ifr) != 0) return errno;
    out.assign(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
    return 0;
}

int TapKernelEnd::control(unsigned long request, ifreq& ifr) const {
    ifreq current{};
    if (ioctl(tapFd(), TUNGETIFF, &current) != 0) return errno;  // EBADFD: the interface is gone
    std::memcpy(ifr.ifr_name, current.ifr_name, IFNAMSIZ);
    ScopedFd socket{socketInDeviceNamespace()};
    if (socket.fd < 0) return errno;
    return ioctl(socket.fd, request, &ifr) == 0 ? 0 : errno;
}

int TapKernelEnd::flags(unsigned& out) const {
    ifreq ifr{};
    if (int error = control(SIOCGIFFLAGS, ifr)) return error;
    out = static_cast<unsigned short>(ifr.ifr_flags);
    return 0;
}

int TapKernelEnd::setUp(bool up) const {
    ifreq ifr{};
    if (int error = control(SIOCGIFFLAGS, ifr)) return error;
    bool isUp = (ifr.ifr_flags & IFF_UP) != 0;
    if (isUp == up) return 0;
    ifr.ifr_flags = static_cast<short>(up ? (ifr.ifr_flags | IFF_UP) : (ifr.ifr_flags & ~IFF_UP));
    return control(SIOCSIFFLAGS, ifr);
}

int TapKernelEnd::mtu(unsigned& out) const {
    ifreq ifr{};
    if (int error = control(SIOCGIFMTU, ifr)) return error;
    out = static_cast<unsigned>(ifr.ifr_mtu);
    return 0;
}

int TapKernelEnd::setMtu(unsigned mtu) const {
    ifreq ifr{};
    ifr.ifr_mtu = static_cast<int>(mtu);
    return control(SIOCSIFMTU, ifr);
}

int TapKernelEnd::hardwareAddress(EthernetAddress& out) const {
    ifreq ifr{};
    if (int error = control(SIOCGIFHWADDR, ifr)) return error;
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) return EPROTONOSUPPORT;
    out = EthernetAddress::fromBytes(ifr.ifr_hwaddr.sa_data);
    return 0;
}

int TapKernelEnd::setCarrier(bool on) const {
    int value = on ? 1 : 0;
    return ioctl(tapFd(), TUNSETCARRIER, &value) == 0 ? 0 : errno;
}

}  // namespace nexnet
