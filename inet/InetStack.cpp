#include "inet/InetStack.h"

#include "framework/EventLoop.h"
#include "framework/IOEthernet.h"
#include "inet/ArpView.h"
#include "inet/EthernetView.h"
#include "inet/IcmpBuilder.h"
#include "inet/IcmpView.h"
#include "inet/Ipv4Builder.h"
#include "inet/Ipv4Protocol.h"
#include "inet/Ipv4View.h"
#include "inet/KernelNeighbours.h"
#include "inet/NetworkOrder.h"
#include "inet/UdpEndpoint.h"
#include "inet/UdpView.h"
#include "netif/HostStackBridge.h"
#include "netif/NetworkInterface.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <time.h>

namespace nexnet {

namespace {
constexpr std::uint64_t kTickInterval = 100'000'000;  // 100 ms: timers run at least this often

}  // namespace

InetStack::InetStack(NetworkInterface& interface, IOEthernet& ethernet, const Options& options)
    : interface_(interface), ethernet_(ethernet), options_(options), arp_(options.arp) {}

Result<std::unique_ptr<InetStack>> InetStack::create(NetworkInterface& interface, const Options& options) {
    using R = Result<std::unique_ptr<InetStack>>;
    auto* ethernet = dynamic_cast<IOEthernet*>(&interface.driver());
    if (ethernet == nullptr) return R::failure(EPROTONOSUPPORT);
    auto reassembly = Ipv4Reassembly::create(options.reassembly);
    if (!reassembly) return R::failure(reassembly.error());
    // Its tables, queues and endpoints are unshared: one thread, the interface's (see the header).
    if (Status claimed = interface.claimSingleThread("InetStack"); !claimed)
        return R::failure(claimed.error(), claimed.message());
    std::unique_ptr<InetStack> stack(new InetStack(interface, *ethernet, options));
    stack->reassembly_ = std::move(reassembly.value());
    // Beside a bridge the kernel announced the address; otherwise the first burst or tick does.
    if (stack->besideBridge()) stack->announced_ = interface.address();
    interface.addInputConsumer(stack.get(), options.priority);
    return stack;
}

InetStack::~InetStack() {
    detach();
    interface_.removeInputConsumer(this);
    interface_.releaseSingleThread("InetStack");
}

// ---- configuration ---------------------------------------------------------------------------

in_addr InetStack::address() const { return interface_.address(); }

const EthernetAddress& InetStack::ethernetAddress() const { return ethernet_.hardwareAddress(); }

int InetStack::setAddress(in_addr address, in_addr netmask) {
    if (int error = interface_.setAddress(address, netmask)) return error;
    if (!besideBridge()) announceAddress();
    else announced_ = address;
    return 0;
}

int InetStack::setGateway(in_addr gateway) {
    std::uint32_t mask = interface_.netmask().s_addr;
    if (gateway.s_addr != INADDR_ANY && (gateway.s_addr & mask) != (address().s_addr & mask)) return EINVAL;
    options_.gateway = gateway;
    return 0;
}

std::uint64_t InetStack::now() const {
    if (options_.clock) return options_.clock();
    timespec time{};
    clock_gettime(CLOCK_MONOTONIC, &time);  // vDSO: no system call
    return static_cast<std::uint64_t>(time.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(time.tv_nsec);
}

int InetStack::attach(EventLoop& loop) {
    detach();
    auto timer = loop.addTimer(
        std::chrono::milliseconds(100), [this] { tick(); }, true);
    if (!timer) return timer.error();
    loop_ = &loop;
    timer_ = timer.value();
    return 0;
}

void InetStack::detach() {
    if (loop_ != nullptr) loop_->cancelTimer(timer_);
    loop_ = nullptr;
}

void InetStack::tick() { runTimers(now()); }

void InetStack::runTimers(std::uint64_t time) {
    lastTick_ = time;
    if (address().s_addr != announced_.s_addr) announceAddress();
    unsigned unresolved = arp_.expire(time, [this](in_addr target) { sendArpRequest(target, nullptr); });
    statistics_.count(InetDrop::arpUnresolved, unresolved);
    statistics_.count(InetDrop::reassemblyTimeout, reassembly_->expire(time));
}

Result<unsigned> InetStack::loadKernelNeighbours() { return loadKernelNeighbours(now()); }

Result<unsigned> InetStack::loadKernelNeighbours(std::uint64_t time) {
    if (!besideBridge()) return Result<unsigned>::failure(ENXIO);
    auto table =
        KernelNeighbours::read(options_.bridge != nullptr ? options_.bridge->hostName() : options_.kernelInterface);
    if (!table) return Result<unsigned>::failure(table.error());
    unsigned learned = 0;
    for (const auto& neighbour : table.value())
        learned += arp_.learn(neighbour.address, neighbour.mac, time, true) ? 1 : 0;
    return learned;
}

// ---- addresses -------------------------------------------------------------------------------

bool InetStack::isOurAddress(in_addr address) const {
    return address.s_addr != INADDR_ANY && address.s_addr == interface_.address().s_addr;
}

bool InetStack::isBroadcast(in_addr address) const {
    if (address.s_addr == INADDR_BROADCAST) return true;
    std::uint32_t mask = interface_.netmask().s_addr;
    if (mask == 0 || mask == INADDR_BROADCAST || interface_.address().s_addr == INADDR_ANY) return false;
    return (address.s_addr & mask) == (interface_.address().s_addr & mask) && (address.s_addr & ~mask) == ~mask;
}

bool InetStack::isUnicastPeer(in_addr address) const {
    std::uint32_t host = ntohl(address.s_addr);
    // RFC 1122 section 3.2.1.3 and 3.2.2: never answer 0/8, loopback, class D/E or broadcasts.
    if ((host >> 24) == 0 || (host >> 24) == 127 || (host >> 28) >= 0xe) return false;
    return !isBroadcast(address) && !isOurAddress(address);
}

// ---- input -----------------------------------------------------------------------------------

void InetStack::drop(Netbuf* packet, InetDrop why) {
    statistics_.count(why);
    packet->free();
}

void InetStack::drop(Netbuf* packet, HeaderError why) {
    statistics_.count(why);
    packet->free();
}

void InetStack::consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) {
    Burst burst;
    burst.now = now();
    if (burst.now - lastTick_ >= kTickInterval) runTimers(burst.now);
    for (unsigned i = 0; i < count; ++i) {
        if (packets[i] == nullptr) continue;
        if (input(packets[i], burst)) {
            statistics_.received++;
            packets[i] = nullptr;
        }
    }
    finishBurst(burst);
}

void InetStack::finishBurst(Burst& burst) {
    flush(burst);
    for (unsigned i = 0; i < burst.touchedCount; ++i) burst.touched[i]->signal();
    burst.touchedCount = 0;
    for (unsigned i = 0; i < burst.handlerCount; ++i) burst.handlers[i]->finishInput();
    burst.handlerCount = 0;
}

bool InetStack::claims(Netbuf* frame) const {
    // Beside a bridge: a whole (not fragmented) UDP datagram for a bound port, or what a
    // protocol handler claims; nothing else.
    EthernetView ethernet = EthernetView::parse(*frame);
    Ipv4View ip = Ipv4View::parse(ethernet.payload());
    if (!ip || ip.isFragment()) return false;
    if (!isOurAddress(ip.destination()) && !isBroadcast(ip.destination())) return false;
    if (ip.protocol() != Ipv4View::kUdp)
        return protocols_[ip.protocol()] != nullptr && protocols_[ip.protocol()]->claims(ip);
    UdpView udp = UdpView::parse(ip.payload());
    if (!udp || ports_.empty()) return false;
    UdpEndpoint* endpoint = ports_[udp.destinationPort()];
    return endpoint != nullptr && endpoint->accepts(ip.source(), udp.sourcePort(), ip.destination());
}

bool InetStack::input(Netbuf* frame, Burst& burst) {
    EthernetView ethernet = EthernetView::parse(*frame);
    if (!ethernet) {
        if (besideBridge()) return false;  // the kernel's to count
        drop(frame, ethernet.error());
        return true;
    }
    if (ethernet.vlanTags() != 0) return false;  // a VLAN is another interface's
    // Addresses compared in place: building EthernetAddress values byte by byte and reading them
    // back wider stalled store forwarding, a third of this function's time (perf, null: bench).
    const std::uint8_t* destination = ethernet.header();
    const std::uint8_t* own = ethernetAddress().bytes.data();
    if (std::memcmp(destination, own, 6) != 0 && (destination[0] & 1) == 0) return false;  // another station's
    std::uint16_t type = ethernet.etherType();
    if (type != EthernetView::kTypeArp && type != EthernetView::kTypeIpv4) return false;
    if (besideBridge()) {
        if (type == EthernetView::kTypeArp) {
            arpInput(frame, ethernet.payload(), burst);  // learns, leaves the frame to the kernel
            return false;
        }
        if (!claims(frame)) return false;
    }
    const std::uint8_t* source = destination + 6;
    static constexpr std::uint8_t kZero[6] = {};
    if ((source[0] & 1) != 0 || std::memcmp(source, kZero, 6) == 0 || std::memcmp(source, own, 6) == 0) {
        drop(frame, InetDrop::ethernetSource);  // a reply would go to a group, nowhere, or ourselves
        return true;
    }
    if (type == EthernetView::kTypeArp) return arpInput(frame, ethernet.payload(), burst);
    ipInput(frame, ethernet.headerLength(), burst);
    return true;
}

bool InetStack::arpInput(Netbuf* frame, std::span<std::uint8_t> bytes, Burst& burst) {
    bool answer = !besideBridge();  // beside a bridge: learn, never answer (the kernel does)
    ArpView arp = ArpView::parse(bytes);
    if (!arp) {
        if (answer) drop(frame, arp.error());
        return answer;
    }
    in_addr sender = arp.senderIp();
    in_addr ours = address();
    EthernetAddress senderMac = arp.senderMac();
    if (isOurAddress(sender)) {
        if (answer) drop(frame, InetDrop::arpConflict);  // someone else claims our address
        return answer;
    }
    bool probe = sender.s_addr == INADDR_ANY;  // RFC 5227 probe: answered, not learned
    if (senderMac.isMulticast() || senderMac.isZero() || (!probe && !isUnicastPeer(sender))) {
        if (answer) drop(frame, InetDrop::arpSender);
        return answer;
    }
    bool forUs = isOurAddress(arp.targetIp());
    // RFC 826 "merge": refresh an entry we have (or asked for); make one only for a request to
    // us, as Linux does without arp_accept: an unsolicited reply cannot plant an entry.
    bool create = forUs && arp.operation() == ArpView::kRequest;
    if (!probe && arp_.learn(sender, senderMac, burst.now, create)) {
        statistics_.arpLearned++;
        Netbuf* waiting[Burst::kMax];
        unsigned n = arp_.takePending(sender, waiting, Burst::kMax);
        for (unsigned i = 0; i < n; ++i) resolveAndQueue(waiting[i], sender, false, burst);
    }
    if (!answer) return false;
    if (!forUs || arp.operation() != ArpView::kRequest) {
        statistics_.ignored++;
        frame->free();
        return true;
    }
    arp.setOperation(ArpView::kReply);
    arp.setTarget(senderMac, sender);
    arp.setSender(ethernetAddress(), ours);
    frame->setSize(static_cast<std::uint32_t>(arp.header() - frame->data()) + ArpView::kSize);  // no padding
    turnAround(frame, senderMac);
    statistics_.arpAnswered++;
    queue(frame, burst);
    return true;
}

void InetStack::ipInput(Netbuf* frame, unsigned linkHeader, Burst& burst) {
    Ipv4View ip = Ipv4View::parse({frame->data() + linkHeader, frame->size() - linkHeader});
    if (!ip) return drop(frame, ip.error());
    if (!frame->offload().checksumVerified() && !ip.headerChecksumValid()) return drop(frame, InetDrop::ipChecksum);
    if (ip.ttl() == 0) return drop(frame, InetDrop::ipTtl);
    frame->setSize(linkHeader + ip.totalLength());  // what followed was link padding
    in_addr destination = ip.destination();
    bool broadcast = isBroadcast(destination);
    if (!isOurAddress(destination) && !broadcast) {
        statistics_.ignored++;  // a host does not forward (RFC 1122 section 3.3.1)
        frame->free();
        return;
    }
    in_addr source = ip.source();
    if (source.s_addr != INADDR_ANY && !isUnicastPeer(source)) return drop(frame, InetDrop::ipSource);
    if (!ip.isFragment()) return deliver(frame, ip, broadcast, burst);
    InetDrop why = InetDrop::count;
    Netbuf* whole = reassembly_->add(ip, burst.now, why);
    if (why != InetDrop::count) statistics_.count(why);
    frame->free();
    if (whole == nullptr) return;
    statistics_.reassembled++;
    deliver(whole, Ipv4View::parse({whole->data(), whole->size()}), broadcast, burst);
}

void InetStack::deliver(Netbuf* packet, const Ipv4View& ip, bool broadcast, Burst& burst) {
    switch (ip.protocol()) {
    case Ipv4View::kIcmp:
        return icmpInput(packet, ip, broadcast, burst);
    case Ipv4View::kUdp:
        return udpInput(packet, ip, broadcast, burst);
    default:
        if (Ipv4Protocol* handler = protocols_[ip.protocol()]) {
            bool known = false;
            for (unsigned i = 0; i < burst.handlerCount; ++i) known = known || burst.handlers[i] == handler;
            if (!known && burst.handlerCount < std::size(burst.handlers))
                burst.handlers[burst.handlerCount++] = handler;
            return handler->input(packet, ip);
        }
        return drop(packet, InetDrop::ipProtocol);
    }
}

int InetStack::setProtocol(std::uint8_t protocol, Ipv4Protocol* handler) {
    if (protocol == Ipv4View::kIcmp || protocol == Ipv4View::kUdp) return EINVAL;
    protocols_[protocol] = handler;
    return 0;
}

void InetStack::icmpInput(Netbuf* packet, const Ipv4View& ip, bool broadcast, Burst& burst) {
    IcmpView icmp = IcmpView::parse(ip.payload());
    if (!icmp) return drop(packet, icmp.error());
    if (!packet->offload().checksumVerified() && !icmp.checksumValid()) return drop(packet, InetDrop::icmpChecksum);
    switch (icmp.type()) {
    case IcmpView::kEchoRequest: {
        // Never to a broadcast (RFC 1122 3.2.2.6 allows silence), never back to an address that is
        // not a unicast peer: a reply there would be a loop or an amplifier.
        if (broadcast || !isUnicastPeer(ip.source()) || icmp.code() != 0) return drop(packet, InetDrop::icmpRefused);
        icmp.turnEchoIntoReply();
        Ipv4View reply = ip;
        in_addr requester = ip.source();
        reply.setSource(address());
        reply.setDestination(requester);
        reply.setTtl(options_.ttl);
        reply.updateHeaderChecksum();
        packet->shrinkTop(static_cast<std::uint32_t>(ip.header() - packet->data()));
        packet->offload() = NetbufOffload{};
        statistics_.echoAnswered++;
        output(packet, burst);
        return;
    }
    case IcmpView::kEchoReply:
        statistics_.echoRepliesReceived++;
        if (echoHandler_) echoHandler_(ip.source(), icmp.identifier(), icmp.sequence());
        packet->free();
        return;
    case IcmpView::kDestinationUnreachable:
        statistics_.unreachableReceived++;
        if (icmp.code() == IcmpView::kPortUnreachable) icmpErrorInput(icmp.payload());
        packet->free();
        return;
    default:
        statistics_.ignored++;
        packet->free();
        return;
    }
}

void InetStack::icmpErrorInput(std::span<std::uint8_t> quote) {
    // The quoted datagram (RFC 792): its IPv4 header, then at least 8 bytes, our UDP header.
    if (quote.size() < Ipv4View::kMinHeaderSize || ports_.empty()) return;
    unsigned headerLength = (quote[0] & 0x0fu) * 4;
    if ((quote[0] >> 4) != 4 || headerLength < Ipv4View::kMinHeaderSize || quote.size() < headerLength + 4) return;
    if (quote[9] != Ipv4View::kUdp || !isOurAddress(in_addr{loadNetwork32(quote.data() + 12)})) return;
    UdpEndpoint* endpoint = ports_[loadBig16(quote.data() + headerLength)];
    if (endpoint != nullptr)
        endpoint->reportUnreachable(in_addr{loadNetwork32(quote.data() + 16)},
                                    loadBig16(quote.data() + headerLength + 2));
}

void InetStack::udpInput(Netbuf* packet, const Ipv4View& ip, bool broadcast, Burst& burst) {
    UdpView udp = UdpView::parse(ip.payload());
    if (!udp) return drop(packet, udp.error());
    auto status = TransportChecksum::check(ip, udp.bytes(), UdpView::kChecksumOffset, packet->offload());
    if (status == TransportChecksum::Status::bad) return drop(packet, InetDrop::udpChecksum);
    UdpEndpoint* endpoint = ports_.empty() ? nullptr : ports_[udp.destinationPort()];
    if (endpoint != nullptr && endpoint->accepts(ip.source(), udp.sourcePort(), ip.destination())) {
        UdpDatagram datagram{packet, ip.source(), ip.destination(), udp.sourcePort(), udp.destinationPort()};
        auto payload = udp.payload();
        packet->shrinkTop(static_cast<std::uint32_t>(payload.data() - packet->data()));
        packet->setSize(static_cast<std::uint32_t>(payload.size()));
        packet->offload() = NetbufOffload{};  // csumStart meant the old data(); checked anyway
        if (!endpoint->enqueue(datagram)) return drop(packet, InetDrop::udpQueueFull);
        statistics_.udpDelivered++;
        unsigned i = 0;
        while (i < burst.touchedCount && burst.touched[i] != endpoint) ++i;
        if (i == burst.touchedCount && i < Burst::kMax) burst.touched[burst.touchedCount++] = endpoint;
        return;
    }
    if (broadcast || !isUnicastPeer(ip.source())) return drop(packet, InetDrop::udpNoPort);
    statistics_.count(InetDrop::udpNoPort);
    sendPortUnreachable(packet, ip, burst);
}

void InetStack::sendPortUnreachable(Netbuf* packet, const Ipv4View& ip, Burst& burst) {
    // RFC 792: the quote is the IPv4 header and the first 8 bytes of its data (here the UDP
    // header), and it is already in the netbuf: the ICMP and IPv4 headers go in front of it.
    in_addr to = ip.source();
    packet->shrinkTop(static_cast<std::uint32_t>(ip.header() - packet->data()));
    packet->setSize(ip.headerLength() + 8);
    packet->offload() = NetbufOffload{};
    if (IcmpBuilder::push(*packet, IcmpView::kDestinationUnreachable, IcmpView::kPortUnreachable, 0, 0) != 0 ||
        Ipv4Builder::push(*packet, {address(), to, Ipv4View::kIcmp, options_.ttl}) != 0)
        return drop(packet, InetDrop::noBuffer);
    statistics_.unreachableSent++;
    output(packet, burst);
}

// ---- endpoints -------------------------------------------------------------------------------

int InetStack::bind(UdpEndpoint* endpoint, std::uint16_t port) {
    if (ports_.empty()) ports_.assign(kPorts, nullptr);
    if (ports_[port] != nullptr) return EADDRINUSE;
    ports_[port] = endpoint;
    return 0;
}

void InetStack::unbind(std::uint16_t port) {
    if (!ports_.empty()) ports_[port] = nullptr;
}

std::uint16_t InetStack::ephemeralPort() {
    if (ports_.empty()) ports_.assign(kPorts, nullptr);
    for (unsigned tries = 0; tries < 16384; ++tries) {
        std::uint16_t port = nextEphemeral_;
        nextEphemeral_ = nextEphemeral_ == 65535 ? 49152 : static_cast<std::uint16_t>(nextEphemeral_ + 1);
        if (ports_[port] == nullptr) return port;
    }
    return 0;
}

}  // namespace nexnet
