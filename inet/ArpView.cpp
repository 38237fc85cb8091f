#include "inet/ArpView.h"

#include "inet/EthernetView.h"
#include "inet/NetworkOrder.h"

namespace nexnet {

namespace {
// Offsets in the packet (RFC 826, "Packet format").
constexpr unsigned kHardwareType = 0, kProtocolType = 2, kHardwareLength = 4, kProtocolLength = 5;
constexpr unsigned kOperation = 6, kSenderMac = 8, kSenderIp = 14, kTargetMac = 18, kTargetIp = 24;
constexpr std::uint16_t kEthernetHardware = 1;  // ARPHRD_ETHER
}  // namespace

ArpView ArpView::parse(std::span<std::uint8_t> bytes) {
    if (bytes.size() < kSize) return ArpView(HeaderError::arpTruncated);
    const std::uint8_t* arp = bytes.data();
    if (loadBig16(arp + kHardwareType) != kEthernetHardware ||
        loadBig16(arp + kProtocolType) != EthernetView::kTypeIpv4 || arp[kHardwareLength] != 6 ||
        arp[kProtocolLength] != 4)
        return ArpView(HeaderError::arpFormat);
    return ArpView(bytes.first(kSize));
}

std::uint16_t ArpView::operation() const { return loadBig16(header() + kOperation); }
in_addr ArpView::senderIp() const { return in_addr{loadNetwork32(header() + kSenderIp)}; }
in_addr ArpView::targetIp() const { return in_addr{loadNetwork32(header() + kTargetIp)}; }

void ArpView::setOperation(std::uint16_t operation) { storeBig16(header() + kOperation, operation); }

void ArpView::setSender(const EthernetAddress& mac, in_addr ip) {
    std::memcpy(header() + kSenderMac, mac.bytes.data(), 6);
    storeNetwork32(header() + kSenderIp, ip.s_addr);
}

void ArpView::setTarget(const EthernetAddress& mac, in_addr ip) {
    std::memcpy(header() + kTargetMac, mac.bytes.data(), 6);
    storeNetwork32(header() + kTargetIp, ip.s_addr);
}

}  // namespace nexnet
