#include "inet/UdpBuilder.h"

#include "inet/HeaderPush.h"
#include "inet/Ipv4View.h"
#include "inet/NetworkOrder.h"
#include "inet/UdpView.h"

#include <cerrno>

namespace nexnet {

int UdpBuilder::push(Netbuf& packet, std::uint16_t sourcePort, std::uint16_t destinationPort, in_addr source,
                     in_addr destination, ChecksumMode mode) {
    // The IPv4 header's 20 bytes must fit in the total length too.
    if (packet.size() + UdpView::kHeaderSize + Ipv4View::kMinHeaderSize > 0xffff) return EMSGSIZE;
    std::uint8_t* udp = pushHeader(packet, UdpView::kHeaderSize);
    if (udp == nullptr) return ERANGE;
    storeBig16(udp, sourcePort);
    storeBig16(udp + 2, destinationPort);
    storeBig16(udp + 4, static_cast<std::uint16_t>(packet.size()));
    TransportChecksum::fill(packet, std::span<std::uint8_t>(udp, packet.size()), UdpView::kChecksumOffset,
                            Ipv4View::kUdp, source, destination, mode);
    return 0;
}

}  // namespace nexnet
