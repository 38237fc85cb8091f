#pragma once
/// @file VxlanEthernet.h
/// @brief VxlanEthernet ("vxlan:REMOTE"): the smallest complete nexnet driver, Ethernet frames in
/// VXLAN over a UDP socket, loaded as a plug-in. docs/writing-a-driver.md shows it whole.

#include "framework/IOEthernet.h"

#include <arpa/inet.h>
#include <cstdint>
#include <memory>
#include <sys/socket.h>

namespace nexnet {

class DriverRegistry;

/// An Ethernet whose wire is VXLAN (RFC 7348): each frame travels in a UDP datagram behind an
/// 8-byte header carrying a 24-bit network identifier (VNI). The other end can be a Linux vxlan
/// interface (`ip link add vx0 type vxlan id 42 remote ADDRESS dstport 4789`) or another nexnet.
///
/// It overrides three methods, and IOEthernet and IONetwork do the rest (commands, flags,
/// addresses, MTU, counting, NeXT's outputPacket):
/// - receiveBurst: one recvmmsg straight into netbufs, the VXLAN header into a scratch buffer;
/// - transmitBurst: one sendmmsg straight from netbufs, behind a header;
/// - interruptEventFd: the socket, readable when datagrams wait (interrupt mode).
///
/// URI: `vxlan:REMOTE[,vni=N][,port=P][,pool=N]`: REMOTE the peer's IPv4 address, vni 0 to
/// 16777215 (default 42), port the UDP port on both ends (default 4789, RFC 7348 section 5).
class VxlanEthernet : public IOEthernet {
public:
    /// Frames per recvmmsg or sendmmsg.
    static constexpr unsigned kBurst = 32;

    /// Opens the socket (bound to @p port, sending to @p remote:@p port) and a pool of @p poolSize
    /// netbufs. Errors, with a message: the errno of socket/bind, or of the pool.
    static Result<std::unique_ptr<VxlanEthernet>> create(in_addr remote, std::uint32_t vni, std::uint16_t port,
                                                         std::uint32_t poolSize);
    /// Registers "vxlan:" with @p registry (the plug-in's entry point calls it).
    static int registerWith(DriverRegistry& registry);
    /// Closes the socket.
    ~VxlanEthernet() override;

    /// The socket: readable while datagrams wait.
    int interruptEventFd(unsigned queue) const override { return queue == 0 ? fd_ : -1; }

protected:
    /// Up to kBurst frames, each from one datagram whose VXLAN header carries our VNI; others
    /// (another VNI, the I flag clear, shorter than an Ethernet header) are reported as errors.
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override;
    /// Up to kBurst frames, one datagram each; the kernel copies them, so they are freed here.
    /// A full socket buffer leaves the rest with the caller.
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override;

private:
    VxlanEthernet(int fd, std::uint32_t vni);

    // RFC 7348 section 5: flags (0x08: a valid VNI), 24 reserved bits, the VNI, 8 reserved bits.
    struct Header {
        std::uint8_t flags;
        std::uint8_t reserved[3];
        std::uint8_t vni[3];
        std::uint8_t reserved2;
    };
    static_assert(sizeof(Header) == 8, "the VXLAN header is 8 bytes");

    int fd_;
    sockaddr_in peer_{};  // where frames go
    Header header_{};     // what we send: our VNI
    Header rxHeaders_[kBurst] = {};
    iovec vectors_[kBurst][2] = {};
    mmsghdr messages_[kBurst] = {};
};

}  // namespace nexnet
