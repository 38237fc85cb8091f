#pragma once
/// @file TcpView.h
/// @brief TcpView: a TCP segment (RFC 9293), options checked.

#include "inet/HeaderView.h"
#include "inet/NetworkOrder.h"
#include "inet/TcpOptions.h"

namespace nexnet {

/// A view of a TCP segment: ports, sequence and acknowledgment numbers, flags, window, options
/// and payload. What a TCP offload engine reads from every segment it places.
///
/// parse() refuses fewer than 20 bytes (tcpTruncated), a data offset under 5 or past the end
/// (tcpDataOffset), and a malformed option list (tcpOptions, see TcpOptions::read). The
/// checksum is checked by TransportChecksum.
class TcpView : public HeaderView {
public:
    static constexpr unsigned kMinHeaderSize = 20;   ///< Header without options.
    static constexpr unsigned kChecksumOffset = 16;  ///< Where the checksum sits.
    static constexpr std::uint8_t kFin = 0x01;       ///< FIN flag.
    static constexpr std::uint8_t kSyn = 0x02;       ///< SYN flag.
    static constexpr std::uint8_t kRst = 0x04;       ///< RST flag.
    static constexpr std::uint8_t kPsh = 0x08;       ///< PSH flag.
    static constexpr std::uint8_t kAck = 0x10;       ///< ACK flag.
    static constexpr std::uint8_t kUrg = 0x20;       ///< URG flag.
    static constexpr std::uint8_t kEce = 0x40;       ///< ECE flag (RFC 3168).
    static constexpr std::uint8_t kCwr = 0x80;       ///< CWR flag (RFC 3168).

    /// A refused view (tcpTruncated).
    TcpView() : HeaderView(HeaderError::tcpTruncated) {}
    /// Looks at the segment filling @p bytes (an IPv4 payload).
    static TcpView parse(std::span<std::uint8_t> bytes);

    /// Source port, host order.
    std::uint16_t sourcePort() const { return loadBig16(header()); }
    /// Destination port, host order.
    std::uint16_t destinationPort() const { return loadBig16(header() + 2); }
    /// Sequence number.
    std::uint32_t sequence() const { return loadBig32(header() + 4); }
    /// Acknowledgment number (meaningful with kAck).
    std::uint32_t acknowledgment() const { return loadBig32(header() + 8); }
    /// Bytes of the header, options included (data offset * 4).
    unsigned headerLength() const { return static_cast<unsigned>(header()[12] >> 4) * 4; }
    /// Flag bits (kFin ... kCwr).
    std::uint8_t flags() const { return header()[13]; }
    /// True when every bit of @p flag is set.
    bool has(std::uint8_t flag) const { return (flags() & flag) == flag; }
    /// Window field, unscaled.
    std::uint16_t window() const { return loadBig16(header() + 14); }
    /// Checksum field, host order.
    std::uint16_t checksum() const { return loadBig16(header() + kChecksumOffset); }
    /// Urgent pointer.
    std::uint16_t urgentPointer() const { return loadBig16(header() + 18); }
    /// The raw option bytes.
    std::span<std::uint8_t> optionBytes() const {
        return bytes_.subspan(kMinHeaderSize, headerLength() - kMinHeaderSize);
    }
    /// The options nexnet understands (parse() already checked the list).
    TcpOptions options() const;
    /// The payload.
    std::span<std::uint8_t> payload() const { return bytes_.subspan(headerLength()); }
    /// Sequence space the segment takes: payload bytes, plus one for SYN and one for FIN.
    std::uint32_t sequenceLength() const;

    /// Rewrites the acknowledgment number (checksum: the caller's, see InternetChecksum::update32).
    void setAcknowledgment(std::uint32_t acknowledgment);
    /// Rewrites the window field.
    void setWindow(std::uint16_t window);

private:
    explicit TcpView(std::span<std::uint8_t> bytes) : HeaderView(bytes) {}
    explicit TcpView(HeaderError error) : HeaderView(error) {}
};

}  // namespace nexnet
