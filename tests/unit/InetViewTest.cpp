// The protocol views of inet/: each malformed header is refused with its reason, and no view
// reads past the bytes it was given. Every case is parsed from a heap block of exactly its size,
// so the AddressSanitizer build catches a read one byte too far.
#include "inet/ArpView.h"
#include "inet/EthernetView.h"
#include "inet/IcmpView.h"
#include "inet/Ipv4View.h"
#include "inet/TcpView.h"
#include "inet/UdpView.h"
#include "support/FrameBuilder.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>

using namespace nexnet;
using nexnet::test::FrameBuilder;
using Frame = FrameBuilder::Frame;

namespace {

const FrameBuilder::Mac kA = {0x02, 0, 0, 0, 0, 0x0a};
const FrameBuilder::Mac kB = {0x02, 0, 0, 0, 0, 0x0b};
const FrameBuilder::Ip kIpA = {10, 1, 0, 1};
const FrameBuilder::Ip kIpB = {10, 1, 0, 2};

/// Bytes on the heap, exactly as many as the frame has.
struct ExactBytes {
    std::unique_ptr<std::uint8_t[]> memory;
    std::size_t size;
    explicit ExactBytes(const Frame& frame)
        : memory(new std::uint8_t[frame.size() + (frame.empty() ? 1 : 0)]), size(frame.size()) {
        std::copy(frame.begin(), frame.end(), memory.get());
    }
    std::span<std::uint8_t> span() { return {memory.get(), size}; }
};

/// A TCP segment (header, @p options, @p payload) as raw bytes, no IP.
Frame tcpSegment(const Frame& options, std::size_t payload, std::uint8_t flags = TcpView::kAck) {
    Frame tcp = {0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 2, 0, flags, 0xff, 0xff, 0, 0, 0, 0};
    tcp[12] = static_cast<std::uint8_t>(((20 + options.size()) / 4) << 4);
    tcp.insert(tcp.end(), options.begin(), options.end());
    tcp.insert(tcp.end(), payload, 0x33);
    return tcp;
}

/// An IPv4 header with @p options (padded by the caller to a multiple of 4) and @p payload bytes.
Frame ipWithOptions(const Frame& options, std::size_t payload = 8) {
    Frame ip = {static_cast<std::uint8_t>(0x40 | ((20 + options.size()) / 4)), 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0};
    ip.insert(ip.end(), kIpA.begin(), kIpA.end());
    ip.insert(ip.end(), kIpB.begin(), kIpB.end());
    ip.insert(ip.end(), options.begin(), options.end());
    FrameBuilder::set16(ip, 2, static_cast<std::uint16_t>(ip.size() + payload));
    ip.insert(ip.end(), payload, 0);
    return ip;
}

/// The first @p length bytes of @p frame (all when npos), from byte @p from.
Frame slice(const Frame& frame, std::size_t from, std::size_t length = std::string::npos) {
    std::size_t end = length == std::string::npos ? frame.size() : from + length;
    return Frame(frame.begin() + static_cast<long>(from), frame.begin() + static_cast<long>(end));
}

/// A UDP/IPv4 packet without the Ethernet header.
Frame ipPacket() { return slice(FrameBuilder::udp(kA, kB, kIpA, kIpB, 1, 2, Frame(10, 1)), 14); }

/// One malformed case: the bytes, the parser, the reason expected.
struct Malformed {
    const char* name;
    Frame bytes;
    std::function<HeaderError(std::span<std::uint8_t>)> parse;
    HeaderError expected;
};

HeaderError parseEthernet(std::span<std::uint8_t> b) { return EthernetView::parse(b).error(); }
HeaderError parseArp(std::span<std::uint8_t> b) { return ArpView::parse(b).error(); }
HeaderError parseIp(std::span<std::uint8_t> b) { return Ipv4View::parse(b).error(); }
HeaderError parseIcmp(std::span<std::uint8_t> b) { return IcmpView::parse(b).error(); }
HeaderError parseUdp(std::span<std::uint8_t> b) { return UdpView::parse(b).error(); }
HeaderError parseTcp(std::span<std::uint8_t> b) { return TcpView::parse(b).error(); }

Frame with(Frame frame, std::size_t at, std::uint8_t value) {
    frame.at(at) = value;
    return frame;
}
Frame with16(Frame frame, std::size_t at, std::uint16_t value) {
    FrameBuilder::set16(frame, at, value);
    return frame;
}

std::vector<Malformed> malformedCases() {
    Frame arp = slice(FrameBuilder::arpRequest(kA, kIpA, kIpB), 14);
    Frame ip = ipPacket();
    Frame udp = slice(ip, 20);
    return {
        {"empty frame", {}, parseEthernet, HeaderError::ethernetTruncated},
        {"13-byte frame", Frame(13, 0), parseEthernet, HeaderError::ethernetTruncated},
        {"VLAN tag cut short", with16(with16(Frame(16, 0), 12, 0x8100), 14, 5), parseEthernet,
         HeaderError::ethernetTruncated},
        {"QinQ inner tag cut short", with16(with16(Frame(20, 0), 12, 0x88a8), 16, 0x8100), parseEthernet,
         HeaderError::ethernetTruncated},
        {"ARP of 27 bytes", slice(arp, 0, 27), parseArp, HeaderError::arpTruncated},
        {"ARP for token ring", with16(arp, 0, 6), parseArp, HeaderError::arpFormat},
        {"ARP for IPv6", with16(arp, 2, 0x86dd), parseArp, HeaderError::arpFormat},
        {"ARP with 8-byte hardware addresses", with(arp, 4, 8), parseArp, HeaderError::arpFormat},
        {"ARP with 16-byte protocol addresses", with(arp, 5, 16), parseArp, HeaderError::arpFormat},
        {"IP of 19 bytes", slice(ip, 0, 19), parseIp, HeaderError::ipTruncated},
        {"IP version 6", with(ip, 0, 0x65), parseIp, HeaderError::ipVersion},
        {"IP version 0", with(ip, 0, 0x05), parseIp, HeaderError::ipVersion},
        {"IHL 4", with(ip, 0, 0x44), parseIp, HeaderError::ipHeaderLength},
        {"IHL 0", with(ip, 0, 0x40), parseIp, HeaderError::ipHeaderLength},
        {"IHL 15 in 38 bytes", with(ip, 0, 0x4f), parseIp, HeaderError::ipTruncated},
        {"total length past the frame", with16(ip, 2, static_cast<std::uint16_t>(ip.size() + 1)), parseIp,
         HeaderError::ipTotalLength},
        {"total length inside the header", with16(ip, 2, 19), parseIp, HeaderError::ipTotalLength},
        {"total length 0", with16(ip, 2, 0), parseIp, HeaderError::ipTotalLength},
        {"IP option of length 0", ipWithOptions({0x07, 0x00, 0x00, 0x00}), parseIp, HeaderError::ipOptions},
        {"IP option of length 1", ipWithOptions({0x07, 0x01, 0x00, 0x00}), parseIp, HeaderError::ipOptions},
        {"IP option running past the header", ipWithOptions({0x01, 0x07, 0x08, 0x00}), parseIp, HeaderError::ipOptions},
        {"IP option of length 255", ipWithOptions({0x07, 0xff, 0x00, 0x00}), parseIp, HeaderError::ipOptions},
        {"IP option without its length byte", ipWithOptions({0x01, 0x01, 0x01, 0x07}), parseIp, HeaderError::ipOptions},
        {"ICMP of 7 bytes", Frame(7, 8), parseIcmp, HeaderError::icmpTruncated},
        {"UDP of 7 bytes", slice(udp, 0, 7), parseUdp, HeaderError::udpTruncated},
        {"UDP length 7", with16(udp, 4, 7), parseUdp, HeaderError::udpLength},
        {"UDP length past the packet", with16(udp, 4, static_cast<std::uint16_t>(udp.size() + 1)), parseUdp,
         HeaderError::udpLength},
        {"TCP of 19 bytes", slice(tcpSegment({}, 0), 0, 19), parseTcp, HeaderError::tcpTruncated},
        {"TCP data offset 4", with(tcpSegment({}, 10), 12, 0x40), parseTcp, HeaderError::tcpDataOffset},
        {"TCP data offset past the segment", with(tcpSegment({}, 10), 12, 0xf0), parseTcp, HeaderError::tcpDataOffset},
        {"TCP option of length 0", tcpSegment({0x22, 0x00, 0x01, 0x01}, 0), parseTcp, HeaderError::tcpOptions},
        {"TCP option of length 1", tcpSegment({0x22, 0x01, 0x01, 0x01}, 0), parseTcp, HeaderError::tcpOptions},
        {"TCP option past the header", tcpSegment({0x01, 0x01, 0x22, 0x08}, 5), parseTcp, HeaderError::tcpOptions},
        {"TCP MSS of length 3", tcpSegment({0x02, 0x03, 0x05, 0x01}, 0), parseTcp, HeaderError::tcpOptions},
        {"TCP timestamps of length 8", tcpSegment({0x08, 0x08, 0, 0, 0, 0, 0, 0}, 0), parseTcp,
         HeaderError::tcpOptions},
        {"TCP SACK of length 9", tcpSegment({0x05, 0x09, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1}, 0), parseTcp,
         HeaderError::tcpOptions},
        {"TCP SACK without blocks", tcpSegment({0x05, 0x02, 0x01, 0x01}, 0), parseTcp, HeaderError::tcpOptions},
        {"TCP option without its length byte", tcpSegment({0x01, 0x01, 0x01, 0x03}, 0), parseTcp,
         HeaderError::tcpOptions},
    };
}

TEST(InetView, EveryMalformedHeaderIsRefusedWithItsReason) {
    for (const Malformed& c : malformedCases()) {
        ExactBytes bytes(c.bytes);
        EXPECT_EQ(c.parse(bytes.span()), c.expected) << c.name << ": got " << headerErrorName(c.parse(bytes.span()))
                                                     << ", wanted " << headerErrorName(c.expected);
    }
}

TEST(InetView, EveryReasonHasADistinctName) {
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < kHeaderErrorCount; ++i) names.insert(headerErrorName(static_cast<HeaderError>(i)));
    EXPECT_EQ(names.size(), kHeaderErrorCount);
    EXPECT_EQ(headerErrorName(HeaderError::ipOptions), "ip-options");
}

