#pragma once
/// @file LowResourceClient.h
/// @brief LowResourceClient: what the driver (or a consumer) learns from LowResourceBuffer.

#include "netif/LowResourceDescriptor.h"

#include <cstdint>

namespace nexnet {

/// Receives the descriptors of each processed array (seed claim 3) and the notice that every
/// packet of the array has been processed (claim 5). Install one with LowResourceBuffer::setClient.
///
/// Both calls come on the receive thread, inside LowResourceBuffer::inputBurst, after the
/// packets were handed up (or buffered, or dropped); they must not block. The descriptors are
/// the layer's: read them during the call, do not keep the pointer. The base does nothing.
class LowResourceClient {
public:
    /// What happened to one array (one receive burst).
    struct ArrayReport {
        /// mark value when nothing was marked (resources were fine).
        static constexpr unsigned kNoMark = ~0u;
        std::uint64_t firstSequence = 0;  ///< Sequence number of the array's first packet.
        unsigned queue = 0;               ///< Receive queue it came from.
        unsigned count = 0;               ///< Packets in the array.
        unsigned mark = kNoMark;          ///< Index of the marked packet (claim 1), or kNoMark.
        unsigned flagged = 0;             ///< Packets flagged for buffering (mark onwards).
        unsigned unflagged = 0;           ///< Flags removed from the mark on after the re-check (claim 8).
        unsigned toHost = 0;              ///< Packets handed up in their own netbuf.
        unsigned toReserve = 0;           ///< Packets copied into the reserve.
        unsigned dropped = 0;             ///< Flagged packets the full reserve could not take.
        unsigned released = 0;            ///< Earlier buffered packets handed up before this array.
        /// Reserve netbufs left free once the flagged packets were copied: 0 whenever some were
        /// dropped (a packet larger than a reserve buffer, from a wrapped netbuf, is the exception).
        unsigned reserveFree = 0;
    };

    virtual ~LowResourceClient() = default;
    /// The @p count descriptors of one array, in receive order (claim 3). Base: nothing.
    virtual void packetsDescribed(const LowResourceDescriptor* descriptors, unsigned count) {
        (void)descriptors;
        (void)count;
    }
    /// Every packet of the array has been processed (claim 5). Base: nothing.
    virtual void arrayProcessed(const ArrayReport& report) { (void)report; }
};

}  // namespace nexnet
