// InetStack's output half: routing, ARP resolution, fragmentation, bursts to the interface.
#include "inet/InetStack.h"

#include "framework/IOEthernet.h"
#include "inet/ArpBuilder.h"
#include "inet/ArpView.h"
#include "inet/EthernetBuilder.h"
#include "inet/EthernetView.h"
#include "inet/IcmpBuilder.h"
#include "inet/IcmpView.h"
#include "inet/Ipv4Builder.h"
#include "inet/Ipv4View.h"
#include "inet/NetworkOrder.h"
#include "inet/UdpView.h"
#include "netbuf/NetbufPool.h"
#include "netif/NetworkInterface.h"

#include <arpa/inet.h>
#include <cerrno>

namespace nexnet {

namespace {
// Room every header may take in front of a payload: Ethernet with a VLAN tag, IPv4 with
// options, UDP.
constexpr std::uint32_t kHeaderRoom =
    EthernetView::kHeaderSize + EthernetView::kVlanTagSize + Ipv4View::kMaxHeaderSize + UdpView::kHeaderSize;
constexpr unsigned kMaxFragments = 64;                      // 65535 bytes in 1500-byte frames: 45
constexpr std::uint64_t kKernelReadInterval = 100'000'000;  // at most ten netlink dumps a second

// RFC 1112 section 6.4: 01:00:5e and the low 23 bits of the group.
EthernetAddress multicastMac(in_addr group) {
    std::uint32_t host = ntohl(group.s_addr);
    return EthernetAddress{{0x01, 0x00, 0x5e, static_cast<std::uint8_t>((host >> 16) & 0x7f),
                            static_cast<std::uint8_t>(host >> 8), static_cast<std::uint8_t>(host)}};
}
}  // namespace

Netbuf* InetStack::allocate(std::uint32_t payloadBytes) {
    if (Netbuf* nb = ethernet_.allocateNetbuf()) {
        if (nb->headroom() >= kHeaderRoom && nb->tailroom() >= payloadBytes) return nb;
        nb->free();
    }
    if (payloadBytes > Ipv4Reassembly::kMaxDatagram - Ipv4View::kMinHeaderSize - UdpView::kHeaderSize) return nullptr;
    return reassembly_->allocateLarge();
}

int InetStack::route(in_addr destination, in_addr& nextHop, bool& broadcast) const {
    broadcast = isBroadcast(destination);
    nextHop = destination;
    if (broadcast || (ntohl(destination.s_addr) >> 28) == 0xe) return 0;
    std::uint32_t mask = interface_.netmask().s_addr;
    if ((destination.s_addr & mask) == (address().s_addr & mask)) return 0;  // on the subnet
    if (options_.gateway.s_addr == INADDR_ANY) return ENETUNREACH;
    nextHop = options_.gateway;
    return 0;
}

unsigned InetStack::sendIpv4(Netbuf** packets, unsigned count) {
    Burst burst;
    burst.now = now();
    unsigned taken = 0;
    for (unsigned i = 0; i < count; ++i) taken += output(packets[i], burst) == 0 ? 1 : 0;
    flush(burst);
    return taken;
}

int InetStack::sendIpv4(Netbuf* packet) {
    Burst burst;
    burst.now = now();
    int error = output(packet, burst);
    flush(burst);
    return error;
}

int InetStack::output(Netbuf* packet, Burst& burst) {
    in_addr destination{loadNetwork32(packet->data() + 16)};
    in_addr nextHop{};
    bool broadcast = false;
    if (route(destination, nextHop, broadcast) != 0) {
        drop(packet, InetDrop::noRoute);
        return ENETUNREACH;
    }
    if (packet->size() <= interface_.mtu()) return resolveAndQueue(packet, nextHop, broadcast, burst);
    // A device finishes the checksum of the frame it sends: of one fragment, not of the datagram.
    Netbuf* fragments[kMaxFragments];
    unsigned n = finishPartialChecksum(*packet) == 0 ? fragment(packet, fragments, kMaxFragments) : 0;
    if (n == 0) {
        drop(packet, InetDrop::noBuffer);
        return ENOBUFS;
    }
    packet->free();
    int error = 0;
    for (unsigned i = 0; i < n; ++i) {
        if (int e = resolveAndQueue(fragments[i], nextHop, broadcast, burst)) error = e;
    }
    return error;
}

unsigned InetStack::fragment(Netbuf* datagram, Netbuf** out, unsigned max) {
    // RFC 791 section 3.2, "an example fragmentation procedure". Every option is copied into
    // every fragment (nexnet sends none but the echo of a request's).
    Ipv4View ip = Ipv4View::parse({datagram->data(), datagram->size()});
    if (!ip) return 0;
    unsigned headerLength = ip.headerLength();
    auto payload = ip.payload();
    unsigned chunk = (interface_.mtu() - headerLength) & ~7u;
    std::uint16_t flags = loadBig16(ip.header() + 6) & 0x8000;  // the reserved bit stays; DF goes
    unsigned n = 0;
    for (std::size_t offset = 0; offset < payload.size(); offset += chunk) {
        std::uint32_t length =
            static_cast<std::uint32_t>(payload.size() - offset < chunk ? payload.size() - offset : chunk);
        Netbuf* piece = n < max ? ethernet_.allocateNetbuf() : nullptr;
        if (piece == nullptr || piece->append(payload.data() + offset, length) != 0 ||
            piece->growTop(headerLength) != 0) {
            if (piece != nullptr) piece->free();
            NetbufPool::freeToOwners(out, n);
            return 0;
        }
        std::uint8_t* header = piece->data();
        std::memcpy(header, ip.header(), headerLength);
        storeBig16(header + 2, static_cast<std::uint16_t>(headerLength + length));
        bool more = offset + length < payload.size();
        storeBig16(header + 6, static_cast<std::uint16_t>(flags | (more ? 0x2000 : 0) | offset / 8));
        Ipv4View::parse({header, piece->size()}).updateHeaderChecksum();
        out[n++] = piece;
    }
    statistics_.fragmentsSent += n;
    return n;
}

int InetStack::resolveAndQueue(Netbuf* packet, in_addr nextHop, bool broadcast, Burst& burst) {
    EthernetAddress to = EthernetAddress::broadcast();
    if (!broadcast && (ntohl(nextHop.s_addr) >> 28) == 0xe) {
        to = multicastMac(nextHop);
    } else if (!broadcast) {
        const EthernetAddress* known = arp_.lookup(nextHop, burst.now);
        if (known == nullptr && besideBridge() && burst.now - lastKernelRead_ >= kKernelReadInterval) {
            lastKernelRead_ = burst.now;            // the kernel may know it: it owns ARP here
            (void)loadKernelNeighbours(burst.now);  // learned at the burst's time, as looked up:
                                                    // a later clock read would seem expired to it
            known = arp_.lookup(nextHop, burst.now);
        }
        if (known == nullptr) {
            switch (arp_.wait(nextHop, packet, burst.now)) {
            case ArpCache::Wait::sendRequest:
                sendArpRequest(nextHop, &burst);
                return 0;
            case ArpCache::Wait::queued:
                return 0;
            case ArpCache::Wait::full:
            case ArpCache::Wait::tableFull:
                drop(packet, InetDrop::arpQueueFull);
                return ENOBUFS;
            }
        }
        to = *known;
    }
    if (EthernetBuilder::push(*packet, to, ethernetAddress(), EthernetView::kTypeIpv4) != 0) {
        drop(packet, InetDrop::noBuffer);
        return ENOBUFS;
    }
    queue(packet, burst);
    return 0;
}

void InetStack::queue(Netbuf* frame, Burst& burst) {
    burst.out[burst.count++] = frame;
    if (burst.count == Burst::kMax) flush(burst);
}

void InetStack::flush(Burst& burst) {
    if (burst.count == 0) return;
    unsigned accepted = interface_.outputBurst(burst.out, burst.count);  // frees what it cannot take
    statistics_.transmitted += accepted;
    statistics_.count(InetDrop::transmit, burst.count - accepted);
    burst.count = 0;
}

void InetStack::turnAround(Netbuf* frame, const EthernetAddress& to) {
    EthernetView ethernet = EthernetView::parse(*frame);
    ethernet.setDestination(to);
    ethernet.setSource(ethernetAddress());
}

void InetStack::sendArpRequest(in_addr target, Burst* burst) {
    Netbuf* request = ethernet_.allocateNetbuf();
    if (request == nullptr) return statistics_.count(InetDrop::noBuffer);
    const EthernetAddress& own = ethernetAddress();
    if (ArpBuilder::push(*request, ArpView::kRequest, own, address(), EthernetAddress{}, target) != 0 ||
        EthernetBuilder::push(*request, EthernetAddress::broadcast(), own, EthernetView::kTypeArp) != 0)
        return drop(request, InetDrop::noBuffer);
    statistics_.arpRequestsSent++;
    if (burst != nullptr) return queue(request, *burst);
    if (interface_.outputBurst(&request, 1) == 1) statistics_.transmitted++;
    else statistics_.count(InetDrop::transmit);
}

void InetStack::announceAddress() {
    announced_ = address();
    if (besideBridge() || announced_.s_addr == INADDR_ANY) return;
    // Gratuitous ARP (RFC 5227 section 3, an ARP announcement): a request for our own address.
    Netbuf* announcement = ethernet_.allocateNetbuf();
    if (announcement == nullptr) return statistics_.count(InetDrop::noBuffer);
    const EthernetAddress& own = ethernetAddress();
    if (ArpBuilder::push(*announcement, ArpView::kRequest, own, announced_, EthernetAddress{}, announced_) != 0 ||
        EthernetBuilder::push(*announcement, EthernetAddress::broadcast(), own, EthernetView::kTypeArp) != 0)
        return drop(announcement, InetDrop::noBuffer);
    statistics_.gratuitousArpSent++;
    if (interface_.outputBurst(&announcement, 1) == 1) statistics_.transmitted++;
    else statistics_.count(InetDrop::transmit);
}

int InetStack::sendEchoRequest(in_addr destination, std::uint16_t identifier, std::uint16_t sequence,
                               unsigned payloadBytes) {
    Netbuf* echo = allocate(payloadBytes);
    if (echo == nullptr) return ENOBUFS;
    if (echo->growBottom(payloadBytes) != 0) {
        echo->free();
        return EMSGSIZE;
    }
    for (unsigned i = 0; i < payloadBytes; ++i) echo->data()[i] = static_cast<std::uint8_t>(i);
    Ipv4Builder::Fields ip{address(), destination, Ipv4View::kIcmp, options_.ttl};
    ip.identification = nextIdentification_++;
    ip.dontFragment = false;
    if (IcmpBuilder::push(*echo, IcmpView::kEchoRequest, 0, identifier, sequence) != 0 ||
        Ipv4Builder::push(*echo, ip) != 0) {
        echo->free();
        return EMSGSIZE;
    }
    statistics_.echoRequestsSent++;
    return sendIpv4(echo);
}

}  // namespace nexnet
