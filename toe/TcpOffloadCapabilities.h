#pragma once
/// @file TcpOffloadCapabilities.h
/// @brief TcpOffloadCapabilities: what a TCP offload engine can carry (the capability query).

#include <cstdint>

namespace nexnet {

/// The answer to TcpOffloadEngine::capabilities() (seed claims 10, 19: the stack asks the device
/// whether, and how far, it offloads TCP). A plain value a stack keeps beside its interface.
struct TcpOffloadCapabilities {
    unsigned maxConnections = 0;      ///< Connections carried at once.
    unsigned maxPostedBuffers = 0;    ///< Receive buffers posted at once per connection.
    unsigned reassemblySegments = 0;  ///< Out-of-order segments held per connection.
    std::uint16_t minMss = 0;         ///< Smallest maximum segment size taken over.
    std::uint16_t maxMss = 0;         ///< Largest maximum segment size taken over.
    bool receivePlacement = false;    ///< Payload placed into posted buffers (claims 1-4).
    bool send = false;                ///< Data sent from posted buffers (claim 9).
    bool timestamps = false;          ///< RFC 7323 timestamps carried on (PAWS, echo).
    bool windowScaling = false;       ///< RFC 7323 window scaling carried on.
    bool sackBlocks = false;          ///< SACK blocks sent for held data (RFC 2018).
    bool handBack = false;            ///< Connections can be given back to the kernel.
};

}  // namespace nexnet
