#pragma once
/// @file Verdict.h
/// @brief Verdict and DropReason: what a responder decided about one received frame.

#include <array>
#include <cstddef>
#include <string_view>

namespace nexnet {

/// Why a malformed frame was dropped. Each reason has its own counter in ResponderStatistics.
enum class DropReason : unsigned {
    runt,          ///< Shorter than an Ethernet header.
    ethertype,     ///< An EtherType the responder does not speak (not ARP, not IPv4), or a length field.
    arpTruncated,  ///< ARP shorter than its 28 bytes.
    arpFormat,     ///< ARP not for Ethernet and IPv4 (hardware/protocol type or address lengths).
    ipTruncated,   ///< Frame too short for the IPv4 header it announces.
    ipHeader,      ///< IPv4 version not 4, or header length under 20 bytes.
    ipChecksum,    ///< IPv4 header checksum wrong.
    ipLength,      ///< IPv4 total length larger than the frame, or smaller than the header.
    ipFragment,    ///< An IPv4 fragment (the responder does not reassemble).
    icmpTruncated, ///< ICMP shorter than its 8-byte header.
    icmpChecksum,  ///< ICMP checksum wrong.
    udpLength,     ///< UDP length field not matching the IPv4 payload, or under 8 bytes.
    udpChecksum,   ///< UDP checksum wrong.
    count,         ///< Number of reasons (not a reason).
};

/// Number of DropReason values.
inline constexpr std::size_t kDropReasonCount = static_cast<std::size_t>(DropReason::count);

/// The short name of @p reason, as the statistics print it ("ip-checksum").
constexpr std::string_view dropReasonName(DropReason reason) {
    constexpr std::array<std::string_view, kDropReasonCount> names = {
        "runt", "ethertype", "arp-truncated", "arp-format", "ip-truncated", "ip-header", "ip-checksum",
        "ip-length", "ip-fragment", "icmp-truncated", "icmp-checksum", "udp-length", "udp-checksum"};
    auto index = static_cast<std::size_t>(reason);
    return index < names.size() ? names[index] : "unknown";
}

/// A responder's decision about one frame: answer it (the frame was rewritten in place into
/// the reply), ignore it (well formed but not for us: another address, port or message type),
/// or drop it as malformed, for a reason.
struct Verdict {
    /// What to do with the frame.
    enum class Action { reply, ignore, drop };
    Action action = Action::ignore;        ///< The decision.
    DropReason reason = DropReason::count; ///< Why, when action is drop.

    /// The frame now holds the reply: send it.
    static constexpr Verdict reply() { return {Action::reply, DropReason::count}; }
    /// Not for us: free it, count it as ignored.
    static constexpr Verdict ignore() { return {Action::ignore, DropReason::count}; }
    /// Malformed: free it, count it under @p why.
    static constexpr Verdict drop(DropReason why) { return {Action::drop, why}; }
    /// True for reply().
    constexpr bool isReply() const { return action == Action::reply; }
};

}  // namespace nexnet
