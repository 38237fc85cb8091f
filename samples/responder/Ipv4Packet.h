#pragma once
/// @file Ipv4Packet.h
/// @brief Ipv4Packet: validates the IPv4 header of a received frame and turns it into a reply.

#include "framework/EthernetAddress.h"
#include "netbuf/Netbuf.h"
#include "samples/responder/Verdict.h"

#include <cstdint>
#include <netinet/in.h>

namespace nexnet {

class Checksum;

/// A view of the IPv4 packet inside an Ethernet frame (EtherType IPv4), for the responders.
///
/// validate() is the only way in: it checks the header (RFC 791 / RFC 1122 3.2.1) and trims
/// the Ethernet padding, after which payload() and payloadLength() are safe to use. The view
/// does not own the netbuf.
class Ipv4Packet {
public:
    /// Where the IPv4 header starts in the frame: after the Ethernet header.
    static constexpr unsigned kOffset = 14;
    /// Bytes of an IPv4 header without options.
    static constexpr unsigned kMinHeader = 20;
    /// Protocol number of ICMP.
    static constexpr std::uint8_t kIcmp = 1;
    /// Protocol number of UDP.
    static constexpr std::uint8_t kUdp = 17;

    /// A view of @p frame; call validate() before anything else.
    explicit Ipv4Packet(Netbuf& frame) : frame_(frame) {}

    /// Checks, in order: a whole 20-byte header (ipTruncated), version 4 and a header length of
    /// at least 20 (ipHeader), the options present (ipTruncated), the header checksum
    /// (ipChecksum), a total length between the header length and the frame (ipLength), no
    /// fragment (ipFragment). Trims the frame to the total length (Ethernet padding). Then
    /// ignores packets whose destination is not @p self.
    /// @return Verdict::reply() when the packet is valid and for us (a responder decides next).
    Verdict validate(in_addr self);

    /// The IPv4 protocol number (kIcmp, kUdp, ...).
    std::uint8_t protocol() const;
    /// Bytes of the header, options included.
    unsigned headerLength() const { return headerLength_; }
    /// The first byte after the header.
    std::uint8_t* payload() const { return frame_.data() + kOffset + headerLength_; }
    /// Bytes after the header, up to the total length.
    unsigned payloadLength() const { return frame_.size() - kOffset - headerLength_; }
    /// The source address, network order.
    in_addr source() const;
    /// The destination address, network order.
    in_addr destination() const;
    /// Adds the UDP/TCP pseudo-header (addresses, protocol, @p length) to a checksum's words.
    void addPseudoHeader(Checksum& checksum, std::uint16_t length) const;

    /// Makes the packet go back where it came from: swaps the IPv4 addresses, sets the TTL to
    /// 64, recomputes the header checksum, and addresses the Ethernet frame from @p mac to the
    /// sender. The payload is the caller's business (do it first).
    void turnAround(const EthernetAddress& mac);

    /// The frame being looked at.
    Netbuf& frame() { return frame_; }

private:
    std::uint8_t* header() const { return frame_.data() + kOffset; }

    Netbuf& frame_;
    unsigned headerLength_ = 0;
};

}  // namespace nexnet
