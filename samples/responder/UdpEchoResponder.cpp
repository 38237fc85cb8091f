#include "samples/responder/UdpEchoResponder.h"

#include "samples/responder/Checksum.h"
#include "samples/responder/NetworkOrder.h"

namespace nexnet {

namespace {
constexpr unsigned kHeader = 8;  // source port, destination port, length, checksum
constexpr unsigned kDestinationPort = 2, kLength = 4, kChecksumAt = 6;
}  // namespace

Verdict UdpEchoResponder::respond(Ipv4Packet& packet, const EthernetAddress& mac) const {
    unsigned length = packet.payloadLength();
    std::uint8_t* udp = packet.payload();
    if (length < kHeader || loadBig16(udp + kLength) != length) return Verdict::drop(DropReason::udpLength);
    if (loadBig16(udp + kDestinationPort) != port_) return Verdict::ignore();
    bool partial = packet.frame().offload().needsChecksum();
    if (loadBig16(udp + kChecksumAt) != 0 && !partial) {  // 0: the sender did not compute one
        Checksum checksum;
        packet.addPseudoHeader(checksum, static_cast<std::uint16_t>(length));
        checksum.add(udp, length);
        if (checksum.value() != 0) return Verdict::drop(DropReason::udpChecksum);
    }
    // Swapping the ports here and the addresses in turnAround leaves every 16-bit word the
    // checksum covers in place, only reordered: one's complement addition does not care, so
    // the checksum (complete or partial) stays right with no arithmetic at all.
    swapBytes(udp, udp + kDestinationPort, 2);
    packet.turnAround(mac);
    return Verdict::reply();
}

}  // namespace nexnet
