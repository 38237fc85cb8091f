#include "inet/UdpView.h"

#include "inet/NetworkOrder.h"

namespace nexnet {

UdpView UdpView::parse(std::span<std::uint8_t> bytes) {
    if (bytes.size() < kHeaderSize) return UdpView(HeaderError::udpTruncated);
    unsigned length = loadBig16(bytes.data() + 4);
    if (length < kHeaderSize || length > bytes.size()) return UdpView(HeaderError::udpLength);
    return UdpView(bytes.first(length));
}

std::uint16_t UdpView::sourcePort() const { return loadBig16(header()); }
std::uint16_t UdpView::destinationPort() const { return loadBig16(header() + 2); }
std::uint16_t UdpView::length() const { return loadBig16(header() + 4); }
std::uint16_t UdpView::checksum() const { return loadBig16(header() + kChecksumOffset); }

}  // namespace nexnet
