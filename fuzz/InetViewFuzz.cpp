// Fuzz target: the protocol views of inet/ on any bytes, as a frame from the wire reaches them:
// Ethernet (with VLAN tags), then ARP or IPv4 (options), then ICMP, UDP or TCP (options, through
// TcpOptions::read). The input is the frame, copied into a buffer of exactly its size so that
// AddressSanitizer sees any read past it. A valid view must cover bytes inside what it was given,
// its header inside its bytes and its payload behind its header; every accessor of a valid view
// is called; TCP options that read well must write back to what reads the same.
#include "FuzzFinding.h"

#include "inet/ArpView.h"
#include "inet/EthernetView.h"
#include "inet/IcmpView.h"
#include "inet/Ipv4View.h"
#include "inet/TcpOptions.h"
#include "inet/TcpView.h"
#include "inet/UdpView.h"

#include <algorithm>
#include <cstring>
#include <memory>

using namespace nexnet;
using nexnet::fuzz::expect;

namespace {

// What every valid view promises: its bytes inside @p outer, its payload inside its bytes.
void expectInside(std::span<std::uint8_t> inner, std::span<std::uint8_t> outer, const char* what) {
    expect(inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size(), what);
}

// Sums every byte of @p bytes: reads each, so a view pointing outside its buffer is caught.
unsigned touch(std::span<std::uint8_t> bytes) {
    unsigned sum = 0;
    for (std::uint8_t byte : bytes) sum += byte;
    return sum;
}

volatile unsigned sink;  // keeps the reads of accessors the compiler would otherwise drop

void tcpOptionsRoundTrip(const TcpOptions& read) {
    std::uint8_t encoded[TcpOptions::kMaxLength + 4];
    unsigned length = read.encodedLength();
    expect(length <= TcpOptions::kMaxLength && length % 4 == 0, "TCP options longer than 40 bytes or unaligned");
    expect(read.write(encoded) == length, "TcpOptions::write and encodedLength disagree");
    TcpOptions again;
    expect(again.read(encoded, length), "TCP options written that do not read back");
    expect(again.mss == read.mss && again.windowScale == read.windowScale &&
               again.sackPermitted == read.sackPermitted && again.timestamps.has_value() == read.timestamps.has_value(),
           "TCP options changed by a write and a read");
}

void transport(const Ipv4View& ip) {
    std::span<std::uint8_t> payload = ip.payload();
    switch (ip.protocol()) {
    case Ipv4View::kIcmp: {
        IcmpView icmp = IcmpView::parse(payload);
        if (!icmp) return;
        expectInside(icmp.bytes(), payload, "an ICMP view outside its packet");
        expectInside(icmp.payload(), icmp.bytes(), "an ICMP payload outside its view");
        sink = icmp.type() + icmp.code() + icmp.checksum() + icmp.identifier() + icmp.sequence() +
            icmp.checksumValid() + touch(icmp.payload());
        return;
    }
    case Ipv4View::kUdp: {
        UdpView udp = UdpView::parse(payload);
        if (!udp) return;
        expectInside(udp.bytes(), payload, "a UDP view outside its packet");
        expectInside(udp.payload(), udp.bytes(), "a UDP payload outside its view");
        expect(udp.bytes().size() == udp.length(), "a UDP view not cut to its length field");
        sink = udp.sourcePort() + udp.destinationPort() + udp.checksum() + touch(udp.payload());
        return;
    }
    case Ipv4View::kTcp: {
        TcpView tcp = TcpView::parse(payload);
        if (!tcp) return;
        expectInside(tcp.bytes(), payload, "a TCP view outside its packet");
        expect(tcp.headerLength() >= 20 && tcp.headerLength() <= tcp.bytes().size(), "a TCP header outside its view");
        expectInside(tcp.optionBytes(), tcp.bytes(), "TCP options outside the view");
        expectInside(tcp.payload(), tcp.bytes(), "a TCP payload outside its view");
        sink = tcp.sourcePort() + tcp.destinationPort() + tcp.sequence() + tcp.acknowledgment() + tcp.flags() +
            tcp.window() + tcp.checksum() + tcp.urgentPointer() + tcp.sequenceLength() + touch(tcp.payload());
        TcpOptions options;
        if (options.read(tcp.optionBytes().data(), static_cast<unsigned>(tcp.optionBytes().size())))
            tcpOptionsRoundTrip(options);
        return;
    }
    default:
        return;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A heap buffer of exactly the input's size: one byte read past it is an ASan report.
    std::unique_ptr<std::uint8_t[]> frame(new std::uint8_t[size == 0 ? 1 : size]);
    if (size != 0) std::memcpy(frame.get(), data, size);
    std::span<std::uint8_t> bytes(frame.get(), size);

    // The TCP option reader on its own, on the raw bytes (at most 40 of them).
    TcpOptions raw;
    if (raw.read(bytes.data(), static_cast<unsigned>(std::min<std::size_t>(size, TcpOptions::kMaxLength))))
        tcpOptionsRoundTrip(raw);

    EthernetView ethernet = EthernetView::parse(bytes);
    if (!ethernet) return 0;
    expectInside(ethernet.bytes(), bytes, "an Ethernet view outside the frame");
    expect(ethernet.headerLength() <= ethernet.bytes().size(), "an Ethernet header longer than the frame");
    expectInside(ethernet.payload(), ethernet.bytes(), "an Ethernet payload outside the frame");
    sink = ethernet.vlanTags() + ethernet.vlanId() + ethernet.destination().bytes[0] + ethernet.source().bytes[5];

    std::span<std::uint8_t> payload = ethernet.payload();
    if (ethernet.etherType() == EthernetView::kTypeArp) {
        ArpView arp = ArpView::parse(payload);
        if (arp) {
            expectInside(arp.bytes(), payload, "an ARP view outside its frame");
            sink = arp.operation() + arp.senderIp().s_addr + arp.targetIp().s_addr + arp.senderMac().bytes[0] +
                arp.targetMac().bytes[5];
        }
        return 0;
    }
    if (ethernet.etherType() != EthernetView::kTypeIpv4) return 0;
    Ipv4View ip = Ipv4View::parse(payload);
    if (!ip) return 0;
    expectInside(ip.bytes(), payload, "an IPv4 view outside its frame");
    expect(ip.bytes().size() == ip.totalLength(), "an IPv4 view not cut to its total length");
    expect(ip.headerLength() >= Ipv4View::kMinHeaderSize && ip.headerLength() <= ip.bytes().size(),
           "an IPv4 header outside its view");
    expectInside(ip.options(), ip.bytes(), "IPv4 options outside the view");
    expectInside(ip.payload(), ip.bytes(), "an IPv4 payload outside its view");
    sink = ip.tos() + ip.identification() + ip.isFragment() + ip.fragmentOffset() + ip.ttl() + ip.headerChecksum() +
        ip.source().s_addr + ip.destination().s_addr + ip.headerChecksumValid() + touch(ip.options());
    if (!ip.isFragment()) transport(ip);
    return 0;
}
