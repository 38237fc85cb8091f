#pragma once
/// @file EthernetBuilder.h
/// @brief EthernetBuilder: writes an Ethernet header (optionally 802.1Q-tagged) into the headroom.

#include "framework/EthernetAddress.h"

#include <cstdint>

namespace nexnet {

class Netbuf;

/// Prepends Ethernet headers. Like every builder of inet/, it writes into the netbuf's headroom
/// (Netbuf::growTop) so the payload already in the netbuf never moves, and it keeps a partial
/// checksum's csumStart right. No padding: drivers pad short frames (IOEthernet::outputPacket) or
/// the hardware does.
class EthernetBuilder {
public:
    /// Prepends destination @p destination, source @p source and EtherType @p type; with
    /// @p vlanTci non-zero, an 802.1Q tag (TPID 0x8100, @p vlanTci: priority, DEI, VLAN id) first.
    /// @return 0, or ERANGE when the headroom is too small (nothing written).
    static int push(Netbuf& packet, const EthernetAddress& destination, const EthernetAddress& source,
                    std::uint16_t type, std::uint16_t vlanTci = 0);
};

}  // namespace nexnet
