#include "inet/EthernetView.h"

#include "inet/NetworkOrder.h"
#include "netbuf/Netbuf.h"

namespace nexnet {

EthernetView EthernetView::parse(std::span<std::uint8_t> frame) {
    if (frame.size() < kHeaderSize) return EthernetView(HeaderError::ethernetTruncated);
    unsigned length = kHeaderSize;
    std::uint16_t type = loadBig16(frame.data() + 12);
    // An 802.1ad service tag may carry an 802.1Q customer tag (IEEE 802.1Q-2018 section 9.5).
    for (unsigned tags = 0; tags < 2 && (type == kTypeVlan || (type == kTypeQinQ && tags == 0)); ++tags) {
        if (frame.size() < length + kVlanTagSize) return EthernetView(HeaderError::ethernetTruncated);
        type = loadBig16(frame.data() + length + 2);
        length += kVlanTagSize;
    }
    return EthernetView(frame, length, type);
}

EthernetView EthernetView::parse(Netbuf& frame) { return parse(std::span<std::uint8_t>(frame.data(), frame.size())); }

std::uint16_t EthernetView::vlanId() const {
    if (headerLength_ == kHeaderSize) return 0;
    return loadBig16(header() + headerLength_ - 4) & 0x0fff;  // TCI of the innermost tag
}

void EthernetView::setDestination(const EthernetAddress& address) { std::memcpy(header(), address.bytes.data(), 6); }

void EthernetView::setSource(const EthernetAddress& address) { std::memcpy(header() + 6, address.bytes.data(), 6); }

}  // namespace nexnet
