#pragma once
/// @file NetworkOrder.h
/// @brief Reading and writing big-endian header fields at any alignment.
///
/// Headers inside a frame are not aligned (the IPv4 header starts 14 bytes in), so fields are
/// copied with memcpy rather than read through casted struct pointers: the compiler turns it into
/// a plain load, and UBSan has nothing to object to.

#include <arpa/inet.h>
#include <cstdint>
#include <cstring>

namespace nexnet {

/// The 16-bit big-endian field at @p at.
inline std::uint16_t loadBig16(const std::uint8_t* at) {
    std::uint16_t value;
    std::memcpy(&value, at, sizeof value);
    return ntohs(value);
}

/// Writes @p value big-endian at @p at.
inline void storeBig16(std::uint8_t* at, std::uint16_t value) {
    value = htons(value);
    std::memcpy(at, &value, sizeof value);
}

/// The 32-bit field at @p at, left in network order (as in_addr keeps it).
inline std::uint32_t loadNetwork32(const std::uint8_t* at) {
    std::uint32_t value;
    std::memcpy(&value, at, sizeof value);
    return value;
}

/// Exchanges the @p bytes bytes at @p a and @p b (addresses, ports).
inline void swapBytes(std::uint8_t* a, std::uint8_t* b, unsigned bytes) {
    std::uint8_t scratch[16];
    std::memcpy(scratch, a, bytes);
    std::memcpy(a, b, bytes);
    std::memcpy(b, scratch, bytes);
}

}  // namespace nexnet
