#include "inet/TcpView.h"

#include "inet/NetworkOrder.h"

namespace nexnet {

TcpView TcpView::parse(std::span<std::uint8_t> bytes) {
    if (bytes.size() < kMinHeaderSize) return TcpView(HeaderError::tcpTruncated);
    unsigned headerLength = static_cast<unsigned>(bytes[12] >> 4) * 4;
    if (headerLength < kMinHeaderSize || headerLength > bytes.size()) return TcpView(HeaderError::tcpDataOffset);
    TcpOptions scratch;
    if (!scratch.read(bytes.data() + kMinHeaderSize, headerLength - kMinHeaderSize))
        return TcpView(HeaderError::tcpOptions);
    return TcpView(bytes);
}

TcpOptions TcpView::options() const {
    TcpOptions options;
    options.read(header() + kMinHeaderSize, headerLength() - kMinHeaderSize);
    return options;
}

std::uint32_t TcpView::sequenceLength() const {
    return static_cast<std::uint32_t>(payload().size()) + (has(kSyn) ? 1 : 0) + (has(kFin) ? 1 : 0);
}

void TcpView::setAcknowledgment(std::uint32_t acknowledgment) { storeBig32(header() + 8, acknowledgment); }
void TcpView::setWindow(std::uint16_t window) { storeBig16(header() + 14, window); }

}  // namespace nexnet
