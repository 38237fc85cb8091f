#pragma once
/// @file SampleEthernet.h
/// @brief SampleEthernet ("packet:IFNAME"): the tutorial driver, an IOEthernet over an AF_PACKET
/// socket bound to an existing Linux interface.
///
/// Read this file and SampleEthernet.cpp together with docs/writing-a-driver.md: the guide walks
/// through them method by method. Copy them to start a driver of your own.

#include "framework/DriverRegistry.h"
#include "framework/IOEthernet.h"
#include "netbuf/VirtioNetHeader.h"

#include <cstdint>
#include <linux/if_packet.h>
#include <memory>
#include <string>
#include <sys/socket.h>

namespace nexnet {

/// A complete Ethernet driver in two short files: the one to copy when writing your first.
///
/// The "hardware" is an existing Linux interface (a NIC, a veth, a bridge port) reached through
/// an AF_PACKET socket: what the socket receives is what the wire delivered, what we send on it
/// goes out on the wire. The socket stands in for a NIC's two descriptor rings, and the
/// interface's own address, MTU and flags for the NIC's registers. Everything a driver does is
/// here, and nothing else:
///
/// | driver duty                         | here                                                |
/// |-------------------------------------|-----------------------------------------------------|
/// | find the hardware, read its address | create(): socket, SIOCGIFINDEX, SIOCGIFHWADDR, then attachToNetworkWithAddress |
/// | bring it up and down                | resetAndEnable(): the socket's BPF filter drops everything while stopped |
/// | receive in bursts                   | receiveBurst(): one recvmmsg straight into netbufs  |
/// | transmit in bursts                  | transmitBurst(): one sendmmsg straight from netbufs |
/// | interrupt mode                      | interruptEventFd(): the socket, readable when frames wait |
/// | address filters                     | promiscuous and multicast modes: PACKET_ADD_MEMBERSHIP |
/// | checksum offload                    | a virtio-net header with each frame (PACKET_VNET_HDR) <-> Netbuf::offload() |
///
/// What it leaves to IOEthernet and IONetwork: performCommand (flags, addresses, ioctls),
/// outputPacket (header insertion and padding, then its transmitBurst), and every counter: the
/// framework counts what receiveBurst returns and transmitBurst accepts; the driver reports only
/// the frames it drops itself.
///
/// Which overrides are optional: receiveBurst and transmitBurst are the driver; interruptEventFd
/// gives interrupt mode; resetAndEnable makes "down" stop the receiver (without it, down only
/// stops the framework calling the data path); the filter methods make promiscuous and multicast
/// modes real on the wire; maxMtu and setHardwareAddress follow the Linux interface.
///
/// URI: `packet:IFNAME[,pool=N]`; the interface must exist. Needs CAP_NET_RAW (root).
///
/// Checksums: frames the host itself sent on a virtual link (veth) carry a partial checksum for
/// the "hardware" to finish. The virtio-net header says so (NetbufOffload::flags NEEDS_CSUM, with
/// csumStart/csumOffset); a netbuf transmitted with those fields set has its checksum finished
/// by the kernel. Frames longer than a netbuf (GSO super-packets from a local TCP sender on a
/// veth with TSO/GSO on) are counted as receive errors: turn those offloads off on the peer
/// (`ethtool -K IF tso off gso off`) to forward TCP through this driver.
///
/// Threading: one queue pair, so its bursts run on one thread (IONetwork's contract: one thread
/// per queue); nothing blocks.
class SampleEthernet : public IOEthernet {
public:
    /// Packets moved per recvmmsg / sendmmsg: receiveBurst and transmitBurst take at most this many.
    static constexpr unsigned kBurst = 32;

    /// What to open.
    struct Options {
        std::string interface;          ///< Name of the Linux interface ("eth0", "veth1").
        std::uint32_t poolSize = 4096;  ///< Netbufs in the driver's own pool.
    };

    /// Opens @p options.interface: the socket, the interface's index, address and MTU, and a pool.
    /// The driver comes back stopped (isRunning() false); bring it up with IFCONTROL_SETFLAGS.
    /// Errors: EINVAL (no or too long a name, pool of 0), ENODEV (no such interface),
    /// EPERM (not root), EPROTONOSUPPORT (not an Ethernet interface), or the pool's errno.
    static Result<std::unique_ptr<SampleEthernet>> create(const Options& options);

