#include "inet/IcmpBuilder.h"

#include "inet/HeaderPush.h"
#include "inet/IcmpView.h"
#include "inet/NetworkOrder.h"
#include "netbuf/InternetChecksum.h"

#include <cerrno>

namespace nexnet {

int IcmpBuilder::push(Netbuf& packet, std::uint8_t type, std::uint8_t code, std::uint16_t first, std::uint16_t second) {
    std::uint8_t* icmp = pushHeader(packet, IcmpView::kHeaderSize);
    if (icmp == nullptr) return ERANGE;
    icmp[0] = type;
    icmp[1] = code;
    storeBig16(icmp + 2, 0);
    storeBig16(icmp + 4, first);
    storeBig16(icmp + 6, second);
    storeBig16(icmp + 2, InternetChecksum::compute(icmp, packet.size()));
    return 0;
}

}  // namespace nexnet
