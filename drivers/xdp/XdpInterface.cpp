#include "drivers/xdp/XdpInterface.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

namespace nexnet {

namespace {

// The netdev generic-netlink family (include/uapi/linux/netdev.h, Linux 6.3), spelt out because
// Debian 12's linux-libc-dev (6.1) has no <linux/netdev.h>.
constexpr char kNetdevFamily[] = "netdev";
constexpr std::uint8_t kNetdevGetDevice = 1;     // NETDEV_CMD_DEV_GET
constexpr std::uint16_t kNetdevIfindex = 1;      // NETDEV_A_DEV_IFINDEX (u32)
constexpr std::uint16_t kNetdevXdpFeatures = 3;  // NETDEV_A_DEV_XDP_FEATURES (u64)

// One generic-netlink request with one attribute, and the attribute @p wanted of the answer
// copied into @p out (at most @p outLength bytes). @return 0, ENOENT when the answer lacks it, or
// the kernel's errno (ENOENT for an unknown family).
int genericNetlink(int fd, std::uint16_t family, std::uint8_t command, std::uint16_t attribute, const void* value,
                   std::uint16_t length, std::uint16_t wanted, void* out, std::size_t outLength) {
    struct {
        nlmsghdr header;
        genlmsghdr generic;
        char attributes[64];
    } request{};
    auto* attr = reinterpret_cast<nlattr*>(request.attributes);
    attr->nla_type = attribute;
    attr->nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + length);
    std::memcpy(request.attributes + NLA_HDRLEN, value, length);
    request.header.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN + NLA_ALIGN(attr->nla_len));
    request.header.nlmsg_type = family;
    request.header.nlmsg_flags = NLM_F_REQUEST;
    request.generic.cmd = command;
    request.generic.version = 1;
    if (send(fd, &request, request.header.nlmsg_len, 0) < 0) return errno;
    alignas(nlmsghdr) char reply[4096];
    ssize_t got = recv(fd, reply, sizeof reply, 0);
    if (got < 0) return errno;
    auto* answer = reinterpret_cast<nlmsghdr*>(reply);
    if (!NLMSG_OK(answer, static_cast<unsigned>(got))) return EPROTO;
    if (answer->nlmsg_type == NLMSG_ERROR) {
        auto* error = static_cast<nlmsgerr*>(NLMSG_DATA(answer));
        return error->error != 0 ? -error->error : ENOENT;
    }
    char* at = static_cast<char*>(NLMSG_DATA(answer)) + GENL_HDRLEN;
    char* end = reinterpret_cast<char*>(answer) + answer->nlmsg_len;
    while (at + NLA_HDRLEN <= end) {
        auto* a = reinterpret_cast<nlattr*>(at);
        if (a->nla_len < NLA_HDRLEN || at + a->nla_len > end) return EPROTO;
        if ((a->nla_type & NLA_TYPE_MASK) == wanted) {
            std::memcpy(out, at + NLA_HDRLEN, std::min<std::size_t>(outLength, a->nla_len - NLA_HDRLEN));
            return 0;
        }
        at += NLA_ALIGN(a->nla_len);
    }
    return ENOENT;
}

}  // namespace

Result<std::unique_ptr<XdpInterface>> XdpInterface::open(const std::string& name, std::string& message,
                                                         bool askForXdpFeatures) {
    using R = Result<std::unique_ptr<XdpInterface>>;
    if (name.empty() || name.size() >= IFNAMSIZ) {
        message = "'" + name + "' is not an interface name (1 to " + std::to_string(IFNAMSIZ - 1) + " characters)";
        return R::failure(EINVAL);
    }
    std::unique_ptr<XdpInterface> owner(new XdpInterface());
    XdpInterface& interface = *owner;
    interface.name_ = name;
    interface.controlFd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (interface.controlFd_ < 0) {
        message = std::string("cannot make a socket for interface ioctls: ") + std::strerror(errno);
        return R::failure(errno);
    }
    ifreq ifr{};
    if (interface.request(SIOCGIFINDEX, &ifr) != 0) {
        message = "no interface " + name + " in this network namespace";
        return R::failure(ENODEV);
    }
    interface.index_ = static_cast<unsigned>(ifr.ifr_ifindex);
    if (int error = interface.request(SIOCGIFHWADDR, &ifr); error != 0 || ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        message = name + " is not an Ethernet interface";
        return R::failure(error != 0 ? error : EPROTONOSUPPORT);
    }
    interface.address_ = EthernetAddress::fromBytes(ifr.ifr_hwaddr.sa_data);

    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    ifr.ifr_data = reinterpret_cast<char*>(&info);
    if (interface.request(SIOCETHTOOL, &ifr) == 0) interface.driver_ = info.driver;
    ethtool_channels channels{};
    channels.cmd = ETHTOOL_GCHANNELS;
    ifr.ifr_data = reinterpret_cast<char*>(&channels);
    if (interface.request(SIOCETHTOOL, &ifr) == 0)
        interface.receiveQueues_ = channels.rx_count + channels.combined_count;
    if (askForXdpFeatures) interface.readXdpFeatures();
    // Made now, in the interface's namespace: memberships name the interface by index. Without
    // CAP_NET_RAW there is none, and setMembership says so.
    interface.membershipFd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    interface.membershipError_ = interface.membershipFd_ < 0 ? errno : 0;
    return R(std::move(owner));
}

