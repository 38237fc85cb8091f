#include "inet/UdpView.h"

#include "inet/NetworkOrder.h"

namespace nexnet {

UdpView UdpView::parse(std::span<std::uint8_t> bytes) {
    if (bytes.size() < kHeaderSize) return UdpView(HeaderError::udpTruncated);
    unsigned length = loadBig16(bytes.data() + 4);
    if (length < kHeaderSize || length > bytes.size()) return UdpView(HeaderError::udpLength);
    return UdpView(bytes.first(length));
}

}  // namespace nexnet
