#pragma once
/// @file UdpView.h
/// @brief UdpView: a UDP header (RFC 768).

#include "inet/HeaderView.h"
#include "inet/NetworkOrder.h"

namespace nexnet {

/// A view of a UDP datagram: ports, length, checksum, payload.
///
/// parse() refuses fewer than 8 bytes (udpTruncated) and a length field under 8 or larger than
/// the bytes given (udpLength); the view covers the length field's bytes. The checksum is
/// checked by TransportChecksum (it needs the IPv4 pseudo-header and the netbuf's offload state).
class UdpView : public HeaderView {
public:
    static constexpr unsigned kHeaderSize = 8;      ///< Ports, length, checksum.
    static constexpr unsigned kChecksumOffset = 6;  ///< Where the checksum sits.

    /// A refused view (udpTruncated).
    UdpView() : HeaderView(HeaderError::udpTruncated) {}
    /// Looks at the datagram at the start of @p bytes (an IPv4 payload).
    static UdpView parse(std::span<std::uint8_t> bytes);

    /// Source port, host order.
    std::uint16_t sourcePort() const { return loadBig16(header()); }
    /// Destination port, host order.
    std::uint16_t destinationPort() const { return loadBig16(header() + 2); }
    /// Length field: header and payload.
    std::uint16_t length() const { return loadBig16(header() + 4); }
    /// Checksum field, host order (0: the sender computed none).
    std::uint16_t checksum() const { return loadBig16(header() + kChecksumOffset); }
    /// The payload.
    std::span<std::uint8_t> payload() const { return bytes_.subspan(kHeaderSize); }

private:
    explicit UdpView(std::span<std::uint8_t> bytes) : HeaderView(bytes) {}
    explicit UdpView(HeaderError error) : HeaderView(error) {}
};

}  // namespace nexnet