    /// Registers "packet:" with @p registry. The library does not know this sample: a program that
    /// wants it calls `SampleEthernet::registerWith(builtinDrivers())` before opening URIs.
    /// @return 0, or EEXIST when "packet" is already registered.
    static int registerWith(DriverRegistry& registry);

    /// Closes the socket and returns the netbufs kept for receiving to the pool.
    ~SampleEthernet() override;

    /// Up: removes the socket's drop-everything filter, so frames start arriving (the NIC's
    /// receiver on). Down: attaches it and discards what was queued (receiver off). Called by
    /// IOEthernet::performCommand on IFF_UP changes. @return 0 or the errno of setsockopt.
    int resetAndEnable(bool enable) override;

    /// The socket: readable when frames are waiting (interrupt mode). -1 for queues other than 0.
    int interruptEventFd(unsigned queue) const override;
    /// Always 0 for queue 0: the socket always signals; poll mode just does not watch it.
    int setInterruptsEnabled(unsigned queue, bool enabled) override;

    /// The interface's MTU when opened, limited by what fits in a netbuf.
    unsigned maxMtu() const override;

    /// Uses @p address as this interface's unicast address. An address other than the Linux
    /// interface's own needs its frames let in: the interface is put in promiscuous mode.
    /// @return 0, EINVAL for a multicast or zero address, or the errno of setsockopt.
    int setHardwareAddress(const EthernetAddress& address) override;
    /// The interface receives every frame (PACKET_MR_PROMISC) or, @p enabled false, this
    /// address only. @return 0 or the errno of setsockopt.
    int setPromiscuousMode(bool enabled) override;
    /// The interface receives every multicast frame (PACKET_MR_ALLMULTI) or, @p enabled false,
    /// the joined groups only. @return 0 or the errno of setsockopt.
    int setMulticastMode(bool enabled) override;
    /// Joins @p address on the interface (PACKET_MR_MULTICAST) and in IOEthernet's list.
    /// @return 0, EINVAL for a unicast address, ENOSPC when the list is full, or an errno.
    int addMulticastAddress(const EthernetAddress& address) override;
    /// Leaves @p address. @return 0, ENOENT when not joined, or an errno.
    int removeMulticastAddress(const EthernetAddress& address) override;

    /// Index of the Linux interface.
    int interfaceIndex() const { return ifindex_; }

protected:
    /// Receives up to min(@p max, kBurst) frames with one recvmmsg, into netbufs the caller then
    /// owns, with their checksum state in Netbuf::offload(). Frames longer than a netbuf, shorter
    /// than a header or with a checksum request outside the frame are reported as receive errors;
    /// unwanted multicast and unicast for another address (outside promiscuous mode) are filtered
    /// out, as a NIC's filter would. The framework counts the rest.
    /// @return the number received; 0 when none wait, when stopped, or for a queue other than 0.
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override;

    /// Sends up to min(@p count, kBurst) complete frames with one sendmmsg, with the offload
    /// requests of Netbuf::offload() (checksum to finish, segmentation). The kernel copies them,
    /// so the accepted netbufs are freed (to their own pools) before the call returns. When the
    /// socket is full the rest stay with the caller; a frame the kernel refuses (too long,
    /// interface gone) is reported as a transmit error, freed and counted accepted, so that one
    /// bad frame cannot block the queue behind it. @return the number accepted (first n).
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override;

private:
    SampleEthernet() = default;
    int open(const Options& options);
    int setMembership(int type, bool add, const EthernetAddress* address = nullptr);
    bool isWanted(const std::uint8_t* frame) const;

    int fd_ = -1;
    int ifindex_ = 0;
    unsigned maxMtu_ = 1500;
    bool foreignAddress_ = false;  // hardwareAddress() is not the interface's: promiscuous needed
    // Empty netbufs kept between bursts, as a NIC keeps its receive ring full of buffers.
    Netbuf* spare_[kBurst] = {};
    unsigned spareCount_ = 0;
    // The recvmmsg / sendmmsg descriptors, built once: nothing is allocated per burst. Each
    // message has two pieces: the virtio-net header (its first VirtioNetHeader::kLegacySize
    // bytes: packet sockets use the 10-byte header, PACKET_VNET_HDR), then the frame in a netbuf.
    mmsghdr rxMessages_[kBurst] = {};
    iovec rxVectors_[kBurst][2] = {};
    VirtioNetHeader rxHeaders_[kBurst] = {};
    mmsghdr txMessages_[kBurst] = {};
    iovec txVectors_[kBurst][2] = {};
    VirtioNetHeader txHeaders_[kBurst] = {};
};

}  // namespace nexnet
