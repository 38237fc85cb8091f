#pragma once
/// @file Checksum.h
/// @brief Checksum: the Internet checksum (RFC 1071) and its incremental update (RFC 1624).

#include <cstddef>
#include <cstdint>

namespace nexnet {

/// The 16-bit one's complement checksum of IPv4, ICMP and UDP (RFC 1071).
///
/// Accumulate with add() (any number of pieces; an odd-length piece must be the last), then
/// read value(): the checksum to store. A header whose stored checksum is right sums to zero:
/// `Checksum::compute(header, length) == 0` is the check.
class Checksum {
public:
    /// Adds @p length bytes at @p data, as big-endian 16-bit words (a last odd byte is padded
    /// with zero, RFC 1071 section 4.1).
    void add(const void* data, std::size_t length);
    /// Adds one 16-bit word given in host order (pseudo-header fields: protocol, length).
    void addWord(std::uint16_t word) { sum_ += word; }
    /// The folded, complemented sum, in host order: what goes in the checksum field.
    std::uint16_t value() const;

    /// The checksum of @p length bytes at @p data: 0 when they hold a correct checksum field.
    static std::uint16_t compute(const void* data, std::size_t length);
    /// The checksum field after one 16-bit word covered by it changes from @p oldWord to
    /// @p newWord (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')). All values in host order.
    static std::uint16_t update(std::uint16_t checksum, std::uint16_t oldWord, std::uint16_t newWord);

private:
    std::uint64_t sum_ = 0;  // 64 bits: no carry is lost before value() folds it
};

}  // namespace nexnet
