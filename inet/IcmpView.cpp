#include "inet/IcmpView.h"

#include "inet/NetworkOrder.h"
#include "netbuf/InternetChecksum.h"

namespace nexnet {

IcmpView IcmpView::parse(std::span<std::uint8_t> bytes) {
    if (bytes.size() < kHeaderSize) return IcmpView(HeaderError::icmpTruncated);
    return IcmpView(bytes);
}

bool IcmpView::checksumValid() const { return InternetChecksum::compute(header(), bytes_.size()) == 0; }

void IcmpView::turnEchoIntoReply() {
    std::uint16_t before = loadBig16(header());
    header()[0] = kEchoReply;
    storeBig16(header() + 2, InternetChecksum::update(checksum(), before, loadBig16(header())));
}

}  // namespace nexnet
