#pragma once
/// @file IOEthernet.h
/// @brief IOEthernet: the base class of Ethernet drivers (NeXT's IOEthernet).

#include "framework/EthernetAddress.h"
#include "framework/IONetwork.h"

#include <chrono>
#include <cstdint>
#include <vector>

namespace nexnet {

/// The base class of every Ethernet driver.
///
/// IOEthernet implements NeXT's protocol for Ethernet: outputPacket inserts the hardware
/// addresses and pads to the 60-byte minimum before calling transmit; performCommand handles
/// the standard commands (flags, addresses, promiscuous and multicast modes, UNIX ioctls) by
/// calling the methods below. A driver overrides what its hardware needs and nothing else:
///
/// | override                      | when                                                    |
/// |-------------------------------|---------------------------------------------------------|
/// | resetAndEnable                | always: bring the hardware up or down                   |
/// | receiveBurst                  | to receive (or call handleInputPacket from interrupts)  |
/// | transmitBurst or transmit     | to send: the burst one for speed, transmit for brevity  |
/// | setHardwareAddress            | the hardware has an address filter to program           |
/// | enable/disablePromiscuousMode | the hardware filters unicast                            |
/// | enable/disableMulticastMode, add/removeMulticastAddress | the hardware filters multicast |
/// | setMtu, maxMtu                | the hardware limits frame size                          |
///
/// The smallest driver (see samples/ethernet/SampleEthernet) calls attachToNetworkWithAddress
/// once it knows its address, and implements resetAndEnable, receiveBurst and transmit.
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

    /// Resets the hardware and, when @p enable, starts it; otherwise leaves it stopped. Must call
    /// setRunning(enable) on success. Called from performCommand when IFF_UP changes.
    /// @return 0 or an errno. Base: setRunning(enable), returns 0.
    virtual int resetAndEnable(bool enable);

    /// Sends one complete frame (addresses in place, padded). Called by outputPacket and by the
    /// base transmitBurst, which count the result: an override counts nothing. The driver owns
    /// @p packet from the call on and frees it once sent or on error.
    /// @return 0 or an errno. Base: hands the packet to transmitBurst on queue 0 (ENOBUFS when
    /// not accepted, the packet freed); a driver overrides transmit or transmitBurst, at least
    /// one of them (with neither, every packet is freed and EOPNOTSUPP returned).
    virtual int transmit(Netbuf* packet);

    /// Base: calls transmit for each packet and accepts them all, counting each as sent or, when
    /// transmit failed (it freed the packet), as an output error.
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override;

    /// Programs a new unicast address into the hardware. An override calls the base on success.
    /// @return 0, or EINVAL for a multicast or zero address. Base: records it.
    virtual int setHardwareAddress(const EthernetAddress& address);

    /// Receive every unicast frame. @return 0 or an errno. Base: records the mode (0).
    virtual int enablePromiscuousMode();
    /// Back to frames for this address only. @return 0 or an errno. Base: records the mode (0).
    virtual int disablePromiscuousMode();
    /// Receive every multicast frame. @return 0 or an errno. Base: records the mode (0).
    virtual int enableMulticastMode();
    /// Back to the multicast list only. @return 0 or an errno. Base: records the mode (0).
    virtual int disableMulticastMode();
    /// Joins a multicast group. @return 0, EINVAL for a unicast address, ENOSPC when the list is
    /// full (kMaxMulticastAddresses). Base: adds it to multicastAddresses() (adding twice is 0).
    virtual int addMulticastAddress(const EthernetAddress& address);
    /// Leaves a multicast group. @return 0, or ENOENT when not joined. Base: removes it.
    virtual int removeMulticastAddress(const EthernetAddress& address);

    /// Called on the event loop when the relative timeout set with setRelativeTimeout expires
    /// (a watchdog, a link poll). Base: nothing.
    virtual void timeoutOccurred();

    // ---- what IOEthernet provides ------------------------------------------------------------

    /// Registers the driver's permanent hardware address (NeXT's attachToNetworkWithAddress:);
    /// the driver calls it once while initialising. @return 0, or EINVAL for a multicast address.
    int attachToNetworkWithAddress(const EthernetAddress& address);

    /// Checks isRunning() (ENETDOWN), writes the destination from @p address (6 bytes; nullptr
    /// keeps the frame's) and the source from hardwareAddress(), pads with zeros to 60 bytes,
    /// and calls transmit. The frame in @p packet starts with room for the 14-byte header.
    /// Counts the packet in outputPackets() or outputErrors() (and queue 0's statistics).
    /// @return transmit's result, ENETDOWN, EINVAL for a frame shorter than a header or nullptr,
    /// EMSGSIZE for a frame longer than the MTU allows or too short to pad (no tailroom).
    /// The packet is always consumed: sent or freed.
    int outputPacket(Netbuf* packet, const void* address) override;

    /// The standard commands: IFCONTROL_SETFLAGS (union ifr_ifru), SETADDR / GETADDR (6 bytes),
    /// AUTOADDR (back to the permanent address; 6 bytes written when data is not nullptr),
    /// RCVPROMISCUOUS / RCVPROMISCOFF, ADDMULTICAST / RMVMULTICAST (6 bytes), and UNIXIOCTL
    /// (if_ioctl_t with a struct ifreq) for SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFHWADDR,
    /// SIOCSIFHWADDR (sa_family ARPHRD_ETHER), SIOCGIFMTU, SIOCSIFMTU, SIOCADDMULTI and
    /// SIOCDELMULTI (sa_family AF_UNSPEC, as Linux). Other ioctls give EOPNOTSUPP; unknown
    /// commands, nullptr data where data is needed, a wrong sa_family, an MTU out of range and
    /// a unicast address to join give EINVAL, and change nothing.
    /// A driver with its own commands handles them and calls this for the rest.
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
    /// When @p packet is addressed to this interface, broadcast or multicast, hands a copy of it
    /// to the input (a driver whose hardware does not hear itself calls it before transmit).
    /// @return true when a copy was looped back.
    bool performLoopback(const Netbuf* packet);

    /// Calls timeoutOccurred after @p delay on the event loop, replacing any pending timeout.
    /// @return 0, ENXIO without an event loop, or the timer's errno.
    int setRelativeTimeout(std::chrono::milliseconds delay);
    /// Cancels the pending timeout, if any.
    void clearTimeout();

protected:
    IOEthernet() = default;

private:
    int setFlags(unsigned flags);
    int performIoctl(unsigned long request, void* data);
    void countTransmitResult(unsigned queue, std::uint32_t bytes, int error);

    EthernetAddress address_;
    EthernetAddress permanentAddress_;
    std::vector<EthernetAddress> multicast_;
    bool promiscuous_ = false;
    bool allMulticast_ = false;
    bool inDefaultTransmit_ = false;  // the base transmit is calling transmitBurst
    bool noTransmitPath_ = false;     // ...and found the base transmitBurst: nothing can send
    bool transmitCounted_ = false;    // the packet went through transmitBurst, which counted it
    std::uint64_t timeout_ = 0;
};

}  // namespace nexnet
