#pragma once
/// @file EthernetView.h
/// @brief EthernetView: an Ethernet II header with up to two VLAN tags (802.1Q, 802.1ad).

#include "framework/EthernetAddress.h"
#include "inet/HeaderView.h"

namespace nexnet {

class Netbuf;

/// A view of an Ethernet frame: addresses, EtherType after the VLAN tags, payload.
///
/// parse() accepts a 14-byte header, or 18/22 bytes with an 802.1Q tag (TPID 0x8100) optionally
/// behind an 802.1ad one (0x88a8); anything shorter is refused with ethernetTruncated. An
/// EtherType under 0x0600 is an 802.3 length, reported as it is (isLengthField()).
class EthernetView : public HeaderView {
public:
    static constexpr unsigned kHeaderSize = 14;         ///< Destination, source, type.
    static constexpr unsigned kVlanTagSize = 4;         ///< TPID and TCI of one tag.
    static constexpr std::uint16_t kTypeIpv4 = 0x0800;  ///< EtherType of IPv4.
    static constexpr std::uint16_t kTypeArp = 0x0806;   ///< EtherType of ARP.
    static constexpr std::uint16_t kTypeVlan = 0x8100;  ///< 802.1Q tag.
    static constexpr std::uint16_t kTypeQinQ = 0x88a8;  ///< 802.1ad service tag.
    static constexpr std::uint16_t kTypeIpv6 = 0x86dd;  ///< EtherType of IPv6.

    /// A refused view (HeaderError::ethernetTruncated): what a default view is.
    EthernetView() : HeaderView(HeaderError::ethernetTruncated) {}
    /// Looks at the frame in @p frame.
    static EthernetView parse(std::span<std::uint8_t> frame);
    /// Looks at the frame held by @p frame (its data() to data() + size()).
    static EthernetView parse(Netbuf& frame);

    /// Destination address.
    EthernetAddress destination() const { return EthernetAddress::fromBytes(header()); }
    /// Source address.
    EthernetAddress source() const { return EthernetAddress::fromBytes(header() + 6); }
    /// The EtherType after any VLAN tags (kTypeIpv4, kTypeArp, ...).
    std::uint16_t etherType() const { return etherType_; }
    /// True when etherType() is an 802.3 length rather than a type (below 0x0600).
    bool isLengthField() const { return etherType_ < 0x0600; }
    /// VLAN tags present (0, 1 or 2).
    unsigned vlanTags() const { return (headerLength_ - kHeaderSize) / kVlanTagSize; }
    /// VLAN id (12 bits) of the innermost tag, 0 without tags.
    std::uint16_t vlanId() const;
    /// Bytes of the header, tags included.
    unsigned headerLength() const { return headerLength_; }
    /// What follows the header.
    std::span<std::uint8_t> payload() const { return bytes_.subspan(headerLength_); }

    /// Rewrites the destination address.
    void setDestination(const EthernetAddress& address);
    /// Rewrites the source address.
    void setSource(const EthernetAddress& address);

private:
    EthernetView(std::span<std::uint8_t> bytes, unsigned headerLength, std::uint16_t type)
        : HeaderView(bytes), headerLength_(headerLength), etherType_(type) {}
    explicit EthernetView(HeaderError error) : HeaderView(error) {}

    unsigned headerLength_ = 0;
    std::uint16_t etherType_ = 0;
};

}  // namespace nexnet
