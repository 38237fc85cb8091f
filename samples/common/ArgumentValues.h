#pragma once
/// @file ArgumentValues.h
/// @brief Strict parsers for the values the samples take on their command lines (counts, seconds,
/// a host's IPv4 address, a station's Ethernet address, a PCI address), each refusal a sentence.
///
/// Strict means: exactly what the value's usual notation allows, nothing around it. No sign, no
/// space, no empty text, no trailing characters, no value a program would misuse (a multicast
/// address as a host's, a broadcast one as a station's). The messages say what is wrong, not
/// which argument it was: ArgumentParser puts the argument in front.

#include "framework/EthernetAddress.h"
#include "netbuf/Result.h"

#include <cstdint>
#include <netinet/in.h>
#include <string>
#include <string_view>

namespace nexnet {

/// Longest duration a sample takes (--duration): a year, far below what would overflow a clock.
inline constexpr double kMaxSeconds = 365.0 * 24 * 3600;

/// A host's IPv4 address and the length of its network's prefix ("10.77.0.2/24").
struct HostAddress {
    in_addr address{};     ///< The address, network order.
    unsigned prefix = 24;  ///< Prefix length, 0 to 32.

    /// The netmask the prefix stands for, network order.
    in_addr netmask() const;
};

/// @p text as a message shows it: as it is when it is a plain word, else in double quotes with
/// control and non-ASCII bytes escaped (\\xNN), so that a message never hides a space or prints a
/// terminal escape.
std::string quotedArgument(std::string_view text);

/// A whole number from @p min to @p max in decimal digits ("512", "0"). Refused: the empty text,
/// a sign ("+5", "-0"), a space (" 7"), anything after the digits, a number out of range.
Result<std::uint64_t> parseCount(std::string_view text, std::uint64_t min, std::uint64_t max);

/// A positive number of seconds in decimal ("2", "0.25"), at most @p max. Refused: signs,
/// exponents, "inf", "nan", zero, anything else.
Result<double> parseSeconds(std::string_view text, double max = kMaxSeconds);

/// A host's address, "A.B.C.D" or "A.B.C.D/N" (prefix 24 when absent). Refused beyond the
/// notation: addresses no host may take as its own (RFC 1122 section 3.2.1.3, RFC 6890): 0.0.0.0/8,
/// loopback 127.0.0.0/8, multicast 224.0.0.0/4, reserved 240.0.0.0/4 with the limited broadcast
/// 255.255.255.255, and, for prefixes up to /30, the network's own address and its broadcast.
Result<HostAddress> parseHostAddress(std::string_view text);

/// A station's own Ethernet address, "aa:bb:cc:dd:ee:ff" (or with '-'). Refused beyond the
/// notation: broadcast, multicast (group bit set) and all-zero addresses, which no station may
/// send from (IEEE 802-2014 section 8.2).
Result<EthernetAddress> parseStationAddress(std::string_view text);

/// A PCI address as sysfs and lspci -D write it, "DDDD:BB:DD.F" (PciDevice::isAddress). Refused:
/// anything else, paths ("..", "../../x") and the empty text among them.
Result<std::string> parsePciAddress(std::string_view text);

}  // namespace nexnet
