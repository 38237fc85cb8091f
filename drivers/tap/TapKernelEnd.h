#pragma once
/// @file TapKernelEnd.h
/// @brief TapKernelEnd: the Linux end of a tap device (its netdev), configured through SIOC*
/// ioctls in whichever network namespace the device is in now.

#include "framework/EthernetAddress.h"

#include <atomic>
#include <net/if.h>
#include <string>

namespace nexnet {

/// The kernel's end of a tap: the Linux network interface a TapDriver's file descriptors are
/// attached to. TapDriver is one end of a virtual wire and this interface is the other; what the
/// driver transmits, the interface receives, and what the kernel sends on the interface, the
/// driver receives.
///
/// The interface may be renamed or moved to another network namespace while the driver holds it
/// (`ip link set tap0 netns ns1` is how a tap is given to a container or a test). So every call
/// first asks the tap file descriptor for the interface's current name (TUNGETIFF) and namespace
/// (TUNGETDEVNETNS), and runs the ioctl on a datagram socket made in that namespace. That is a
/// few syscalls per call: control path only, never per packet.
///
/// Errors: EBADFD when the interface was deleted (the tap file descriptor is detached), ENODEV
/// when it cannot be found, or the errno of the ioctl.
///
/// Threading: a call briefly switches the calling thread into the device's namespace (setns) when
/// it is not the caller's; other threads are not affected.
class TapKernelEnd {
public:
    /// Controls the interface that @p tapFd (a /dev/net/tun file descriptor after TUNSETIFF) is
    /// attached to. Does not own @p tapFd.
    explicit TapKernelEnd(int tapFd = -1) : tapFd_(tapFd) {}

    /// Uses @p tapFd from now on (another queue's descriptor when the first one died). Any
    /// thread: a call under way on another thread finishes with the descriptor it read.
    void setTapFd(int tapFd) { tapFd_.store(tapFd, std::memory_order_relaxed); }

    /// The interface's current name. @return 0 or an errno (EBADFD: deleted).
    int name(std::string& out) const;
    /// Runs ioctl @p request (SIOCGIFFLAGS, SIOCSIFMTU, ...) on the interface: ifr_name is filled
    /// in with its current name, the rest of @p ifr is the request's. @return 0 or an errno.
    int control(unsigned long request, ifreq& ifr) const;

    /// The interface's flags (IFF_UP, IFF_RUNNING, ...). @return 0 or an errno.
    int flags(unsigned& out) const;
    /// Sets or clears IFF_UP on the interface, as `ip link set NAME up|down`. @return 0 or an errno.
    int setUp(bool up) const;
    /// The interface's MTU. @return 0 or an errno.
    int mtu(unsigned& out) const;
    /// Sets the interface's MTU, as `ip link set NAME mtu N`. @return 0 or an errno.
    int setMtu(unsigned mtu) const;
    /// The interface's own Ethernet address (not the driver's: the two ends differ).
    /// @return 0 or an errno.
    int hardwareAddress(EthernetAddress& out) const;
    /// Turns the interface's carrier on or off (TUNSETCARRIER): the cable between the driver and
    /// the kernel, as `ip link` shows it (NO-CARRIER / LOWER_UP). @return 0 or an errno.
    int setCarrier(bool on) const;

private:
    int socketInDeviceNamespace() const;
    int tapFd() const { return tapFd_.load(std::memory_order_relaxed); }

    std::atomic<int> tapFd_;
};

}  // namespace nexnet
