#pragma once
/// @file TcpConnectionStatistics.h
/// @brief TcpConnectionStatistics: the counters the TCP offload engine keeps per connection.

#include <cstdint>

namespace nexnet {

/// Why the engine asked for a connection to be handed back to the kernel (seed claim 14).
enum class TcpHandBackReason : std::uint8_t {
    none,        ///< It did not.
    urgentData,  ///< The peer sent urgent data (URG): the kernel's MSG_OOB and SIOCATMARK carry it.
    option,      ///< The peer sent an option that changes how segments are read (TCP-MD5, TCP-AO, MPTCP).
};

/// What the engine counts for one offloaded connection (seed claim 12: the stack monitors the
/// statistics of the connections the device carries). Written on the interface's thread only.
struct TcpConnectionStatistics {
    std::uint64_t segmentsIn = 0;         ///< Segments received for the connection (checksum good).
    std::uint64_t bytesIn = 0;            ///< Payload bytes received, duplicates included.
    std::uint64_t bytesPlaced = 0;        ///< Payload bytes placed into posted buffers.
    std::uint64_t segmentsOut = 0;        ///< Segments sent (data, ACKs, window updates, probes, FIN, RST).
    std::uint64_t acksSent = 0;           ///< Of segmentsOut, the ACKs (with or without SACK).
    std::uint64_t outOfOrder = 0;         ///< Segments that arrived after a gap and were held.
    std::uint64_t duplicates = 0;         ///< Segments whose every byte was already received.
    std::uint64_t trimmedBytes = 0;       ///< Bytes cut from overlapping or out-of-window segments.
    std::uint64_t heldDrops = 0;          ///< Segments dropped because the reassembly queue was full.
    std::uint64_t checksumErrors = 0;     ///< Segments dropped for a bad TCP checksum.
    std::uint64_t pawsDrops = 0;          ///< Segments dropped by PAWS (RFC 7323 section 5).
    std::uint64_t completions = 0;        ///< Completions delivered.
    std::uint64_t bytesOut = 0;           ///< Payload bytes sent, retransmissions included.
    std::uint64_t dataSegmentsOut = 0;    ///< Of segmentsOut, those carrying payload.
    std::uint64_t bytesAcknowledged = 0;  ///< Payload bytes the peer acknowledged.
    std::uint64_t retransmissions = 0;    ///< Segments sent again (any cause).
    std::uint64_t fastRetransmits = 0;    ///< Recoveries begun by duplicate ACKs or SACK (RFC 5681, 6675).
    std::uint64_t rtoExpiries = 0;        ///< Retransmission timer expiries (RFC 6298 section 5).
    std::uint64_t duplicateAcks = 0;      ///< Duplicate ACKs received (RFC 5681 section 2).
    std::uint64_t persistProbes = 0;      ///< Zero-window probes sent (RFC 9293 section 3.8.6.1).
    std::uint64_t keepalivesSent = 0;     ///< Keepalive probes sent (RFC 9293 section 3.8.4).
    std::uint64_t sendCompletions = 0;    ///< Send buffers completed.
    std::uint64_t urgentSegments = 0;     ///< Segments with URG received.
    std::uint64_t unknownOptions = 0;     ///< Segments with an option the engine does not know (ignored).
    TcpHandBackReason handBackReason = TcpHandBackReason::none;  ///< Why a hand-back was asked, if one was.
    std::uint32_t congestionWindow = 0;                          ///< cwnd, bytes.
    std::uint32_t slowStartThreshold = 0;                        ///< ssthresh, bytes.
    std::uint32_t smoothedRtt = 0;                               ///< SRTT, microseconds (0: no sample yet).
    std::uint32_t retransmissionTimeout = 0;                     ///< RTO, microseconds, backed off.
    std::uint32_t advertisedWindow = 0;                          ///< The receive window last advertised, in bytes.
    std::uint32_t peerWindow = 0;                                ///< The peer's window, in bytes (scaled).
};

}  // namespace nexnet
