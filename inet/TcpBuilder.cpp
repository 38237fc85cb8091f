#include "inet/TcpBuilder.h"

#include "inet/HeaderPush.h"
#include "inet/Ipv4View.h"
#include "inet/NetworkOrder.h"
#include "inet/TcpView.h"

#include <cerrno>

namespace nexnet {

int TcpBuilder::push(Netbuf& packet, const Segment& segment, in_addr source, in_addr destination, ChecksumMode mode) {
    unsigned length = TcpView::kMinHeaderSize + segment.options.encodedLength();
    if (packet.size() + length + Ipv4View::kMinHeaderSize > 0xffff) return EMSGSIZE;
    std::uint8_t* tcp = pushHeader(packet, length);
    if (tcp == nullptr) return ERANGE;
    storeBig16(tcp, segment.sourcePort);
    storeBig16(tcp + 2, segment.destinationPort);
    storeBig32(tcp + 4, segment.sequence);
    storeBig32(tcp + 8, segment.acknowledgment);
    tcp[12] = static_cast<std::uint8_t>((length / 4) << 4);
    tcp[13] = segment.flags;
    storeBig16(tcp + 14, segment.window);
    storeBig16(tcp + 18, segment.urgentPointer);
    segment.options.write(tcp + TcpView::kMinHeaderSize);
    if (mode == ChecksumMode::none) mode = ChecksumMode::software;
    TransportChecksum::fill(packet, std::span<std::uint8_t>(tcp, packet.size()), TcpView::kChecksumOffset,
                            Ipv4View::kTcp, source, destination, mode);
    return 0;
}

}  // namespace nexnet
