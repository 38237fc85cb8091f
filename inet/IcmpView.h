#pragma once
/// @file IcmpView.h
/// @brief IcmpView: an ICMP message (RFC 792).

#include "inet/HeaderView.h"
#include "inet/NetworkOrder.h"

namespace nexnet {

/// A view of an ICMP message: type, code, checksum, the 4-byte rest of the header and the data.
///
/// parse() refuses fewer than 8 bytes (icmpTruncated). The checksum covers the whole message
/// and is checked by checksumValid(), not by parse().
class IcmpView : public HeaderView {
public:
    static constexpr unsigned kHeaderSize = 8;                  ///< Type, code, checksum, rest of header.
    static constexpr std::uint8_t kEchoReply = 0;               ///< Echo reply.
    static constexpr std::uint8_t kDestinationUnreachable = 3;  ///< Destination unreachable.
    static constexpr std::uint8_t kEchoRequest = 8;             ///< Echo request.
    static constexpr std::uint8_t kTimeExceeded = 11;           ///< Time exceeded.
    static constexpr std::uint8_t kPortUnreachable = 3;         ///< Code of kDestinationUnreachable.

    /// A refused view (icmpTruncated).
    IcmpView() : HeaderView(HeaderError::icmpTruncated) {}
    /// Looks at the ICMP message filling @p bytes (an IPv4 payload).
    static IcmpView parse(std::span<std::uint8_t> bytes);

    /// Message type.
    std::uint8_t type() const { return header()[0]; }
    /// Message code.
    std::uint8_t code() const { return header()[1]; }
    /// Checksum field, host order.
    std::uint16_t checksum() const { return loadBig16(header() + 2); }
    /// Identifier of an echo request or reply.
    std::uint16_t identifier() const { return loadBig16(header() + 4); }
    /// Sequence number of an echo request or reply.
    std::uint16_t sequence() const { return loadBig16(header() + 6); }
    /// What follows the 8-byte header.
    std::span<std::uint8_t> payload() const { return bytes_.subspan(kHeaderSize); }
    /// True when the message sums to zero (RFC 792: the checksum covers the whole message).
    bool checksumValid() const;

    /// Turns an echo request into its reply in place: type 0, checksum updated for that one
    /// change (RFC 1624) rather than recomputed over the data.
    void turnEchoIntoReply();

private:
    explicit IcmpView(std::span<std::uint8_t> bytes) : HeaderView(bytes) {}
    explicit IcmpView(HeaderError error) : HeaderView(error) {}
};

}  // namespace nexnet
