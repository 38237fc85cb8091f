#include "inet/EthernetBuilder.h"

#include "inet/EthernetView.h"
#include "inet/HeaderPush.h"
#include "inet/NetworkOrder.h"

#include <cerrno>

namespace nexnet {

int EthernetBuilder::push(Netbuf& packet, const EthernetAddress& destination, const EthernetAddress& source,
                          std::uint16_t type, std::uint16_t vlanTci) {
    unsigned length = EthernetView::kHeaderSize + (vlanTci != 0 ? EthernetView::kVlanTagSize : 0);
    std::uint8_t* at = pushHeader(packet, length);
    if (at == nullptr) return ERANGE;
    std::memcpy(at, destination.bytes.data(), 6);
    std::memcpy(at + 6, source.bytes.data(), 6);
    if (vlanTci != 0) {
        storeBig16(at + 12, EthernetView::kTypeVlan);
        storeBig16(at + 14, vlanTci);
        at += EthernetView::kVlanTagSize;
    }
    storeBig16(at + 12, type);
    return 0;
}

}  // namespace nexnet
