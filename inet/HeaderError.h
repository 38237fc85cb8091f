#pragma once
/// @file HeaderError.h
/// @brief HeaderError: why a header view refused the bytes it was given.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nexnet {

/// Why a view (EthernetView, ArpView, Ipv4View, IcmpView, UdpView, TcpView) refused a packet.
/// Each is a counter of InetStatistics, printed under headerErrorName().
enum class HeaderError : std::uint8_t {
    none,               ///< Not an error: the view is valid.
    ethernetTruncated,  ///< Shorter than an Ethernet header (with its VLAN tags).
    arpTruncated,       ///< ARP shorter than its 28 bytes (Ethernet/IPv4).
    arpFormat,          ///< ARP not for Ethernet and IPv4 (hardware/protocol type, address lengths).
    ipTruncated,        ///< Shorter than the 20-byte IPv4 header, or than the header length it announces.
    ipVersion,          ///< IP version not 4.
    ipHeaderLength,     ///< IHL below 5 (a header shorter than 20 bytes).
    ipTotalLength,      ///< Total length smaller than the header or larger than the bytes present.
    ipOptions,          ///< An IPv4 option of length 0 or 1, or running past the header.
    icmpTruncated,      ///< ICMP shorter than its 8-byte header.
    udpTruncated,       ///< UDP shorter than its 8-byte header.
    udpLength,          ///< UDP length field under 8 or larger than the IP payload.
    tcpTruncated,       ///< TCP shorter than its 20-byte header.
    tcpDataOffset,      ///< TCP data offset below 5 or past the end of the segment.
    tcpOptions,         ///< A TCP option of length 0 or 1, running past the header, or of a wrong size.
    count,              ///< Number of values (not an error).
};

/// Number of HeaderError values, none included.
inline constexpr std::size_t kHeaderErrorCount = static_cast<std::size_t>(HeaderError::count);

/// The short name of @p error ("ip-total-length"), as statistics print it.
constexpr std::string_view headerErrorName(HeaderError error) {
    constexpr std::array<std::string_view, kHeaderErrorCount> names = {
        "none",          "ethernet-truncated", "arp-truncated",   "arp-format",      "ip-truncated",
        "ip-version",    "ip-header-length",   "ip-total-length", "ip-options",      "icmp-truncated",
        "udp-truncated", "udp-length",         "tcp-truncated",   "tcp-data-offset", "tcp-options"};
    auto index = static_cast<std::size_t>(error);
    return index < names.size() ? names[index] : "unknown";
}

}  // namespace nexnet
