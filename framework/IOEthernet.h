#pragma once
/// @file IOEthernet.h
/// @brief IOEthernet: the base class of Ethernet drivers (NeXT's IOEthernet).

#include "framework/EthernetAddress.h"
#include "framework/IONetwork.h"

#include <cstdint>
#include <vector>

namespace nexnet {

/// The base class of every Ethernet driver.
///
/// IOEthernet implements NeXT's protocol for Ethernet: outputPacket inserts the hardware
/// addresses and pads to the 60-byte minimum before sending; performCommand handles the standard
/// commands (flags, addresses, promiscuous and multicast modes, UNIX ioctls) by calling the
/// methods below. A driver overrides what its hardware needs and nothing else:
///
/// | override                         | needed                                                 |
/// |----------------------------------|--------------------------------------------------------|
/// | receiveBurst, transmitBurst      | always: the data path (IONetwork.h)                    |
/// | interruptEventFd                 | for interrupt mode: a descriptor readable when frames wait |
/// | resetAndEnable                   | when the hardware has to be started and stopped        |
/// | setHardwareAddress               | when the hardware has a unicast filter to program      |
/// | setPromiscuousMode, setMulticastMode, add/removeMulticastAddress | when it filters frames |
/// | setMtu, maxMtu                   | when it limits frame size                              |
/// | queueCount, setInterruptsEnabled, interruptOccurred | several queues, maskable interrupts |
///
/// and calls attachToNetworkWithAddress once it knows its permanent address. The smallest
/// complete driver (docs/writing-a-driver.md) overrides three methods; SampleEthernet
/// (samples/ethernet) is the full tutorial.
///
/// Threading: the filter and address methods run on the control thread (through
/// performCommand), while no burst runs on any queue (the queue gate is closed).
class IOEthernet : public IONetwork {
public:
    /// Bytes of an Ethernet header (destination, source, type).
    static constexpr unsigned kHeaderSize = 14;
    /// Shortest frame on the wire without the frame check sequence.
    static constexpr unsigned kMinFrameSize = 60;
    /// Most multicast addresses the software filter keeps.
    static constexpr unsigned kMaxMulticastAddresses = 64;

    ~IOEthernet() override;

    // ---- what a concrete driver overrides ----------------------------------------------------

    /// Resets the hardware and, when @p enable, starts it; otherwise leaves it stopped, with the
    /// netbufs it held for receiving back in their pool. Called on the control thread by
    /// performCommand when IFF_UP changes. May block while the hardware resets: an override says
    /// for how long at most. An override must call setRunning(enable) on success (or the base).
    /// @return 0 or an errno (the device stays stopped). Base: setRunning(enable), returns 0.
    virtual int resetAndEnable(bool enable);

    /// Programs a new unicast address into the hardware. Control thread; must not block.
    /// An override calls the base on success. @return 0, or EINVAL for a multicast or zero
    /// address. Base: records it.
    virtual int setHardwareAddress(const EthernetAddress& address);

    /// Receive every unicast frame (@p enabled) or only those for this address. Control thread;
    /// must not block. An override programs the hardware, then calls the base.
    /// @return 0 or an errno (mode unchanged). Base: records the mode (0).
    virtual int setPromiscuousMode(bool enabled);
    /// Receive every multicast frame (@p enabled) or only the joined groups. Control thread; must
    /// not block. An override programs the hardware, then calls the base.
    /// @return 0 or an errno (mode unchanged). Base: records the mode (0).
    virtual int setMulticastMode(bool enabled);
    /// Joins a multicast group. Control thread; must not block. An override calls the base first
    /// (it validates and keeps the list), then programs the hardware.
    /// @return 0, EINVAL for a unicast address, ENOSPC when the list is full
    /// (kMaxMulticastAddresses). Base: adds it to multicastAddresses() (adding twice is 0).
    virtual int addMulticastAddress(const EthernetAddress& address);
    /// Leaves a multicast group. Control thread; must not block. An override calls the base first.
    /// @return 0, or ENOENT when not joined. Base: removes it.
    virtual int removeMulticastAddress(const EthernetAddress& address);