TEST(InetView, EveryTruncationOfValidPacketsIsRefusedOrStaysInside) {
    Frame ip = ipPacket();
    Frame tcp = tcpSegment({0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x07}, 12);
    for (std::size_t length = 0; length < ip.size(); ++length) {
        ExactBytes bytes(Frame(ip.begin(), ip.begin() + static_cast<long>(length)));
        Ipv4View view = Ipv4View::parse(bytes.span());
        EXPECT_FALSE(view.valid()) << length;
    }
    for (std::size_t length = 0; length < tcp.size(); ++length) {
        ExactBytes bytes(Frame(tcp.begin(), tcp.begin() + static_cast<long>(length)));
        TcpView view = TcpView::parse(bytes.span());
        if (view) {  // a shorter payload is still a segment: its options must be whole
            EXPECT_GE(length, 28u);
            EXPECT_EQ(view.options().mss.value_or(0), 1460);
        }
    }
}

TEST(InetView, ReadsAnEthernetHeaderWithAnd8021QAndQinQTags) {
    Frame plain = FrameBuilder::ethernet(kA, kB, 0x0800, Frame(20, 0));
    ExactBytes a(plain);
    EthernetView view = EthernetView::parse(a.span());
    ASSERT_TRUE(view);
    EXPECT_EQ(view.etherType(), EthernetView::kTypeIpv4);
    EXPECT_EQ(view.vlanTags(), 0u);
    EXPECT_EQ(view.payload().size(), 20u);
    EXPECT_EQ(view.source(), EthernetAddress::fromBytes(kB.data()));

    Frame tagged = FrameBuilder::ethernet(kA, kB, 0x8100, {0x20, 0x2a, 0x08, 0x06, 1, 2});
    ExactBytes b(tagged);
    view = EthernetView::parse(b.span());
    ASSERT_TRUE(view);
    EXPECT_EQ(view.etherType(), EthernetView::kTypeArp);
    EXPECT_EQ(view.vlanId(), 42);
    EXPECT_EQ(view.headerLength(), 18u);

    Frame qinq = FrameBuilder::ethernet(kA, kB, 0x88a8, {0x00, 0x05, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00});
    ExactBytes c(qinq);
    view = EthernetView::parse(c.span());
    ASSERT_TRUE(view);
    EXPECT_EQ(view.vlanTags(), 2u);
    EXPECT_EQ(view.vlanId(), 7);
    EXPECT_EQ(view.etherType(), EthernetView::kTypeIpv4);
}

