#pragma once
/// @file ArpView.h
/// @brief ArpView: an Ethernet/IPv4 ARP packet (RFC 826).

#include "framework/EthernetAddress.h"
#include "inet/HeaderView.h"

#include <netinet/in.h>

namespace nexnet {

/// A view of an ARP packet for Ethernet and IPv4, the only kind an Ethernet IPv4 host meets.
///
/// parse() refuses fewer than 28 bytes (arpTruncated) and any other hardware or protocol type
/// or address length (arpFormat). Bytes after the 28 (Ethernet padding) are not looked at.
class ArpView : public HeaderView {
public:
    static constexpr unsigned kSize = 28;         ///< Bytes of an Ethernet/IPv4 ARP packet.
    static constexpr std::uint16_t kRequest = 1;  ///< ARPOP_REQUEST.
    static constexpr std::uint16_t kReply = 2;    ///< ARPOP_REPLY.

    /// A refused view (arpTruncated).
    ArpView() : HeaderView(HeaderError::arpTruncated) {}
    /// Looks at the ARP packet at the start of @p bytes (an Ethernet payload).
    static ArpView parse(std::span<std::uint8_t> bytes);

    /// kRequest or kReply (or another value a peer sent).
    std::uint16_t operation() const;
    /// Sender hardware address.
    EthernetAddress senderMac() const { return EthernetAddress::fromBytes(header() + 8); }
    /// Sender protocol address (network order).
    in_addr senderIp() const;
    /// Target hardware address.
    EthernetAddress targetMac() const { return EthernetAddress::fromBytes(header() + 18); }
    /// Target protocol address (network order).
    in_addr targetIp() const;

    /// Rewrites the operation.
    void setOperation(std::uint16_t operation);
    /// Rewrites the sender's addresses.
    void setSender(const EthernetAddress& mac, in_addr ip);
    /// Rewrites the target's addresses.
    void setTarget(const EthernetAddress& mac, in_addr ip);

private:
    explicit ArpView(std::span<std::uint8_t> bytes) : HeaderView(bytes) {}
    explicit ArpView(HeaderError error) : HeaderView(error) {}
};

}  // namespace nexnet
