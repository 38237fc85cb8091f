#pragma once
/// @file OptionList.h
/// @brief walkOptions: the type-length-value option lists of IPv4 (RFC 791 section 3.1) and TCP
/// (RFC 9293 section 3.1), read with one set of bounds checks.

#include <cstdint>

namespace nexnet {

/// Walks the option list in @p length bytes at @p options: kind 0 ends the list, kind 1 is a
/// one-byte no-op, every other option has a length byte of at least 2 that keeps it inside the
/// list. Calls @p visit(kind, value, valueLength) for each option but End and No-op; a visit
/// returning false stops the walk as malformed.
/// @return false for a malformed list: a length under 2 (which would loop or split a byte), an
/// option running past the end, no room for the length byte, or a visit that refused.
template <typename Visit>
bool walkOptions(const std::uint8_t* options, unsigned length, Visit&& visit) {
    constexpr std::uint8_t kEnd = 0, kNop = 1;
    unsigned at = 0;
    while (at < length) {
        std::uint8_t kind = options[at];
        if (kind == kEnd) return true;  // what follows is padding
        if (kind == kNop) {
            ++at;
            continue;
        }
        if (at + 1 >= length) return false;
        unsigned size = options[at + 1];
        if (size < 2 || size > length - at) return false;
        if (!visit(kind, options + at + 2, size - 2)) return false;
        at += size;
    }
    return true;
}

}  // namespace nexnet
