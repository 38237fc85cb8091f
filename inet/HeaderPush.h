#pragma once
/// @file HeaderPush.h
/// @brief pushHeader: the one way the builders make room for a header in a netbuf's headroom.

#include "netbuf/Netbuf.h"

#include <cstdint>

namespace nexnet {

/// Makes room for @p bytes in front of @p packet's data (Netbuf::growTop) so a builder can
/// write a header there without moving the payload, and keeps a partial checksum's csumStart
/// (counted from data()) on the byte it pointed at.
/// @return the new data(), or nullptr when the headroom is smaller than @p bytes (nothing changed).
inline std::uint8_t* pushHeader(Netbuf& packet, unsigned bytes) {
    if (packet.growTop(bytes) != 0) return nullptr;
    NetbufOffload& offload = packet.offload();
    if (offload.needsChecksum()) offload.csumStart = static_cast<std::uint16_t>(offload.csumStart + bytes);
    return packet.data();
}

}  // namespace nexnet
