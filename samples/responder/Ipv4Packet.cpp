#include "samples/responder/Ipv4Packet.h"

#include "samples/responder/Checksum.h"
#include "samples/responder/NetworkOrder.h"

namespace nexnet {

namespace {
// Offsets in the IPv4 header (RFC 791 section 3.1).
constexpr unsigned kVersionLength = 0, kTotalLength = 2, kFragment = 6, kTtl = 8, kProtocol = 9;
constexpr unsigned kChecksum = 10, kSource = 12, kDestination = 16;
constexpr std::uint16_t kMoreFragments = 0x2000, kFragmentOffset = 0x1fff;
constexpr std::uint8_t kReplyTtl = 64;  // RFC 1700's default TTL, as Linux uses
}  // namespace

Verdict Ipv4Packet::validate(in_addr self) {
    if (frame_.size() < kOffset + kMinHeader) return Verdict::drop(DropReason::ipTruncated);
    const std::uint8_t* ip = header();
    unsigned headerLength = (ip[kVersionLength] & 0x0f) * 4u;
    if ((ip[kVersionLength] >> 4) != 4 || headerLength < kMinHeader) return Verdict::drop(DropReason::ipHeader);
    if (frame_.size() < kOffset + headerLength) return Verdict::drop(DropReason::ipTruncated);
    if (Checksum::compute(ip, headerLength) != 0) return Verdict::drop(DropReason::ipChecksum);
    unsigned totalLength = loadBig16(ip + kTotalLength);
    if (totalLength < headerLength || totalLength > frame_.size() - kOffset)
        return Verdict::drop(DropReason::ipLength);
    if ((loadBig16(ip + kFragment) & (kMoreFragments | kFragmentOffset)) != 0)
        return Verdict::drop(DropReason::ipFragment);
    frame_.setSize(kOffset + totalLength);  // what follows the packet is Ethernet padding
    headerLength_ = headerLength;
    return destination().s_addr == self.s_addr ? Verdict::reply() : Verdict::ignore();
}

std::uint8_t Ipv4Packet::protocol() const { return header()[kProtocol]; }

in_addr Ipv4Packet::source() const { return in_addr{loadNetwork32(header() + kSource)}; }

in_addr Ipv4Packet::destination() const { return in_addr{loadNetwork32(header() + kDestination)}; }

void Ipv4Packet::addPseudoHeader(Checksum& checksum, std::uint16_t length) const {
    checksum.add(header() + kSource, 8);  // source and destination, adjacent
    checksum.addWord(protocol());
    checksum.addWord(length);
}

void Ipv4Packet::turnAround(const EthernetAddress& mac) {
    std::uint8_t* ip = header();
    swapBytes(ip + kSource, ip + kDestination, 4);
    ip[kTtl] = kReplyTtl;
    storeBig16(ip + kChecksum, 0);
    storeBig16(ip + kChecksum, Checksum::compute(ip, headerLength_));
    std::uint8_t* ethernet = frame_.data();
    std::memcpy(ethernet, ethernet + 6, 6);
    std::memcpy(ethernet + 6, mac.bytes.data(), 6);
}

}  // namespace nexnet
