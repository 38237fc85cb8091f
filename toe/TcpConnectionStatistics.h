#pragma once
/// @file TcpConnectionStatistics.h
/// @brief TcpConnectionStatistics: the counters the TCP offload engine keeps per connection.

#include <cstdint>

namespace nexnet {

/// What the engine counts for one offloaded connection (seed claim 12: the stack monitors the
/// statistics of the connections the device carries). Written on the interface's thread only.
struct TcpConnectionStatistics {
    std::uint64_t segmentsIn = 0;        ///< Segments received for the connection (checksum good).
    std::uint64_t bytesIn = 0;           ///< Payload bytes received, duplicates included.
    std::uint64_t bytesPlaced = 0;       ///< Payload bytes placed into posted buffers.
    std::uint64_t segmentsOut = 0;       ///< Segments sent (ACKs, window updates, FIN, RST).
    std::uint64_t acksSent = 0;          ///< Of segmentsOut, the ACKs (with or without SACK).
    std::uint64_t outOfOrder = 0;        ///< Segments that arrived after a gap and were held.
    std::uint64_t duplicates = 0;        ///< Segments whose every byte was already received.
    std::uint64_t trimmedBytes = 0;      ///< Bytes cut from overlapping or out-of-window segments.
    std::uint64_t heldDrops = 0;         ///< Segments dropped because the reassembly queue was full.
    std::uint64_t checksumErrors = 0;    ///< Segments dropped for a bad TCP checksum.
    std::uint64_t pawsDrops = 0;         ///< Segments dropped by PAWS (RFC 7323 section 5).
    std::uint64_t completions = 0;       ///< Completions delivered.
    std::uint32_t advertisedWindow = 0;  ///< The receive window last advertised, in bytes.
    std::uint32_t peerWindow = 0;        ///< The peer's window, in bytes (scaled).
};

}  // namespace nexnet
