#include "framework/IOEthernet.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace nexnet {

IOEthernet::~IOEthernet() = default;

int IOEthernet::resetAndEnable(bool enable) {
    setRunning(enable);
    return 0;
}

int IOEthernet::setHardwareAddress(const EthernetAddress& address) {
    if (address.isMulticast() || address.isZero()) return EINVAL;
    address_ = address;
    return 0;
}

int IOEthernet::setPromiscuousMode(bool enabled) {
    promiscuous_ = enabled;
    return 0;
}

int IOEthernet::setMulticastMode(bool enabled) {
    allMulticast_ = enabled;
    return 0;
}

int IOEthernet::addMulticastAddress(const EthernetAddress& address) {
    if (!address.isMulticast()) return EINVAL;
    if (std::find(multicast_.begin(), multicast_.end(), address) != multicast_.end()) return 0;
    if (multicast_.size() >= kMaxMulticastAddresses) return ENOSPC;
    multicast_.push_back(address);
    return 0;
}

int IOEthernet::removeMulticastAddress(const EthernetAddress& address) {
    auto it = std::find(multicast_.begin(), multicast_.end(), address);
    if (it == multicast_.end()) return ENOENT;
    multicast_.erase(it);
    return 0;
}

int IOEthernet::attachToNetworkWithAddress(const EthernetAddress& address) {
    if (address.isMulticast()) return EINVAL;
    permanentAddress_ = address;
    address_ = address;
    return 0;
}

int IOEthernet::outputPacket(Netbuf* packet, const void* address) {
    if (packet == nullptr) return EINVAL;
    int error = 0;
    if (!isRunning()) error = ENETDOWN;
    else if (packet->size() < kHeaderSize) error = EINVAL;
    else if (packet->size() > kHeaderSize + mtu() + 4) error = EMSGSIZE;  // + 4: an 802.1Q tag
    if (error == 0 && packet->size() < kMinFrameSize) {
        std::uint32_t size = packet->size();
        if (packet->growBottom(kMinFrameSize - size) != 0) error = EMSGSIZE;
        else std::memset(packet->data() + size, 0, kMinFrameSize - size);
    }
    if (error != 0) {
        packet->free();
        report(error == ENETDOWN ? QueueEvent::transmitDrop : QueueEvent::transmitError, 0);
        return error;
    }
    if (address != nullptr) std::memcpy(packet->data(), address, 6);
    std::memcpy(packet->data() + 6, address_.bytes.data(), 6);
    if (send(0, &packet, 1) == 1) return 0;
    packet->free();  // the ring is full: NeXT's outputPacket drops rather than waits
    report(QueueEvent::transmitDrop, 0);
    return ENOBUFS;
}

unsigned IOEthernet::interfaceFlags() const {
    unsigned flags = IFF_BROADCAST | IFF_MULTICAST;
    if (isRunning()) flags |= IFF_UP | IFF_RUNNING;
    if (linkStatus() == LinkStatus::down) flags &= ~IFF_RUNNING;
    if (promiscuous_) flags |= IFF_PROMISC;
    if (allMulticast_) flags |= IFF_ALLMULTI;
    return flags;
}

int IOEthernet::setFlags(unsigned flags) {
    int error = 0;
    bool up = (flags & IFF_UP) != 0;
    if (up != isRunning()) error = resetAndEnable(up);
    bool promiscuous = (flags & IFF_PROMISC) != 0;
    bool allMulticast = (flags & IFF_ALLMULTI) != 0;
    if (error == 0 && promiscuous != promiscuous_) error = setPromiscuousMode(promiscuous);
    if (error == 0 && allMulticast != allMulticast_) error = setMulticastMode(allMulticast);
    return error;
}

namespace {

// Commands that only read: they need not stop the data path.
bool isQuery(std::string_view command, const void* data) {
    if (command == IFCONTROL_GETADDR) return true;
    if (command != IFCONTROL_UNIXIOCTL || data == nullptr) return false;
    unsigned long request = static_cast<const if_ioctl_t*>(data)->ioctl_command;
    return request == SIOCGIFFLAGS || request == SIOCGIFHWADDR || request == SIOCGIFMTU;
}

}  // namespace