TEST(InetView, AnIpViewCoversTheTotalLengthAndLeavesThePaddingOut) {
    Frame ip = ipPacket();
    std::size_t total = ip.size();
    ip.resize(total + 12, 0);  // link padding
    ExactBytes bytes(ip);
    Ipv4View view = Ipv4View::parse(bytes.span());
    ASSERT_TRUE(view);
    EXPECT_EQ(view.bytes().size(), total);
    EXPECT_EQ(view.payload().size(), total - 20);
    EXPECT_TRUE(view.headerChecksumValid());
    EXPECT_EQ(view.protocol(), Ipv4View::kUdp);
    EXPECT_FALSE(view.isFragment());
}

TEST(InetView, IpOptionsThatAreWellFormedAreSkipped) {
    // Record route (7), length 7, pointer 4, one empty slot; then End.
    ExactBytes bytes(ipWithOptions({0x07, 0x07, 0x04, 0, 0, 0, 0, 0x00}, 8));
    Ipv4View view = Ipv4View::parse(bytes.span());
    ASSERT_TRUE(view) << headerErrorName(view.error());
    EXPECT_EQ(view.headerLength(), 28u);
    EXPECT_EQ(view.options().size(), 8u);
    EXPECT_EQ(view.payload().size(), 8u);
}

