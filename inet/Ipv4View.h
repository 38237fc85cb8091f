#pragma once
/// @file Ipv4View.h
/// @brief Ipv4View: an IPv4 header (RFC 791), options checked and skipped.

#include "inet/HeaderView.h"
#include "inet/NetworkOrder.h"

#include <netinet/in.h>

namespace nexnet {

/// A view of an IPv4 packet: header fields, options, payload.
///
/// parse() checks, in this order: 20 bytes present (ipTruncated), version 4 (ipVersion), IHL at
/// least 5 (ipHeaderLength), the announced header present (ipTruncated), a total length between
/// the header length and the bytes given (ipTotalLength), and every option well formed: an
/// option other than End (0) and No-op (1) has a length of at least 2 that stays inside the
/// header (ipOptions; RFC 791 section 3.1, RFC 1122 section 3.2.1.8). The view then covers the
/// total length only: what follows is link padding. It does not check the header checksum
/// (headerChecksumValid()) nor the addresses: that is the receiving layer's policy.
class Ipv4View : public HeaderView {
public:
    static constexpr unsigned kMinHeaderSize = 20;   ///< Header without options.
    static constexpr unsigned kMaxHeaderSize = 60;   ///< IHL 15.
    static constexpr std::uint8_t kIcmp = 1;         ///< Protocol number of ICMP.
    static constexpr std::uint8_t kTcp = 6;          ///< Protocol number of TCP.
    static constexpr std::uint8_t kUdp = 17;         ///< Protocol number of UDP.
    static constexpr unsigned kChecksumOffset = 10;  ///< Where the header checksum sits.

    /// A refused view (ipTruncated).
    Ipv4View() : HeaderView(HeaderError::ipTruncated) {}
    /// Looks at the IPv4 packet at the start of @p bytes (an Ethernet payload, padding allowed).
    static Ipv4View parse(std::span<std::uint8_t> bytes);

    /// Bytes of the header, options included (IHL * 4).
    unsigned headerLength() const { return static_cast<unsigned>((header()[0] & 0x0f) * 4); }
    /// Total length field: header and payload.
    std::uint16_t totalLength() const { return loadBig16(header() + 2); }
    /// Type of service / DSCP and ECN byte.
    std::uint8_t tos() const { return header()[1]; }
    /// Identification field.
    std::uint16_t identification() const { return loadBig16(header() + 4); }
    /// Don't Fragment flag.
    bool dontFragment() const { return (loadBig16(header() + 6) & 0x4000) != 0; }
    /// More Fragments flag.
    bool moreFragments() const { return (loadBig16(header() + 6) & 0x2000) != 0; }
    /// Fragment offset in bytes (the field times 8).
    unsigned fragmentOffset() const { return (loadBig16(header() + 6) & 0x1fffu) * 8u; }
    /// True for any fragment: MF set or a non-zero offset.
    bool isFragment() const { return moreFragments() || fragmentOffset() != 0; }
    /// Time to live.
    std::uint8_t ttl() const { return header()[8]; }
    /// Protocol number (kIcmp, kTcp, kUdp, ...).
    std::uint8_t protocol() const { return header()[9]; }
    /// Header checksum field, host order.
    std::uint16_t headerChecksum() const { return loadBig16(header() + kChecksumOffset); }
    /// Source address (network order).
    in_addr source() const { return in_addr{loadNetwork32(header() + 12)}; }
    /// Destination address (network order).
    in_addr destination() const { return in_addr{loadNetwork32(header() + 16)}; }
    /// The options (between the 20-byte header and headerLength()); empty when there are none.
    std::span<std::uint8_t> options() const { return bytes_.subspan(kMinHeaderSize, headerLength() - kMinHeaderSize); }
    /// The payload: from the header's end to the total length.
    std::span<std::uint8_t> payload() const { return bytes_.subspan(headerLength()); }
    /// True when the header checksum is right (the header sums to zero, RFC 1071).
    bool headerChecksumValid() const;

    /// Rewrites the TTL (the header checksum is the caller's: updateHeaderChecksum()).
    void setTtl(std::uint8_t ttl) { header()[8] = ttl; }
    /// Rewrites the source address.
    void setSource(in_addr address);
    /// Rewrites the destination address.
    void setDestination(in_addr address);
    /// Recomputes and stores the header checksum.
    void updateHeaderChecksum();

private:
    explicit Ipv4View(std::span<std::uint8_t> bytes) : HeaderView(bytes) {}
    explicit Ipv4View(HeaderError error) : HeaderView(error) {}
};

}  // namespace nexnet
