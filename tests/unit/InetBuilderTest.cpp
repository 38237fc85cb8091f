// The builders of inet/ write headers into a netbuf's headroom: the payload never moves, the
// result parses back with the views, and checksums agree with an independent computation.
#include "inet/ArpBuilder.h"
#include "inet/ArpView.h"
#include "inet/EthernetBuilder.h"
#include "inet/EthernetView.h"
#include "inet/IcmpBuilder.h"
#include "inet/IcmpView.h"
#include "inet/Ipv4Builder.h"
#include "inet/Ipv4View.h"
#include "inet/TcpBuilder.h"
#include "inet/TcpView.h"
#include "inet/UdpBuilder.h"
#include "inet/UdpView.h"
#include "netbuf/NetbufPool.h"
#include "support/FrameBuilder.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

using namespace nexnet;
using nexnet::test::FrameBuilder;
using Frame = FrameBuilder::Frame;

namespace {

const EthernetAddress kOurs{{0x02, 0, 0, 0, 0, 0x02}};
const EthernetAddress kPeer{{0x02, 0, 0, 0, 0, 0x01}};
const in_addr kOurIp{htonl(0x0a4d0002)};
const in_addr kPeerIp{htonl(0x0a4d0001)};

class InetBuilderTest : public ::testing::Test {
protected:
    void SetUp() override {
        NetbufPool::Options options;
        options.count = 16;
        options.hugepages = false;
        pool_ = NetbufPool::create(options).value();
    }
    // A netbuf from the pool holding @p size payload bytes (i * 7), data() at the pool's headroom.
    Netbuf* payload(std::size_t size) {
        Netbuf* nb = pool_->allocate();
        for (std::size_t i = 0; i < size; ++i) {
            auto byte = static_cast<std::uint8_t>(i * 7);
            nb->append(&byte, 1);
        }
        return nb;
    }
    Frame bytes(Netbuf* nb) { return Frame(nb->data(), nb->data() + nb->size()); }

