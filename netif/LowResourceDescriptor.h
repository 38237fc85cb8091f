#pragma once
/// @file LowResourceDescriptor.h
/// @brief LowResourceDescriptor: where one received packet ended up (low-resource seed, claim 3).

#include <cstdint>

namespace nexnet {

/// Describes one packet of a received array after LowResourceBuffer has placed it: the
/// descriptor the seed's claim 3 gives the software driver. Descriptors of an array come in
/// receive order; sequence numbers are consecutive across arrays, so a gap never goes unseen.
///
/// A descriptor names its buffer by pool id and netbuf index (Netbuf::poolId(), Netbuf::index()),
/// nexnet's cross-process name of a netbuf; offset and length locate the packet in that buffer.
struct LowResourceDescriptor {
    /// Where the packet lives after the array was processed.
    enum class Location : std::uint8_t {
        host,     ///< Handed up in the driver's own netbuf (normal path, or un-flagged after recovery).
        reserve,  ///< Copied into a reserve netbuf; the driver's netbuf went back to the shared pool.
        dropped,  ///< Flagged while the reserve was full too: freed and counted as a drop.
    };

    std::uint64_t sequence = 0;          ///< Receive order, counted by the layer from 0.
    std::uint32_t offset = 0;            ///< Start of the packet in its buffer (the netbuf's headroom).
    std::uint32_t length = 0;            ///< Bytes of the packet.
    std::uint32_t index = 0;             ///< Netbuf index in its pool (meaningless when dropped).
    std::uint16_t poolId = 0;            ///< Pool of that netbuf: the shared pool's or the reserve's id.
    Location location = Location::host;  ///< Where it lives.
    bool flagged = false;                ///< Was flagged for buffering (stays true when copied or dropped).
};

}  // namespace nexnet
