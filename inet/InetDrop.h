#pragma once
/// @file InetDrop.h
/// @brief InetDrop: why the protocol layer dropped a well-parsed packet (header errors are
/// HeaderError).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nexnet {

/// Why InetStack dropped a packet that its views accepted, or one it was sending. Each has a
/// counter in InetStatistics, printed under inetDropName().
enum class InetDrop : std::uint8_t {
    ethernetSource,      ///< Ethernet source broadcast, multicast, zero or our own: never answered.
    arpSender,           ///< ARP from a broadcast, multicast or zero sender address: ignored.
    arpConflict,         ///< ARP from another station claiming our IPv4 address.
    ipChecksum,          ///< IPv4 header checksum wrong.
    ipTtl,               ///< IPv4 TTL 0.
    ipSource,            ///< IPv4 source broadcast, multicast, loopback or our own address.
    ipProtocol,          ///< A transport protocol the layer does not serve.
    ipFragment,          ///< A fragment while reassembly is off.
    reassemblyTimeout,   ///< A datagram not completed in time: its fragments dropped.
    reassemblyOverflow,  ///< A datagram evicted to make room for a newer one, or no buffer for it.
    reassemblyInvalid,   ///< Fragments adding up past 65535 bytes, or too many holes.
    icmpChecksum,        ///< ICMP checksum wrong.
    icmpRefused,         ///< An echo request from or to an address never answered (broadcast, ...).
    udpChecksum,         ///< UDP checksum wrong.
    udpNoPort,           ///< No endpoint for the port (answered with ICMP port unreachable if unicast).
    udpQueueFull,        ///< The endpoint's receive queue was full.
    arpQueueFull,        ///< Output waiting for ARP beyond the per-address bound.
    arpUnresolved,       ///< Output waiting for an address that never answered ARP.
    noRoute,             ///< Output to an address off the subnet without a default gateway.
    noBuffer,            ///< No netbuf for a reply, a fragment or an ARP request.
    transmit,            ///< The interface's output queue refused the frame.
    count,               ///< Number of values (not a reason).
};

/// Number of InetDrop values.
inline constexpr std::size_t kInetDropCount = static_cast<std::size_t>(InetDrop::count);

/// The short name of @p drop ("udp-no-port"), as statistics print it.
constexpr std::string_view inetDropName(InetDrop drop) {
    constexpr std::array<std::string_view, kInetDropCount> names = {"ethernet-source",
                                                                    "arp-sender",
                                                                    "arp-conflict",
                                                                    "ip-checksum",
                                                                    "ip-ttl",
                                                                    "ip-source",
                                                                    "ip-protocol",
                                                                    "ip-fragment",
                                                                    "reassembly-timeout",
                                                                    "reassembly-overflow",
                                                                    "reassembly-invalid",
                                                                    "icmp-checksum",
                                                                    "icmp-refused",
                                                                    "udp-checksum",
                                                                    "udp-no-port",
                                                                    "udp-queue-full",
                                                                    "arp-queue-full",
                                                                    "arp-unresolved",
                                                                    "no-route",
                                                                    "no-buffer",
                                                                    "transmit"};
    auto index = static_cast<std::size_t>(drop);
    return index < names.size() ? names[index] : "unknown";
}

}  // namespace nexnet
