#pragma once
/// @file InternetChecksum.h
/// @brief InternetChecksum: the 16-bit one's complement sum of IPv4, ICMP, UDP and TCP (RFC 1071),
/// its incremental update (RFC 1624), pseudo-header sums, and finishPartialChecksum for drivers
/// whose hardware cannot finish a partial checksum.

#include <cstddef>
#include <cstdint>

namespace nexnet {

class Netbuf;

/// An Internet checksum being accumulated (RFC 1071).
///
/// Add any number of pieces with add() (odd-length pieces are fine: the next piece is summed at
/// the odd offset it really has, RFC 1071 section 2(B)), 16-bit fields with addWord() and
/// addresses with addAddress(), then read value(), the checksum to store. Data that holds a
/// correct checksum field sums to zero: `InternetChecksum::compute(header, length) == 0` is the
/// check.
///
/// The sum is kept in 64 bits and taken 8 bytes at a time in the machine's byte order (the sum is
/// byte-order independent, RFC 1071 section 2(B)), so a 1500-byte packet costs about 190 adds;
/// values come back in host order. Plain value type: no allocation, usable from any thread.
class InternetChecksum {
public:
    /// Adds @p length bytes at @p data. A last odd byte is padded with zero only if no piece
    /// follows; otherwise the next piece continues at the odd offset.
    InternetChecksum& add(const void* data, std::size_t length);
    /// Adds one 16-bit field given in host order (a pseudo-header's protocol or length).
    InternetChecksum& addWord(std::uint16_t hostOrder);
    /// Adds a 32-bit field kept in network order, as in_addr::s_addr keeps an address.
    InternetChecksum& addAddress(std::uint32_t networkOrder);
    /// Adds another checksum's running sum (not its complement): sums of pieces add up.
    InternetChecksum& addSum(const InternetChecksum& other);

    /// The folded sum, host order, not complemented: what a partial checksum field holds
    /// (the pseudo-header sum left for a device to finish, NetbufOffload::kNeedsChecksum).
    std::uint16_t folded() const;
    /// The checksum to store in a header: the complement of folded(), host order.
    std::uint16_t value() const { return static_cast<std::uint16_t>(~folded()); }

    /// The checksum of @p length bytes at @p data: 0 when they hold a correct checksum field.
    static std::uint16_t compute(const void* data, std::size_t length);
    /// The UDP/TCP pseudo-header (RFC 768, RFC 9293 section 3.1): @p source and @p destination
    /// in network order, @p protocol, and @p length (host order) of the transport header and data.
    static InternetChecksum pseudoHeader(std::uint32_t source, std::uint32_t destination, std::uint8_t protocol,
                                         std::uint16_t length);
    /// The checksum field after one 16-bit word it covers changes from @p oldWord to @p newWord
    /// (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')). All values in host order.
    static std::uint16_t update(std::uint16_t checksum, std::uint16_t oldWord, std::uint16_t newWord);
    /// As update(), for a 32-bit field such as an address, both values in network order.
    static std::uint16_t update32(std::uint16_t checksum, std::uint32_t oldValue, std::uint32_t newValue);

private:
    std::uint64_t sum_ = 0;  // machine-order 16-bit words; 64 bits lose no carry before folding
    bool odd_ = false;       // the bytes added so far have an odd length
};

/// Finishes in software the partial checksum of @p packet, as a device with checksum offload
/// would (virtio 1.2 section 5.1.6.2): when offload().needsChecksum(), the one's complement sum
/// from csumStart to the end of the packet (its checksum field holding the pseudo-header sum) is
/// complemented and stored at csumStart + csumOffset, and kNeedsChecksum is cleared. A computed
/// 0 is stored as 0xffff, as Linux's skb_checksum_help does: the same value in one's complement
/// for TCP, and the only right one for UDP, where 0 means "no checksum" (RFC 768).
///
/// Called by a driver whose hardware has no transmit checksum offload, on its transmit thread,
/// before the frame leaves; never blocks. The caller keeps ownership of @p packet.
/// @return 0 (also when nothing was partial), or EINVAL when csumStart/csumOffset do not lie
/// inside the packet (NetbufOffload::isConsistentWith): the packet is left unchanged.
int finishPartialChecksum(Netbuf& packet);

}  // namespace nexnet
