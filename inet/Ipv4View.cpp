#include "inet/Ipv4View.h"

#include "inet/NetworkOrder.h"
#include "netbuf/InternetChecksum.h"

namespace nexnet {

namespace {
// Offsets in the header (RFC 791 section 3.1).
constexpr unsigned kTotalLength = 2, kIdentification = 4, kFragment = 6, kSource = 12, kDestination = 16;
constexpr std::uint16_t kDontFragment = 0x4000, kMoreFragments = 0x2000, kOffsetMask = 0x1fff;
constexpr std::uint8_t kOptionEnd = 0, kOptionNop = 1;

// True when the options in [options, options + length) are well formed: every option but End
// and No-op carries a length of at least 2 that stays inside the header. An End option ends
// the list; what follows it is padding.
bool optionsWellFormed(const std::uint8_t* options, unsigned length) {
    unsigned at = 0;
    while (at < length) {
        std::uint8_t type = options[at];
        if (type == kOptionEnd) return true;
        if (type == kOptionNop) {
            ++at;
            continue;
        }
        if (at + 1 >= length) return false;      // no room for the length byte
        unsigned size = options[at + 1];
        if (size < 2 || size > length - at) return false;  // 0 or 1 would loop; past the header
        at += size;
    }
    return true;
}
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
    if (!optionsWellFormed(ip + kMinHeaderSize, headerLength - kMinHeaderSize)) return Ipv4View(HeaderError::ipOptions);
    return Ipv4View(bytes.first(total));
}

std::uint16_t Ipv4View::totalLength() const { return loadBig16(header() + kTotalLength); }
std::uint16_t Ipv4View::identification() const { return loadBig16(header() + kIdentification); }
bool Ipv4View::dontFragment() const { return (loadBig16(header() + kFragment) & kDontFragment) != 0; }
bool Ipv4View::moreFragments() const { return (loadBig16(header() + kFragment) & kMoreFragments) != 0; }
unsigned Ipv4View::fragmentOffset() const { return (loadBig16(header() + kFragment) & kOffsetMask) * 8u; }
std::uint16_t Ipv4View::headerChecksum() const { return loadBig16(header() + kChecksumOffset); }
in_addr Ipv4View::source() const { return in_addr{loadNetwork32(header() + kSource)}; }
in_addr Ipv4View::destination() const { return in_addr{loadNetwork32(header() + kDestination)}; }

bool Ipv4View::headerChecksumValid() const { return InternetChecksum::compute(header(), headerLength()) == 0; }

void Ipv4View::setSource(in_addr address) { storeNetwork32(header() + kSource, address.s_addr); }
void Ipv4View::setDestination(in_addr address) { storeNetwork32(header() + kDestination, address.s_addr); }

void Ipv4View::updateHeaderChecksum() {
    storeBig16(header() + kChecksumOffset, 0);
    storeBig16(header() + kChecksumOffset, InternetChecksum::compute(header(), headerLength()));
}

}  // namespace nexnet