    std::unique_ptr<NetbufPool> pool_;
};

TEST_F(InetBuilderTest, AUdpDatagramBuiltInTheHeadroomMatchesAnIndependentBuild) {
    Netbuf* nb = payload(100);
    std::uint8_t* before = nb->data();
    ASSERT_EQ(UdpBuilder::push(*nb, 7, 40000, kOurIp, kPeerIp, ChecksumMode::software), 0);
    ASSERT_EQ(Ipv4Builder::push(*nb, {kOurIp, kPeerIp, Ipv4View::kUdp, 64, 0, 0x1234, true}), 0);
    ASSERT_EQ(EthernetBuilder::push(*nb, kPeer, kOurs, EthernetView::kTypeIpv4), 0);
    EXPECT_EQ(nb->data() + 14 + 20 + 8, before);  // the payload did not move

    Frame payloadBytes(100);
    for (std::size_t i = 0; i < 100; ++i) payloadBytes[i] = static_cast<std::uint8_t>(i * 7);
    Frame expected =
        FrameBuilder::udp(kPeer.bytes, kOurs.bytes, {10, 77, 0, 2}, {10, 77, 0, 1}, 7, 40000, payloadBytes);
    EXPECT_EQ(bytes(nb), expected);
    nb->free();
}

TEST_F(InetBuilderTest, AnOffloadedChecksumIsFinishedToTheSameValueAsSoftware) {
    for (std::size_t size : {0u, 1u, 17u, 1472u}) {
        Netbuf* soft = payload(size);
        Netbuf* partial = payload(size);
        for (Netbuf* nb : {soft, partial}) {
            ChecksumMode mode = nb == soft ? ChecksumMode::software : ChecksumMode::offload;
            ASSERT_EQ(UdpBuilder::push(*nb, 7, 40000, kOurIp, kPeerIp, mode), 0);
            ASSERT_EQ(Ipv4Builder::push(*nb, {kOurIp, kPeerIp, Ipv4View::kUdp}), 0);
            ASSERT_EQ(EthernetBuilder::push(*nb, kPeer, kOurs, EthernetView::kTypeIpv4, 0x0005), 0);
        }
        ASSERT_TRUE(partial->offload().needsChecksum());
        EXPECT_EQ(partial->offload().csumStart, 18 + 20);  // kept on the UDP header through both pushes
        EXPECT_EQ(partial->offload().csumOffset, 6);
        ASSERT_EQ(finishPartialChecksum(*partial), 0);
        EXPECT_EQ(bytes(partial), bytes(soft)) << size;
        soft->free();
        partial->free();
    }
}

TEST_F(InetBuilderTest, ATcpSegmentWithOptionsParsesBackFieldForField) {
    Netbuf* nb = payload(33);
    TcpBuilder::Segment segment;
    segment.sourcePort = 5000;
    segment.destinationPort = 80;
    segment.sequence = 0xfffffff0;
    segment.acknowledgment = 12345;
    segment.flags = TcpView::kAck | TcpView::kPsh;
    segment.window = 512;
    segment.options.mss = 1460;
    segment.options.windowScale = 7;
    segment.options.sackPermitted = true;
    segment.options.timestamps = TcpOptions::Timestamps{100, 99};
    segment.options.sackBlocks = 4;  // only what fits beside the rest: 40 - 4 - 4 - 12 = 20 -> 2 blocks
    segment.options.sack = {{{1, 2}, {3, 4}, {5, 6}, {7, 8}}};
    ASSERT_EQ(TcpBuilder::push(*nb, segment, kOurIp, kPeerIp, ChecksumMode::software), 0);
    ASSERT_EQ(Ipv4Builder::push(*nb, {kOurIp, kPeerIp, Ipv4View::kTcp}), 0);

    Ipv4View ip = Ipv4View::parse({nb->data(), nb->size()});
    ASSERT_TRUE(ip);
    EXPECT_TRUE(ip.headerChecksumValid());
    TcpView tcp = TcpView::parse(ip.payload());
    ASSERT_TRUE(tcp) << headerErrorName(tcp.error());
    EXPECT_EQ(tcp.headerLength() % 4, 0u);
    EXPECT_LE(tcp.headerLength(), 60u);
    EXPECT_EQ(tcp.sequence(), 0xfffffff0u);
    EXPECT_EQ(tcp.acknowledgment(), 12345u);
    EXPECT_EQ(tcp.flags(), TcpView::kAck | TcpView::kPsh);
    EXPECT_EQ(tcp.window(), 512);
    EXPECT_EQ(tcp.payload().size(), 33u);
    TcpOptions read = tcp.options();
    EXPECT_EQ(read.mss.value_or(0), 1460);
    EXPECT_EQ(read.windowScale.value_or(0), 7);
    EXPECT_TRUE(read.sackPermitted);
    ASSERT_TRUE(read.timestamps);
    EXPECT_EQ(read.timestamps->value, 100u);
    ASSERT_EQ(read.sackBlocks, 2);
    EXPECT_EQ(read.sack[1].right, 4u);
    InternetChecksum sum = InternetChecksum::pseudoHeader(kOurIp.s_addr, kPeerIp.s_addr, Ipv4View::kTcp,
                                                          static_cast<std::uint16_t>(ip.payload().size()));
    EXPECT_EQ(sum.add(ip.payload().data(), ip.payload().size()).value(), 0);
    nb->free();
}

TEST_F(InetBuilderTest, APureAckIsAHeaderAlone) {
    Netbuf* nb = payload(0);
    TcpBuilder::Segment ack;
    ack.flags = TcpView::kAck;
    ack.acknowledgment = 77;
    ack.options.timestamps = TcpOptions::Timestamps{1, 2};
    ASSERT_EQ(TcpBuilder::push(*nb, ack, kOurIp, kPeerIp, ChecksumMode::software), 0);
    EXPECT_EQ(nb->size(), 32u);
    TcpView tcp = TcpView::parse({nb->data(), nb->size()});
    ASSERT_TRUE(tcp);
    EXPECT_EQ(tcp.sequenceLength(), 0u);
    nb->free();
}

TEST_F(InetBuilderTest, ArpAndIcmpBuildAndParseBack) {
    Netbuf* arp = payload(0);
    ASSERT_EQ(ArpBuilder::push(*arp, ArpView::kRequest, kOurs, kOurIp, EthernetAddress{}, kPeerIp), 0);
    ASSERT_EQ(EthernetBuilder::push(*arp, EthernetAddress::broadcast(), kOurs, EthernetView::kTypeArp), 0);
    EXPECT_EQ(bytes(arp), FrameBuilder::arpRequest(kOurs.bytes, {10, 77, 0, 2}, {10, 77, 0, 1}));
    arp->free();

    Netbuf* echo = payload(56);
    ASSERT_EQ(IcmpBuilder::push(*echo, IcmpView::kEchoRequest, 0, 0x77, 1), 0);
    IcmpView icmp = IcmpView::parse({echo->data(), echo->size()});
    ASSERT_TRUE(icmp);
    EXPECT_TRUE(icmp.checksumValid());
    EXPECT_EQ(icmp.identifier(), 0x77);
    icmp.turnEchoIntoReply();
    EXPECT_EQ(icmp.type(), IcmpView::kEchoReply);
    EXPECT_TRUE(icmp.checksumValid());
    echo->free();
}

TEST_F(InetBuilderTest, ABuilderWithoutHeadroomRefusesAndChangesNothing) {
    Netbuf* nb = payload(10);
    ASSERT_EQ(nb->shrinkTop(0), 0);
    ASSERT_EQ(nb->reset(4), 0);  // 4 bytes of headroom left
    nb->setSize(10);
    Frame before = bytes(nb);
    EXPECT_EQ(UdpBuilder::push(*nb, 1, 2, kOurIp, kPeerIp, ChecksumMode::software), ERANGE);
    EXPECT_EQ(Ipv4Builder::push(*nb, {kOurIp, kPeerIp, Ipv4View::kUdp}), ERANGE);
    EXPECT_EQ(EthernetBuilder::push(*nb, kPeer, kOurs, EthernetView::kTypeIpv4), ERANGE);
    EXPECT_EQ(bytes(nb), before);
    EXPECT_EQ(nb->headroom(), 4u);
    nb->free();
}

TEST_F(InetBuilderTest, AFragmentOffsetNotAMultipleOfEightIsRefused) {
    Netbuf* nb = payload(8);
    Ipv4Builder::Fields fields{kOurIp, kPeerIp, Ipv4View::kUdp};
    fields.fragmentOffset = 12;
    EXPECT_EQ(Ipv4Builder::push(*nb, fields), EINVAL);
    fields.fragmentOffset = 1480;
    fields.dontFragment = false;
    fields.moreFragments = true;
    ASSERT_EQ(Ipv4Builder::push(*nb, fields), 0);
    Ipv4View ip = Ipv4View::parse({nb->data(), nb->size()});
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip.fragmentOffset(), 1480u);
    EXPECT_TRUE(ip.moreFragments());
    nb->free();
}

}  // namespace
