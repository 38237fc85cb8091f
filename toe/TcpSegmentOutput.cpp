#include "toe/TcpSegmentOutput.h"

#include "inet/InetStack.h"
#include "inet/Ipv4Builder.h"
#include "inet/Ipv4View.h"
#include "netbuf/Netbuf.h"
#include "toe/TcpSendQueue.h"

#include <cerrno>

namespace nexnet {

namespace {
// Room in front of an empty netbuf for Ethernet with a VLAN tag, IPv4 and TCP with 40 bytes of options.
constexpr std::uint32_t kHeadroom = 128;
}  // namespace

int TcpSegmentOutput::send(const TcpBuilder::Segment& segment, in_addr source, in_addr destination) {
    static const TcpSendQueue none{0};
    return send(segment, source, destination, none, 0);
}

int TcpSegmentOutput::send(const TcpBuilder::Segment& segment, in_addr source, in_addr destination,
                           const TcpSendQueue& payload, std::uint32_t length) {
    Netbuf* packet = stack_.allocate(length);
    if (packet == nullptr) return ENOBUFS;
    if (packet->reset(kHeadroom) != 0 || packet->setSize(length) != 0 ||
        payload.copy(segment.sequence, packet->data(), length) != length) {
        packet->free();
        return ENOBUFS;
    }
    // The device finishes the checksum when it can (a header-only segment is cheap either way).
    ChecksumMode mode = length > 0 && stack_.transmitChecksum() == ChecksumMode::offload ? ChecksumMode::offload
                                                                                         : ChecksumMode::software;
    Ipv4Builder::Fields ip;
    ip.source = source;
    ip.destination = destination;
    ip.protocol = Ipv4View::kTcp;
    ip.ttl = stack_.ttl();
    ip.identification = identification_++;
    if (int error = TcpBuilder::push(*packet, segment, source, destination, mode); error != 0) {
        packet->free();
        return error;
    }
    if (int error = Ipv4Builder::push(*packet, ip); error != 0) {
        packet->free();
        return error;
    }
    if (count_ == kBurst) flush();
    pending_[count_++] = packet;
    return 0;
}

void TcpSegmentOutput::flush() {
    if (count_ == 0) return;
    stack_.sendIpv4(pending_, count_);
    count_ = 0;
}

}  // namespace nexnet
