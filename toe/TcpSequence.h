#pragma once
/// @file TcpSequence.h
/// @brief Comparisons of TCP sequence numbers modulo 2^32 (RFC 9293 section 3.4).

#include <cstdint>

namespace nexnet {

/// True when sequence @p a comes before @p b (modulo 2^32: valid within 2^31 of each other).
constexpr bool sequenceBefore(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }
/// True when @p a comes before @p b or equals it.
constexpr bool sequenceAtOrBefore(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) <= 0; }

}  // namespace nexnet
