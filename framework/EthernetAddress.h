#pragma once
/// @file EthernetAddress.h
/// @brief EthernetAddress: a 48-bit MAC address.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nexnet {

/// A 48-bit IEEE 802 MAC address, stored in network order.
struct EthernetAddress {
    std::array<std::uint8_t, 6> bytes{};  ///< The six bytes, first on the wire first.

    /// ff:ff:ff:ff:ff:ff.
    static constexpr EthernetAddress broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
    /// Parses "aa:bb:cc:dd:ee:ff" (or with '-'); nullopt when malformed.
    static std::optional<EthernetAddress> parse(std::string_view text);
    /// A random locally administered unicast address (02:xx:...).
    static EthernetAddress randomLocal();
    /// Copies 6 bytes from @p raw.
    static EthernetAddress fromBytes(const void* raw);

    /// The group bit: multicast or broadcast.
    constexpr bool isMulticast() const { return (bytes[0] & 1) != 0; }
    /// All ones.
    constexpr bool isBroadcast() const { return *this == broadcast(); }
    /// All zeros.
    constexpr bool isZero() const { return *this == EthernetAddress{}; }
    /// "aa:bb:cc:dd:ee:ff".
    std::string toString() const;
    /// Equal when all six bytes are.
    constexpr bool operator==(const EthernetAddress&) const = default;
};

}  // namespace nexnet
