#include "inet/TransportChecksum.h"

#include "inet/Ipv4View.h"
#include "inet/NetworkOrder.h"
#include "inet/UdpView.h"
#include "netbuf/Netbuf.h"

namespace nexnet {

TransportChecksum::Status TransportChecksum::check(const Ipv4View& ip, std::span<const std::uint8_t> segment,
                                                   unsigned checksumOffset, const NetbufOffload& offload) {
    if (offload.checksumVerified()) return Status::verified;
    if (offload.needsChecksum()) return Status::partial;
    if (checksumOffset == UdpView::kChecksumOffset && ip.protocol() == Ipv4View::kUdp &&
        loadBig16(segment.data() + checksumOffset) == 0)
        return Status::absent;
    InternetChecksum sum = InternetChecksum::pseudoHeader(ip.source().s_addr, ip.destination().s_addr, ip.protocol(),
                                                          static_cast<std::uint16_t>(segment.size()));
    sum.add(segment.data(), segment.size());
    return sum.value() == 0 ? Status::good : Status::bad;
}

void TransportChecksum::fill(Netbuf& packet, std::span<std::uint8_t> segment, unsigned checksumOffset,
                             std::uint8_t protocol, in_addr source, in_addr destination, ChecksumMode mode) {
    std::uint8_t* field = segment.data() + checksumOffset;
    if (mode == ChecksumMode::none) {
        storeBig16(field, 0);
        return;
    }
    InternetChecksum sum = InternetChecksum::pseudoHeader(source.s_addr, destination.s_addr, protocol,
                                                          static_cast<std::uint16_t>(segment.size()));
    if (mode == ChecksumMode::offload) {
        // virtio 1.2 section 5.1.6.2: the field holds the pseudo-header sum, the device the rest.
        storeBig16(field, sum.folded());
        NetbufOffload& offload = packet.offload();
        offload.flags = static_cast<std::uint8_t>(offload.flags | NetbufOffload::kNeedsChecksum);
        offload.csumStart = static_cast<std::uint16_t>(segment.data() - packet.data());
        offload.csumOffset = static_cast<std::uint16_t>(checksumOffset);
        return;
    }
    storeBig16(field, 0);
    std::uint16_t value = sum.add(segment.data(), segment.size()).value();
    if (value == 0 && protocol == Ipv4View::kUdp) value = 0xffff;  // RFC 768: a computed 0 is sent as all ones
    storeBig16(field, value);
}

}  // namespace nexnet