XdpInterface::~XdpInterface() {
    if (controlFd_ >= 0) close(controlFd_);
    if (membershipFd_ >= 0) close(membershipFd_);
}

int XdpInterface::request(unsigned long command, void* argument) const {
    auto* ifr = static_cast<ifreq*>(argument);
    std::memcpy(ifr->ifr_name, name_.c_str(), name_.size() + 1);
    return ioctl(controlFd_, command, ifr) == 0 ? 0 : errno;
}

// NETDEV_CMD_DEV_GET for our index. A kernel without the netdev family (before 6.3) answers ENOENT
// to the family lookup: the features stay unknown, and the driver learns by trying.
void XdpInterface::readXdpFeatures() {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (fd < 0) return;
    timeval timeout{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::uint16_t family = 0;
    std::uint32_t index = index_;
    std::uint64_t features = 0;
    if (genericNetlink(fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, kNetdevFamily, sizeof kNetdevFamily,
                       CTRL_ATTR_FAMILY_ID, &family, sizeof family) == 0 &&
        genericNetlink(fd, family, kNetdevGetDevice, kNetdevIfindex, &index, sizeof index, kNetdevXdpFeatures,
                       &features, sizeof features) == 0) {
        featuresKnown_ = true;
        features_ = features;
    }
    close(fd);
}

std::string XdpInterface::xdpFeatureNames() const {
    if (!featuresKnown_) return "unknown";
    static constexpr std::pair<std::uint64_t, const char*> kNames[] = {{kXdpBasic, "basic"},
                                                                       {kXdpRedirect, "redirect"},
                                                                       {kXdpNdoXmit, "ndo-xmit"},
                                                                       {kXdpZeroCopy, "xsk-zerocopy"},
                                                                       {kXdpHardwareOffload, "hw-offload"},
                                                                       {kXdpReceiveFragments, "rx-sg"},
                                                                       {kXdpTransmitFragments, "ndo-xmit-sg"}};
    std::string names;
    for (const auto& [bit, text] : kNames) {
        if ((features_ & bit) == 0) continue;
        names += names.empty() ? "" : " ";
        names += text;
    }
    return names.empty() ? "none" : names;
}

int XdpInterface::mtu(unsigned& mtu) const {
    ifreq ifr{};
    if (int error = request(SIOCGIFMTU, &ifr)) return error;
    mtu = static_cast<unsigned>(ifr.ifr_mtu);
    return 0;
}

int XdpInterface::setMtu(unsigned mtu) const {
    ifreq ifr{};
    ifr.ifr_mtu = static_cast<int>(mtu);
    return request(SIOCSIFMTU, &ifr);
}

int XdpInterface::flags(unsigned& flags) const {
    ifreq ifr{};
    if (int error = request(SIOCGIFFLAGS, &ifr)) return error;
    flags = static_cast<unsigned short>(ifr.ifr_flags);
    return 0;
}

int XdpInterface::setMembership(int type, bool on, const EthernetAddress* group) {
    if (membershipFd_ < 0) return membershipError_;
    packet_mreq request{};
    request.mr_ifindex = static_cast<int>(index_);
    request.mr_type = static_cast<unsigned short>(type);
    if (group != nullptr) {
        request.mr_alen = 6;
        std::memcpy(request.mr_address, group->bytes.data(), 6);
    }
    int option = on ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP;
    return setsockopt(membershipFd_, SOL_PACKET, option, &request, sizeof request) == 0 ? 0 : errno;
}

}  // namespace nexnet
