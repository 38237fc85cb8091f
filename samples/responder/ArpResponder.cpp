#include "samples/responder/ArpResponder.h"

#include "framework/IOEthernet.h"
#include "samples/responder/NetworkOrder.h"

#include <net/if_arp.h>
#include <netinet/if_ether.h>

namespace nexnet {

namespace {
// Offsets in the ARP packet (RFC 826), after the 14-byte Ethernet header.
constexpr unsigned kHardwareType = 0, kProtocolType = 2, kHardwareLength = 4, kProtocolLength = 5;
constexpr unsigned kOperation = 6, kSenderMac = 8, kSenderIp = 14, kTargetMac = 18, kTargetIp = 24;
}  // namespace

Verdict ArpResponder::respond(Netbuf& frame, const EthernetAddress& mac, in_addr ip) {
    constexpr unsigned header = IOEthernet::kHeaderSize;
    if (frame.size() < header + kArpSize) return Verdict::drop(DropReason::arpTruncated);
    std::uint8_t* arp = frame.data() + header;
    if (loadBig16(arp + kHardwareType) != ARPHRD_ETHER || loadBig16(arp + kProtocolType) != ETHERTYPE_IP ||
        arp[kHardwareLength] != 6 || arp[kProtocolLength] != 4)
        return Verdict::drop(DropReason::arpFormat);
    if (loadBig16(arp + kOperation) != ARPOP_REQUEST || loadNetwork32(arp + kTargetIp) != ip.s_addr)
        return Verdict::ignore();
    if ((arp[kSenderMac] & 1) != 0) return Verdict::ignore();  // a multicast sender: never answer

    // The reply goes back to the sender: its addresses become the target's, ours the sender's.
    std::memcpy(arp + kTargetMac, arp + kSenderMac, 6);
    std::memcpy(arp + kTargetIp, arp + kSenderIp, 4);
    std::memcpy(arp + kSenderMac, mac.bytes.data(), 6);
    std::memcpy(arp + kSenderIp, &ip.s_addr, 4);
    storeBig16(arp + kOperation, ARPOP_REPLY);
    std::uint8_t* ethernet = frame.data();
    std::memcpy(ethernet, arp + kTargetMac, 6);
    std::memcpy(ethernet + 6, mac.bytes.data(), 6);
    frame.setSize(header + kArpSize);  // drop the requester's padding; the driver pads if it must
    return Verdict::reply();
}

}  // namespace nexnet
