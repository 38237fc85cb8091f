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

std::uint16_t TcpView::sourcePort() const { return loadBig16(header()); }
std::uint16_t TcpView::destinationPort() const { return loadBig16(header() + 2); }
std::uint32_t TcpView::sequence() const { return loadBig32(header() + 4); }
std::uint32_t TcpView::acknowledgment() const { return loadBig32(header() + 8); }
std::uint16_t TcpView::window() const { return loadBig16(header() + 14); }
std::uint16_t TcpView::checksum() const { return loadBig16(header() + kChecksumOffset); }
std::uint16_t TcpView::urgentPointer() const { return loadBig16(header() + 18); }

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
