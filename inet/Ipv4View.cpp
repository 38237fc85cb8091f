#include "inet/Ipv4View.h"

#include "inet/NetworkOrder.h"
#include "inet/OptionList.h"
#include "netbuf/InternetChecksum.h"

#include <cstring>

namespace nexnet {

namespace {
// Offsets in the header (RFC 791 section 3.1).
constexpr unsigned kTotalLength = 2, kSource = 12, kDestination = 16;
}  // namespace

Ipv4View Ipv4View::parse(std::span<std::uint8_t> bytes) {
    if (bytes.size() < kMinHeaderSize) return Ipv4View(HeaderError::ipTruncated);
    const std::uint8_t* ip = bytes.data();
    if ((ip[0] >> 4) != 4) return Ipv4View(HeaderError::ipVersion);
    unsigned headerLength = (ip[0] & 0x0fu) * 4;
    if (headerLength < kMinHeaderSize) return Ipv4View(HeaderError::ipHeaderLength);
    if (bytes.size() < headerLength) return Ipv4View(HeaderError::ipTruncated);
    unsigned total = loadBig16(ip + kTotalLength);
    if (total < headerLength || total > bytes.size()) return Ipv4View(HeaderError::ipTotalLength);
    // RFC 1122 section 3.2.1.8: options are read, none understood; each must be well formed.
    auto wellFormed = [](std::uint8_t, const std::uint8_t*, unsigned) { return true; };
    if (!walkOptions(ip + kMinHeaderSize, headerLength - kMinHeaderSize, wellFormed))
        return Ipv4View(HeaderError::ipOptions);
    return Ipv4View(bytes.first(total));
}

bool Ipv4View::headerChecksumValid() const {
    unsigned length = headerLength();
    if (length != kMinHeaderSize) return InternetChecksum::compute(header(), length) == 0;
    // The usual header, five 32-bit words summed in registers (RFC 1071 section 4.1's loop,
    // unrolled): the generic path's calls cost more than the adds on a 64-byte datagram.
    std::uint32_t words[5];
    std::memcpy(words, header(), sizeof words);
    std::uint64_t sum = std::uint64_t{words[0]} + words[1] + words[2] + words[3] + words[4];
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return sum == 0xffff;  // the complement of 0: a header holding its checksum sums to all ones
}

void Ipv4View::setSource(in_addr address) { storeNetwork32(header() + kSource, address.s_addr); }
void Ipv4View::setDestination(in_addr address) { storeNetwork32(header() + kDestination, address.s_addr); }

void Ipv4View::updateHeaderChecksum() {
    storeBig16(header() + kChecksumOffset, 0);
    storeBig16(header() + kChecksumOffset, InternetChecksum::compute(header(), headerLength()));
}

}  // namespace nexnet
