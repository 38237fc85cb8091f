#pragma once
/// @file ResponderStatistics.h
/// @brief ResponderStatistics: what nexnet-sample counts and prints.

#include "samples/responder/Verdict.h"

#include <array>
#include <cstdint>
#include <string>

namespace nexnet {

/// Counters of a SampleResponder: frames seen, replies per protocol, ignored frames and
/// malformed frames by reason. Plain numbers, updated on the event-loop thread.
struct ResponderStatistics {
    std::uint64_t received = 0;       ///< Frames offered to the responder.
    std::uint64_t transmitted = 0;    ///< Replies the interface accepted for sending.
    std::uint64_t transmitDrops = 0;  ///< Replies lost because the output queue was full.
    std::uint64_t arpReplies = 0;     ///< ARP replies made.
    std::uint64_t icmpReplies = 0;    ///< ICMP echo replies made.
    std::uint64_t udpReplies = 0;     ///< UDP echo replies made.
    std::uint64_t ignored = 0;        ///< Well-formed frames not for us.
    std::array<std::uint64_t, kDropReasonCount> drops{};  ///< Malformed frames, by DropReason.

    /// Malformed frames dropped, all reasons.
    std::uint64_t totalDrops() const;
    /// The counter for @p reason.
    std::uint64_t dropped(DropReason reason) const { return drops[static_cast<std::size_t>(reason)]; }
    /// Adds one to the counter for @p reason.
    void countDrop(DropReason reason) { drops[static_cast<std::size_t>(reason)]++; }
    /// One line of key=value pairs: every counter, then the drop reasons that are not zero,
    /// `rx=9 tx=5 arp=1 icmp=4 udp=0 ignored=0 tx-drops=0 drops=4 ethertype=1 ip-checksum=3`.
    std::string format() const;
};

}  // namespace nexnet
