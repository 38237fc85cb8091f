#pragma once
/// @file InetStatistics.h
/// @brief InetStatistics: what the protocol layer of one interface counts.

#include "inet/HeaderError.h"
#include "inet/InetDrop.h"

#include <array>
#include <cstdint>
#include <string>

namespace nexnet {

/// Counters of an InetStack: what it answered, delivered and sent, and every drop by reason
/// (HeaderError for refused headers, InetDrop for the rest). Written on the interface's thread;
/// read them there, or accept a figure a burst old.
struct InetStatistics {
    std::uint64_t received = 0;             ///< Frames the layer took.
    std::uint64_t ignored = 0;              ///< Frames taken that were well formed but not for us.
    std::uint64_t arpAnswered = 0;          ///< ARP requests for our address answered.
    std::uint64_t arpRequestsSent = 0;      ///< ARP requests sent (resolution and its retries).
    std::uint64_t arpLearned = 0;           ///< Neighbours learned or refreshed from ARP.
    std::uint64_t gratuitousArpSent = 0;    ///< Gratuitous ARP sent when the address was set.
    std::uint64_t echoAnswered = 0;         ///< ICMP echo requests answered.
    std::uint64_t echoRequestsSent = 0;     ///< ICMP echo requests sent (sendEchoRequest).
    std::uint64_t echoRepliesReceived = 0;  ///< ICMP echo replies received.
    std::uint64_t unreachableSent = 0;      ///< ICMP port unreachable sent for closed UDP ports.
    std::uint64_t unreachableReceived = 0;  ///< ICMP destination unreachable received.
    std::uint64_t udpDelivered = 0;         ///< Datagrams queued to endpoints.
    std::uint64_t udpSent = 0;              ///< Datagrams sent by endpoints.
    std::uint64_t reassembled = 0;          ///< Datagrams reassembled from fragments.
    std::uint64_t fragmentsSent = 0;        ///< Fragments sent for datagrams larger than the MTU.
    std::uint64_t transmitted = 0;          ///< Frames handed to the interface for output.
    std::array<std::uint64_t, kHeaderErrorCount> headerErrors{};  ///< Refused headers, by HeaderError.
    std::array<std::uint64_t, kInetDropCount> drops{};            ///< Other drops, by InetDrop.

    /// The counter for @p error.
    std::uint64_t dropped(HeaderError error) const { return headerErrors[static_cast<std::size_t>(error)]; }
    /// The counter for @p drop.
    std::uint64_t dropped(InetDrop drop) const { return drops[static_cast<std::size_t>(drop)]; }
    /// Adds one to the counter for @p error.
    void count(HeaderError error) { headerErrors[static_cast<std::size_t>(error)]++; }
    /// Adds @p n to the counter for @p drop.
    void count(InetDrop drop, std::uint64_t n = 1) { drops[static_cast<std::size_t>(drop)] += n; }
    /// Every drop, header errors included.
    std::uint64_t totalDrops() const;
    /// One line of key=value pairs: the main counters, then the drop reasons that happened,
    /// `rx=9 tx=5 arp=1 icmp=4 udp-in=0 udp-out=0 ignored=0 drops=2 ip-checksum=1 ip-options=1`.
    std::string format() const;
};

}  // namespace nexnet
