#pragma once
/// @file XdpInterface.h
/// @brief XdpInterface: the Linux network interface an xdp: driver shares with the kernel.

#include "framework/EthernetAddress.h"
#include "netbuf/Result.h"

#include <cstdint>
#include <memory>
#include <string>

namespace nexnet {

/// The Linux interface under an XdpDriver, as the driver reads and programs it: the counterpart of
/// a NIC's registers. Its index, hardware address, MTU, flags, receive queues and kernel driver come
/// from ioctls (SIOCGIF*, SIOCETHTOOL); what the kernel says of its XDP support comes from the
/// netdev generic-netlink family (NETDEV_CMD_DEV_GET, Linux 6.3), or is unknown on older kernels;
/// address filters are packet-socket memberships (PACKET_ADD_MEMBERSHIP), which the kernel drops
/// when the process ends, however it ends.
///
/// Everything is read in the network namespace of the thread that called open().
/// Threading: control calls from one thread at a time; nothing here is on the data path.
class XdpInterface {
public:
    /// NETDEV_XDP_ACT_* bits of the netdev family's xdp-features (include/uapi/linux/netdev.h).
    enum XdpFeature : std::uint64_t {
        kXdpBasic = 1,               ///< XDP_PASS, XDP_DROP, XDP_TX in native mode.
        kXdpRedirect = 2,            ///< XDP_REDIRECT in native mode: what AF_XDP sockets receive through.
        kXdpNdoXmit = 4,             ///< Receives frames other devices redirect to it.
        kXdpZeroCopy = 8,            ///< AF_XDP zero-copy.
        kXdpHardwareOffload = 16,    ///< Programs run on the NIC.
        kXdpReceiveFragments = 32,   ///< Multi-buffer frames on receive.
        kXdpTransmitFragments = 64,  ///< Multi-buffer frames on transmit.
    };

    /// Finds interface @p name and, when @p askForXdpFeatures, what the kernel says of its XDP
    /// support (false: as on a kernel before 6.3, the features stay unknown). Errors: EINVAL (empty
    /// or longer than IFNAMSIZ - 1), ENODEV (none of that name in this network namespace), or the
    /// errno of socket(); @p message says which.
    static Result<std::unique_ptr<XdpInterface>> open(const std::string& name, std::string& message,
                                                      bool askForXdpFeatures = true);

    XdpInterface(const XdpInterface&) = delete;
    XdpInterface& operator=(const XdpInterface&) = delete;
    /// Closes the sockets; memberships end with them.
    ~XdpInterface();

    /// The interface's name.
    const std::string& name() const { return name_; }
    /// The interface's index.
    unsigned index() const { return index_; }
    /// The kernel driver bound to it ("veth", "ixgbe"), empty when ethtool does not say.
    const std::string& driverName() const { return driver_; }
    /// The hardware address read at open().
    const EthernetAddress& address() const { return address_; }
    /// Receive queues (ETHTOOL_GCHANNELS rx + combined), 0 when the driver does not say.
    unsigned receiveQueues() const { return receiveQueues_; }

    /// True when the kernel reported xdp-features (Linux 6.3 and later).
    bool xdpFeaturesKnown() const { return featuresKnown_; }
    /// The XdpFeature bits the kernel reported; 0 when unknown.
    std::uint64_t xdpFeatures() const { return features_; }
    /// The reported features as words ("basic redirect rx-sg"), or "unknown".
    std::string xdpFeatureNames() const;

    /// Reads the MTU into @p mtu. @return 0 or an errno.
    int mtu(unsigned& mtu) const;
    /// Sets the MTU (SIOCSIFMTU; needs CAP_NET_ADMIN). @return 0 or an errno.
    int setMtu(unsigned mtu) const;
    /// Reads the IFF_* flags into @p flags. @return 0 or an errno (ENODEV once it is gone).
    int flags(unsigned& flags) const;
    /// Turns a membership of the packet socket on or off: PACKET_MR_PROMISC, PACKET_MR_ALLMULTI,
    /// or PACKET_MR_MULTICAST with @p group. The kernel counts them, so the interface's own state
    /// (set by `ip link`) is kept and restored when the last membership goes.
    /// @return 0 or an errno (EPERM without CAP_NET_RAW).
    int setMembership(int type, bool on, const EthernetAddress* group = nullptr);

private:
    XdpInterface() = default;
    int request(unsigned long command, void* ifr) const;
    void readXdpFeatures();

    std::string name_;
    std::string driver_;
    EthernetAddress address_;
    unsigned index_ = 0;
    unsigned receiveQueues_ = 0;
    bool featuresKnown_ = false;
    std::uint64_t features_ = 0;
    int controlFd_ = -1;       // AF_INET datagram socket: the ioctls
    int membershipFd_ = -1;    // AF_PACKET, protocol 0 (hears nothing): the memberships
    int membershipError_ = 0;  // why there is no membershipFd_
};

}  // namespace nexnet
