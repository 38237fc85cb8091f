#include "samples/responder/IcmpResponder.h"

#include "samples/responder/Checksum.h"
#include "samples/responder/NetworkOrder.h"

namespace nexnet {

namespace {
constexpr unsigned kHeader = 8;        // type, code, checksum, identifier, sequence
constexpr unsigned kChecksumAt = 2;
constexpr std::uint8_t kEchoReply = 0, kEchoRequest = 8;
}  // namespace

Verdict IcmpResponder::respond(Ipv4Packet& packet, const EthernetAddress& mac) {
    if (packet.payloadLength() < kHeader) return Verdict::drop(DropReason::icmpTruncated);
    std::uint8_t* icmp = packet.payload();
    if (Checksum::compute(icmp, packet.payloadLength()) != 0) return Verdict::drop(DropReason::icmpChecksum);
    if (icmp[0] != kEchoRequest || icmp[1] != 0) return Verdict::ignore();

    // Only the type changes (8 -> 0), so the checksum is updated, not recomputed over the
    // whole message (RFC 1624): a 1472-byte ping costs the same as a 64-byte one.
    std::uint16_t before = loadBig16(icmp);
    icmp[0] = kEchoReply;
    storeBig16(icmp + kChecksumAt, Checksum::update(loadBig16(icmp + kChecksumAt), before, loadBig16(icmp)));
    packet.turnAround(mac);
    return Verdict::reply();
}

}  // namespace nexnet