TEST(InetView, ReadsEveryTcpOptionNexnetUses) {
    Frame options = {0x02, 0x04, 0x05, 0xb4,                           // MSS 1460
                     0x04, 0x02, 0x08, 0x0a, 0, 0, 0, 9,  0, 0, 0, 8,  // SACK-permitted, timestamps 9/8
                     0x01, 0x03, 0x03, 0x07,                           // NOP, window scale 7
                     0x01, 0x01, 0x05, 0x12, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40};  // 2 SACK blocks
    ExactBytes bytes(tcpSegment(options, 3, TcpView::kSyn | TcpView::kAck));
    TcpView view = TcpView::parse(bytes.span());
    ASSERT_TRUE(view) << headerErrorName(view.error());
    TcpOptions read = view.options();
    EXPECT_EQ(read.mss.value_or(0), 1460);
    EXPECT_EQ(read.windowScale.value_or(0), 7);
    EXPECT_TRUE(read.sackPermitted);
    ASSERT_TRUE(read.timestamps);
    EXPECT_EQ(read.timestamps->value, 9u);
    EXPECT_EQ(read.timestamps->echo, 8u);
    ASSERT_EQ(read.sackBlocks, 2);
    EXPECT_EQ(read.sack[1].left, 30u);
    EXPECT_EQ(read.sack[1].right, 40u);
    EXPECT_EQ(view.payload().size(), 3u);
    EXPECT_EQ(view.sequenceLength(), 4u);  // 3 bytes and the SYN
    EXPECT_EQ(view.sourcePort(), 40000);
    EXPECT_EQ(view.destinationPort(), 80);
    EXPECT_EQ(view.sequence(), 1u);
    EXPECT_EQ(view.acknowledgment(), 2u);
}

TEST(InetView, RandomBytesNeverMakeAViewReadOutside) {
    std::mt19937 random(17);
    unsigned accepted = 0;
    for (int round = 0; round < 20000; ++round) {
        Frame frame(random() % 80);
        for (auto& byte : frame) byte = static_cast<std::uint8_t>(random() % 4 == 0 ? random() % 3 : random());
        if (frame.size() > 0 && round % 2 == 0) frame[0] = static_cast<std::uint8_t>(0x45 + random() % 11);
        ExactBytes bytes(frame);
        if (Ipv4View ip = Ipv4View::parse(bytes.span())) {
            ++accepted;
            (void)ip.headerChecksumValid();
            (void)UdpView::parse(ip.payload());
        }
        if (TcpView tcp = TcpView::parse(bytes.span())) (void)tcp.options();
        (void)ArpView::parse(bytes.span());
        if (EthernetView e = EthernetView::parse(bytes.span())) (void)e.payload().size();
    }
    EXPECT_GT(accepted, 0u);  // the loop reached the accessors, not only the refusals
}

}  // namespace