int IOEthernet::performCommand(std::string_view command, void* data) {
    if (isQuery(command, data)) return performStandardCommand(command, data);
    QueueGate::Control control(queueGate());  // no burst runs until the command is done
    return performStandardCommand(command, data);
}

int IOEthernet::performStandardCommand(std::string_view command, void* data) {
    auto address = [data] { return EthernetAddress::fromBytes(data); };
    bool needsData =
        command != IFCONTROL_AUTOADDR && command != IFCONTROL_RCVPROMISCUOUS && command != IFCONTROL_RCVPROMISCOFF;
    if (needsData && data == nullptr) return EINVAL;
    if (command == IFCONTROL_SETFLAGS) {
        auto* ifru = static_cast<decltype(ifreq::ifr_ifru)*>(data);
        return setFlags(static_cast<unsigned short>(ifru->ifru_flags));
    }
    if (command == IFCONTROL_SETADDR) return setHardwareAddress(address());
    if (command == IFCONTROL_GETADDR) {
        std::memcpy(data, address_.bytes.data(), 6);
        return 0;
    }
    if (command == IFCONTROL_AUTOADDR) {
        int error = setHardwareAddress(permanentAddress_);
        if (error == 0 && data != nullptr) std::memcpy(data, address_.bytes.data(), 6);
        return error;
    }
    if (command == IFCONTROL_RCVPROMISCUOUS) return setPromiscuousMode(true);
    if (command == IFCONTROL_RCVPROMISCOFF) return setPromiscuousMode(false);
    if (command == IFCONTROL_ADDMULTICAST) return addMulticastAddress(address());
    if (command == IFCONTROL_RMVMULTICAST) return removeMulticastAddress(address());
    if (command == IFCONTROL_UNIXIOCTL) {
        auto* request = static_cast<if_ioctl_t*>(data);
        return performIoctl(request->ioctl_command, request->ioctl_data);
    }
    return EINVAL;
}

int IOEthernet::performIoctl(unsigned long request, void* data) {
    if (data == nullptr) return EINVAL;
    auto* ifr = static_cast<ifreq*>(data);
    switch (request) {
    case SIOCGIFFLAGS:
        ifr->ifr_flags = static_cast<short>(interfaceFlags());
        return 0;
    case SIOCSIFFLAGS:
        return setFlags(static_cast<unsigned short>(ifr->ifr_flags));
    case SIOCGIFHWADDR:
        ifr->ifr_hwaddr.sa_family = ARPHRD_ETHER;
        std::memcpy(ifr->ifr_hwaddr.sa_data, address_.bytes.data(), 6);
        return 0;
    case SIOCSIFHWADDR:
        if (ifr->ifr_hwaddr.sa_family != ARPHRD_ETHER) return EINVAL;
        return setHardwareAddress(EthernetAddress::fromBytes(ifr->ifr_hwaddr.sa_data));
    case SIOCGIFMTU:
        ifr->ifr_mtu = static_cast<int>(mtu());
        return 0;
    case SIOCSIFMTU:
        return ifr->ifr_mtu < 0 ? EINVAL : setMtu(static_cast<unsigned>(ifr->ifr_mtu));
    case SIOCADDMULTI:
    case SIOCDELMULTI: {
        // As Linux (net/core/dev_ioctl.c): the address comes with sa_family AF_UNSPEC.
        if (ifr->ifr_hwaddr.sa_family != AF_UNSPEC) return EINVAL;
        EthernetAddress group = EthernetAddress::fromBytes(ifr->ifr_hwaddr.sa_data);
        return request == SIOCADDMULTI ? addMulticastAddress(group) : removeMulticastAddress(group);
    }
    default:
        return EOPNOTSUPP;
    }
}

bool IOEthernet::isUnwantedMulticastPacket(const std::uint8_t* frame) const {
    if ((frame[0] & 1) == 0 || promiscuous_ || allMulticast_) return false;
    EthernetAddress destination = EthernetAddress::fromBytes(frame);
    if (destination.isBroadcast()) return false;
    return std::find(multicast_.begin(), multicast_.end(), destination) == multicast_.end();
}

}  // namespace nexnet
