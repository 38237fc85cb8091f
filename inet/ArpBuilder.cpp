#include "inet/ArpBuilder.h"

#include "inet/ArpView.h"
#include "inet/EthernetView.h"
#include "inet/HeaderPush.h"
#include "inet/NetworkOrder.h"

#include <cerrno>

namespace nexnet {

int ArpBuilder::push(Netbuf& packet, std::uint16_t operation, const EthernetAddress& senderMac, in_addr senderIp,
                     const EthernetAddress& targetMac, in_addr targetIp) {
    std::uint8_t* at = pushHeader(packet, ArpView::kSize);
    if (at == nullptr) return ERANGE;
    storeBig16(at, 1);  // ARPHRD_ETHER
    storeBig16(at + 2, EthernetView::kTypeIpv4);
    at[4] = 6;
    at[5] = 4;
    ArpView arp = ArpView::parse(std::span<std::uint8_t>(at, ArpView::kSize));
    arp.setOperation(operation);
    arp.setSender(senderMac, senderIp);
    arp.setTarget(targetMac, targetIp);
    return 0;
}

}  // namespace nexnet
