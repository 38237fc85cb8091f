#pragma once
/// @file ArpBuilder.h
/// @brief ArpBuilder: writes an Ethernet/IPv4 ARP packet into the headroom.

#include "framework/EthernetAddress.h"

#include <cstdint>
#include <netinet/in.h>

namespace nexnet {

class Netbuf;

/// Prepends the 28 bytes of an ARP packet (RFC 826); the caller then adds the Ethernet header
/// (EthernetBuilder). Requests, replies and gratuitous ARP are all this with other arguments.
class ArpBuilder {
public:
    /// Prepends an ARP packet: @p operation (ArpView::kRequest / kReply), the sender's and the
    /// target's addresses (IPv4 in network order).
    /// @return 0, or ERANGE when the headroom is too small (nothing written).
    static int push(Netbuf& packet, std::uint16_t operation, const EthernetAddress& senderMac, in_addr senderIp,
                    const EthernetAddress& targetMac, in_addr targetIp);
};

}  // namespace nexnet
