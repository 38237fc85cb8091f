#pragma once
/// @file TcpOffloadHandle.h
/// @brief TcpOffloadHandle: the opaque name of a connection the TCP offload engine carries.

#include <cstdint>

namespace nexnet {

/// The handle the TCP-offload seed passes between the stack and the device (claims 1(b), 6, 18):
/// TcpOffloadEngine::offload returns it, every later call on the connection passes it back.
/// Opaque to its holder: a slot and a generation, so a handle kept after the connection ended is
/// refused (ENOENT) rather than taken for the next connection in the same slot. A plain value:
/// copy it freely.
struct TcpOffloadHandle {
    std::uint64_t value = 0;  ///< Opaque; 0 names no connection.
    /// True when the handle names a connection (it may since have ended).
    explicit operator bool() const { return value != 0; }
    /// Handles are equal when they name the same connection.
    bool operator==(const TcpOffloadHandle&) const = default;
};

}  // namespace nexnet