    // ---- what IOEthernet provides ------------------------------------------------------------

    /// Registers the driver's permanent hardware address (NeXT's attachToNetworkWithAddress:);
    /// the driver calls it once while initialising. @return 0, or EINVAL for a multicast address.
    int attachToNetworkWithAddress(const EthernetAddress& address);

    /// NeXT's single-packet output: checks isRunning() (ENETDOWN), writes the destination from
    /// @p address (6 bytes; nullptr keeps the frame's) and the source from hardwareAddress(),
    /// pads with zeros to 60 bytes, and sends it on transmit queue 0 (IONetwork::send, which
    /// counts it). The frame in @p packet starts with the 14-byte header whose EtherType (bytes
    /// 12-13) the caller has written; the addresses before it are overwritten. The packet is
    /// always consumed: sent, or freed and counted as a transmit error (bad frame) or drop (down,
    /// ring full). @return 0, ENETDOWN, EINVAL for nullptr or a frame shorter than a header,
    /// EMSGSIZE for a frame longer than the MTU allows or too short to pad (no tailroom), ENOBUFS
    /// when the transmit ring is full.
    int outputPacket(Netbuf* packet, const void* address) override;

    /// The standard commands: IFCONTROL_SETFLAGS (union ifr_ifru), SETADDR / GETADDR (6 bytes),
    /// AUTOADDR (back to the permanent address; 6 bytes written when data is not nullptr),
    /// RCVPROMISCUOUS / RCVPROMISCOFF, ADDMULTICAST / RMVMULTICAST (6 bytes), and UNIXIOCTL
    /// (if_ioctl_t with a struct ifreq) for SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFHWADDR,
    /// SIOCSIFHWADDR (sa_family ARPHRD_ETHER), SIOCGIFMTU, SIOCSIFMTU, SIOCADDMULTI and
    /// SIOCDELMULTI (sa_family AF_UNSPEC, as Linux). Other ioctls give EOPNOTSUPP; unknown
    /// commands, nullptr data where data is needed, a wrong sa_family, an MTU out of range and
    /// a unicast address to join give EINVAL, and change nothing.
    /// Every command but the queries (GETADDR, SIOCGIFFLAGS, SIOCGIFHWADDR, SIOCGIFMTU) runs with
    /// the driver's queueGate() closed: no burst runs meanwhile, on any queue's thread.
    /// A driver with its own commands handles them and calls this for the rest; an own command
    /// that changes what the data path reads holds a QueueGate::Control itself.
    int performCommand(std::string_view command, void* data) override;

    /// The current unicast address.
    const EthernetAddress& hardwareAddress() const { return address_; }
    /// The address given to attachToNetworkWithAddress.
    const EthernetAddress& permanentAddress() const { return permanentAddress_; }
    /// True in promiscuous mode.
    bool isPromiscuous() const { return promiscuous_; }
    /// True when receiving all multicast.
    bool isAllMulticast() const { return allMulticast_; }
    /// Joined multicast groups.
    const std::vector<EthernetAddress>& multicastAddresses() const { return multicast_; }
    /// Interface flags as the kernel reports them (IFF_UP, IFF_RUNNING, IFF_BROADCAST,
    /// IFF_MULTICAST, IFF_PROMISC, IFF_ALLMULTI).
    unsigned interfaceFlags() const;

    /// True when @p frame is for a multicast group this interface has not joined, and neither
    /// promiscuous nor all-multicast mode is on: what a driver without a hardware filter drops.
    bool isUnwantedMulticastPacket(const std::uint8_t* frame) const;

protected:
    IOEthernet() = default;

private:
    int performStandardCommand(std::string_view command, void* data);
    int setFlags(unsigned flags);
    int performIoctl(unsigned long request, void* data);

    EthernetAddress address_;
    EthernetAddress permanentAddress_;
    std::vector<EthernetAddress> multicast_;
    bool promiscuous_ = false;
    bool allMulticast_ = false;
};

}  // namespace nexnet
