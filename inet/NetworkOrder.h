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

/// The 16-bit big-endian field at @p at, in host order.
inline std::uint16_t loadBig16(const std::uint8_t* at) {
    std::uint16_t value;
    std::memcpy(&value, at, sizeof value);
    return ntohs(value);
}
/// The 32-bit big-endian field at @p at, in host order.
inline std::uint32_t loadBig32(const std::uint8_t* at) {
    std::uint32_t value;
    std::memcpy(&value, at, sizeof value);
    return ntohl(value);
}
/// Writes @p value (host order) big-endian at @p at.
inline void storeBig16(std::uint8_t* at, std::uint16_t value) {
    value = htons(value);
    std::memcpy(at, &value, sizeof value);
}
/// Writes @p value (host order) big-endian at @p at.
inline void storeBig32(std::uint8_t* at, std::uint32_t value) {
    value = htonl(value);
    std::memcpy(at, &value, sizeof value);
}
/// The 32-bit field at @p at left in network order (as in_addr::s_addr keeps an address).
inline std::uint32_t loadNetwork32(const std::uint8_t* at) {
    std::uint32_t value;
    std::memcpy(&value, at, sizeof value);
    return value;
}
/// Writes @p value, already in network order, at @p at.
inline void storeNetwork32(std::uint8_t* at, std::uint32_t value) { std::memcpy(at, &value, sizeof value); }

}  // namespace nexnet
