// InetStack: ARP, IPv4, ICMP and UDP on an interface, against a driver that records what the
// layer sends and a clock the test moves (ageing and retries without sleeping).
#include "inet/ArpView.h"
#include "inet/EthernetView.h"
#include "inet/IcmpView.h"
#include "inet/Ipv4Protocol.h"
#include "inet/Ipv4View.h"
#include "inet/TcpView.h"
#include "inet/UdpView.h"
#include "unit/InetHarness.h"

#include <gtest/gtest.h>

#include <poll.h>

using namespace nexnet;
using namespace nexnet::test;
using Frame = FrameBuilder::Frame;
using H = InetHarness;

namespace {

const FrameBuilder::Ip kOtherPeer = {10, 77, 0, 9};
const FrameBuilder::Mac kOtherMac = {0x02, 0, 0, 0, 0, 0x09};

Frame payload(std::size_t size, std::uint8_t seed = 3) {
    Frame data(size);
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<std::uint8_t>(i * 7 + seed);
    return data;
}

Frame ping(const FrameBuilder::Ip& from, const FrameBuilder::Ip& to = H::kOurIp,
           const FrameBuilder::Mac& fromMac = H::kPeerMac) {
    return FrameBuilder::icmpEcho(H::kOurMac, fromMac, from, to, 0x77, 1, payload(56));
}

Frame udp(std::uint16_t port, std::size_t size = 32, std::uint16_t sourcePort = 40000) {
    return FrameBuilder::udp(H::kOurMac, H::kPeerMac, H::kPeerIp, H::kOurIp, sourcePort, port, payload(size));
}

bool isArpRequestFor(const Frame& frame, const FrameBuilder::Ip& target) {
    return frame.size() >= 42 && FrameBuilder::get16(frame, 12) == 0x0806 && FrameBuilder::get16(frame, 20) == 1 &&
        std::equal(target.begin(), target.end(), frame.begin() + 38);
}

Frame withIpChecksumFixed(Frame frame) {
    FrameBuilder::set16(frame, FrameBuilder::kIpChecksum, 0);
    unsigned headerLength = (frame[14] & 0x0f) * 4u;
    FrameBuilder::set16(frame, FrameBuilder::kIpChecksum, FrameBuilder::checksum(frame.data() + 14, headerLength));
    return frame;
}

class InetStackTest : public ::testing::Test {
protected:
    InetStackTest() { h.takeSent(); }  // the gratuitous ARP of the address set-up
    const InetStatistics& stats() const { return h.stack->statistics(); }
    InetHarness h;
};

// ---- ARP ---------------------------------------------------------------------------------------

TEST_F(InetStackTest, AnnouncesItsAddressWithAGratuitousArp) {
    InetHarness fresh;
    auto sent = fresh.takeSent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(isArpRequestFor(sent[0], H::kOurIp));
    EXPECT_TRUE(std::equal(H::kOurIp.begin(), H::kOurIp.end(), sent[0].begin() + 28));  // sender = target
    EXPECT_EQ(fresh.stack->statistics().gratuitousArpSent, 1u);
    // Set again through the interface (SIOCSIFADDR's path): announced on the next tick.
    ASSERT_EQ(fresh.interface->setAddress(H::ip({10, 77, 0, 5}), H::ip({255, 255, 255, 0})), 0);
    fresh.advance(100);
    sent = fresh.takeSent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(isArpRequestFor(sent[0], {10, 77, 0, 5}));
}

TEST_F(InetStackTest, AnswersAnArpRequestForItsAddressAndLearnsTheAsker) {
    h.receive(FrameBuilder::arpRequest(H::kPeerMac, H::kPeerIp, H::kOurIp));
    auto sent = h.takeSent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(std::equal(H::kPeerMac.begin(), H::kPeerMac.end(), sent[0].begin()));
    EXPECT_EQ(FrameBuilder::get16(sent[0], 20), 2);  // reply
    EXPECT_TRUE(std::equal(H::kOurMac.begin(), H::kOurMac.end(), sent[0].begin() + 22));
    EXPECT_EQ(sent[0].size(), 42u);
    EXPECT_EQ(stats().arpAnswered, 1u);
    auto table = h.stack->neighbours().entries();
    ASSERT_EQ(table.size(), 1u);
    EXPECT_EQ(table[0].address.s_addr, H::ip(H::kPeerIp).s_addr);
    EXPECT_EQ(table[0].state, ArpCache::State::reachable);
}

TEST_F(InetStackTest, IgnoresArpRequestsForAnotherAddress) {
    h.receive(FrameBuilder::arpRequest(H::kPeerMac, H::kPeerIp, kOtherPeer));
    EXPECT_TRUE(h.takeSent().empty());
    EXPECT_EQ(stats().ignored, 1u);
    EXPECT_TRUE(h.stack->neighbours().entries().empty());  // not for us: nothing created
}

TEST_F(InetStackTest, NeverAnswersArpFromTheBroadcastAddress) {
    h.receive(FrameBuilder::arpRequest(H::kPeerMac, {255, 255, 255, 255}, H::kOurIp));
    EXPECT_TRUE(h.takeSent().empty());
    EXPECT_EQ(stats().dropped(InetDrop::arpSender), 1u);
}

TEST_F(InetStackTest, NeverAnswersArpFromItsOwnAddress) {
    h.receive(FrameBuilder::arpRequest(H::kPeerMac, H::kOurIp, H::kOurIp));
    EXPECT_TRUE(h.takeSent().empty());
    EXPECT_EQ(stats().dropped(InetDrop::arpConflict), 1u);
}

TEST_F(InetStackTest, ResolvesThePeerBeforeSendingAndSendsWhatWaited) {
    UdpEndpoint& endpoint = h.open(5000);
    Netbuf* data = endpoint.allocate(10);
    data->append(payload(10).data(), 10);
    ASSERT_EQ(endpoint.sendTo(data, H::ip(H::kPeerIp), 6000), 0);
    auto sent = h.takeSent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(isArpRequestFor(sent[0], H::kPeerIp));
    h.arpReply(H::kPeerIp, H::kPeerMac);
    sent = h.takeSent();
    ASSERT_EQ(sent.size(), 1u);
    Frame expected = FrameBuilder::udp(H::kPeerMac, H::kOurMac, H::kOurIp, H::kPeerIp, 5000, 6000, payload(10));
    FrameBuilder::set16(expected, 14 + 4, FrameBuilder::get16(sent[0], 14 + 4));  // identification: ours
    FrameBuilder::set16(expected, 14 + 6, 0);                                     // DF off: we fragment
    EXPECT_EQ(sent[0], withIpChecksumFixed(expected));
}

TEST_F(InetStackTest, RetriesArpThenDropsWhatWaitedAndCountsIt) {
    UdpEndpoint& endpoint = h.open(5000);
    for (int i = 0; i < 3; ++i) {
        Netbuf* data = endpoint.allocate(4);
        data->append("ping", 4);
        endpoint.sendTo(data, H::ip(H::kPeerIp), 6000);
    }
    EXPECT_EQ(h.takeSent().size(), 1u);  // one request for three datagrams
    h.advance(1000);
    h.advance(1000);
    EXPECT_EQ(h.takeSent().size(), 2u);  // retries
    h.advance(1000);
    EXPECT_TRUE(h.takeSent().empty());
    EXPECT_EQ(stats().dropped(InetDrop::arpUnresolved), 3u);
    EXPECT_EQ(stats().arpRequestsSent, 3u);
    EXPECT_TRUE(h.stack->neighbours().entries().empty());
}

TEST_F(InetStackTest, BoundsWhatWaitsForOneAddressAndCountsTheRest) {
    UdpEndpoint& endpoint = h.open(5000);
    unsigned limit = h.stack->neighbours().options().pendingPerAddress;
    for (unsigned i = 0; i < limit + 5; ++i) {
        Netbuf* data = endpoint.allocate(1);
        data->append("x", 1);
        endpoint.sendTo(data, H::ip(H::kPeerIp), 6000);
    }
    EXPECT_EQ(stats().dropped(InetDrop::arpQueueFull), 5u);
    EXPECT_EQ(h.stack->neighbours().entries().at(0).pending, limit);
    h.takeSent();
    h.arpReply(H::kPeerIp, H::kPeerMac);
    EXPECT_EQ(h.takeSent().size(), limit);
}

TEST_F(InetStackTest, ForgetsANeighbourAfterTheReachableTimeAndAsksAgain) {
    h.receive(FrameBuilder::arpRequest(H::kPeerMac, H::kPeerIp, H::kOurIp));
    h.takeSent();
    UdpEndpoint& endpoint = h.open(5000);
    auto send = [&] {
        Netbuf* data = endpoint.allocate(1);
        data->append("x", 1);
        endpoint.sendTo(data, H::ip(H::kPeerIp), 6000);
    };
    send();
    auto sent = h.takeSent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(FrameBuilder::get16(sent[0], 12), 0x0800);  // known: sent at once
    h.advance(29000);
    EXPECT_EQ(h.stack->neighbours().size(), 1u);
    h.advance(1000);
    EXPECT_EQ(h.stack->neighbours().size(), 0u);  // aged out
    send();
    sent = h.takeSent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(isArpRequestFor(sent[0], H::kPeerIp));
}

// ---- Ethernet sources never answered -------------------------------------------------------------

TEST_F(InetStackTest, NeverRepliesToABroadcastMulticastZeroOrOwnEthernetSource) {
    const FrameBuilder::Mac sources[] = {
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x01, 0x00, 0x5e, 0, 0, 1}, {0, 0, 0, 0, 0, 0}, H::kOurMac};
    for (const auto& source : sources) {
        h.receive(ping(H::kPeerIp, H::kOurIp, source));
        h.receive(FrameBuilder::arpRequest(source, H::kPeerIp, H::kOurIp));
    }
    EXPECT_TRUE(h.takeSent().empty());
    EXPECT_EQ(stats().dropped(InetDrop::ethernetSource), 8u);
}

// ---- ICMP ------------------------------------------------------------------------------------

TEST_F(InetStackTest, AnswersAPingWithTheSameDataAndCorrectChecksums) {
    h.receive(FrameBuilder::arpRequest(H::kPeerMac, H::kPeerIp, H::kOurIp));
    h.takeSent();
    Frame request = ping(H::kPeerIp);
    h.receive(request);
    auto sent = h.takeSent();
    ASSERT_EQ(sent.size(), 1u);
    const Frame& reply = sent[0];
    ASSERT_EQ(reply.size(), request.size());
    EXPECT_TRUE(std::equal(H::kPeerMac.begin(), H::kPeerMac.end(), reply.begin()));
    EXPECT_TRUE(std::equal(H::kOurIp.begin(), H::kOurIp.end(), reply.begin() + 26));
    EXPECT_TRUE(std::equal(H::kPeerIp.begin(), H::kPeerIp.end(), reply.begin() + 30));
    EXPECT_EQ(FrameBuilder::checksum(reply.data() + 14, 20), 0);
    EXPECT_EQ(reply[FrameBuilder::kL4], 0);
    EXPECT_EQ(FrameBuilder::checksum(reply.data() + FrameBuilder::kL4, reply.size() - FrameBuilder::kL4), 0);
    EXPECT_TRUE(
        std::equal(request.begin() + FrameBuilder::kL4 + 4, request.end(), reply.begin() + FrameBuilder::kL4 + 4));
    EXPECT_EQ(stats().echoAnswered, 1u);
}

TEST_F(InetStackTest, NeverAnswersPingsFromBroadcastMulticastZeroLoopbackOrOwnAddresses) {
    const FrameBuilder::Ip sources[] = {{255, 255, 255, 255}, {224, 0, 0, 1}, {0, 0, 0, 0},
                                        {127, 0, 0, 1},       H::kOurIp,      {10, 77, 0, 255}};
    for (const auto& source : sources) h.receive(ping(source));
    EXPECT_TRUE(h.takeSent().empty());
    // 0.0.0.0 may send (DHCP) but is never answered; the others are not valid sources at all.
    EXPECT_EQ(stats().dropped(InetDrop::ipSource) + stats().dropped(InetDrop::icmpRefused), 6u);
    EXPECT_EQ(stats().echoAnswered, 0u);
}

TEST_F(InetStackTest, NeverAnswersAPingToABroadcastAddress) {
    h.receive(ping(H::kPeerIp, {10, 77, 0, 255}));
    h.receive(ping(H::kPeerIp, {255, 255, 255, 255}));
    EXPECT_TRUE(h.takeSent().empty());
    EXPECT_EQ(stats().dropped(InetDrop::icmpRefused), 2u);
}

TEST_F(InetStackTest, PingsAPeerAndReportsTheReply) {
    h.arpReply(H::kPeerIp, H::kPeerMac);  // unsolicited: not learned
    EXPECT_TRUE(h.stack->neighbours().entries().empty());
    std::vector<std::uint16_t> sequences;
    h.stack->setEchoReplyHandler(
        [&](in_addr, std::uint16_t, std::uint16_t sequence) { sequences.push_back(sequence); });
    ASSERT_EQ(h.stack->sendEchoRequest(H::ip(H::kPeerIp), 9, 4, 16), 0);
    h.arpReply(H::kPeerIp, H::kPeerMac);
    auto sent = h.takeSent();
    ASSERT_EQ(sent.size(), 2u);
    const Frame& echo = sent[1];
    EXPECT_EQ(echo[FrameBuilder::kL4], 8);
    EXPECT_EQ(FrameBuilder::checksum(echo.data() + FrameBuilder::kL4, echo.size() - FrameBuilder::kL4), 0);
    Frame reply = FrameBuilder::icmpEcho(H::kOurMac, H::kPeerMac, H::kPeerIp, H::kOurIp, 9, 4, payload(16));
    reply[FrameBuilder::kL4] = 0;
    FrameBuilder::set16(reply, FrameBuilder::kIcmpChecksum, 0);
    FrameBuilder::set16(reply, FrameBuilder::kIcmpChecksum,
                        FrameBuilder::checksum(reply.data() + FrameBuilder::kL4, reply.size() - FrameBuilder::kL4));
    h.receive(reply);
    EXPECT_EQ(sequences, std::vector<std::uint16_t>{4});
}

// ---- IPv4 validation -------------------------------------------------------------------------------

TEST_F(InetStackTest, DropsABadIpChecksumUnlessTheDeviceVerifiedIt) {
    UdpEndpoint& endpoint = h.open(7);
    Frame frame = udp(7);
    frame[FrameBuilder::kIpChecksum] ^= 0x01;
    h.receive(frame);
    EXPECT_EQ(stats().dropped(InetDrop::ipChecksum), 1u);
    h.receive(frame, NetbufOffload::kDataValid);
    EXPECT_EQ(endpoint.pending(), 1u);
}

TEST_F(InetStackTest, DropsTtlZeroAndRefusedOptions) {
    Frame frame = udp(7);
    frame[14 + 8] = 0;
    h.receive(withIpChecksumFixed(frame));
    EXPECT_EQ(stats().dropped(InetDrop::ipTtl), 1u);
    // A 24-byte header with an option of length 0 (issue 17: must not be echoed back).
    Frame options = udp(7);
    options.insert(options.begin() + 34, {0x07, 0x00, 0x00, 0x00});
    options[14] = 0x46;
    FrameBuilder::set16(options, FrameBuilder::kIpTotalLength, static_cast<std::uint16_t>(options.size() - 14));
    h.receive(withIpChecksumFixed(options));
    options[35] = 0x01;
    h.receive(withIpChecksumFixed(options));
    options[35] = 0xff;
    h.receive(withIpChecksumFixed(options));
    EXPECT_EQ(stats().dropped(HeaderError::ipOptions), 3u);
    EXPECT_TRUE(h.takeSent().empty());
}

TEST_F(InetStackTest, LeavesFramesForOtherStationsToOtherConsumers) {
    Frame frame = udp(7);
    frame[5] = 0x99;  // another unicast destination
    h.receive(frame);
    EXPECT_EQ(stats().received, 0u);
    EXPECT_EQ(h.interface->receiveStatistics().drops, 1u);  // nobody took it
}

// ---- UDP ---------------------------------------------------------------------------------------------

TEST_F(InetStackTest, HandsTheReceivedNetbufItselfToTheEndpoint) {
    UdpEndpoint& endpoint = h.open(7);
    h.receive(udp(7, 100));
    UdpDatagram datagram;
    ASSERT_EQ(endpoint.receive(&datagram, 1), 1u);
    EXPECT_EQ(datagram.payload().size(), 100u);
    EXPECT_TRUE(std::equal(datagram.payload().begin(), datagram.payload().end(), payload(100).begin()));
    EXPECT_EQ(datagram.source.s_addr, H::ip(H::kPeerIp).s_addr);
    EXPECT_EQ(datagram.sourcePort, 40000);
    EXPECT_EQ(datagram.destinationPort, 7);
    // The payload sits where the frame was received: 42 bytes into the driver's buffer.
    EXPECT_EQ(datagram.netbuf->pool(), h.driver->pool());
    EXPECT_EQ(datagram.netbuf->headroom(), h.driver->pool()->headroom() + 42);
    datagram.netbuf->free();
    EXPECT_EQ(stats().udpDelivered, 1u);
}

TEST_F(InetStackTest, TheReadinessFdIsReadableExactlyWhileDatagramsWait) {
    UdpEndpoint& endpoint = h.open(7);
    pollfd fd{endpoint.readinessFd(), POLLIN, 0};
    EXPECT_EQ(poll(&fd, 1, 0), 0);
    h.receive({udp(7), udp(7), udp(7)});
    EXPECT_EQ(poll(&fd, 1, 0), 1);
    UdpDatagram datagrams[4];
    ASSERT_EQ(endpoint.receive(datagrams, 4), 3u);
    for (auto& d : datagrams)
        if (d.netbuf) d.netbuf->free();
    EXPECT_EQ(endpoint.receive(datagrams, 4), 0u);  // finding the queue empty clears readiness
    EXPECT_EQ(poll(&fd, 1, 0), 0);
    h.receive(udp(7));
    EXPECT_EQ(poll(&fd, 1, 0), 1);
}

TEST_F(InetStackTest, AFullEndpointQueueDropsAndCounts) {
    UdpEndpoint& endpoint = h.open(7, 4);
    h.receive({udp(7), udp(7), udp(7), udp(7), udp(7), udp(7)});
    EXPECT_EQ(endpoint.pending(), 4u);
    EXPECT_EQ(endpoint.statistics().queueDrops.load(), 2u);
    EXPECT_EQ(stats().dropped(InetDrop::udpQueueFull), 2u);
}

TEST_F(InetStackTest, DropsABadUdpChecksumButTrustsVerifiedAndPartialOnes) {
    UdpEndpoint& endpoint = h.open(7);
    Frame frame = udp(7, 20);
    frame.back() ^= 0x01;
    h.receive(frame);
    EXPECT_EQ(stats().dropped(InetDrop::udpChecksum), 1u);
    h.receive(frame, NetbufOffload::kDataValid);
    h.receive(FrameBuilder::udp(H::kOurMac, H::kPeerMac, H::kPeerIp, H::kOurIp, 1, 7, payload(5), false));  // none
    EXPECT_EQ(endpoint.pending(), 2u);
}

TEST_F(InetStackTest, AnswersAClosedPortWithPortUnreachableQuotingTheDatagram) {
    h.receive(FrameBuilder::arpRequest(H::kPeerMac, H::kPeerIp, H::kOurIp));
    h.takeSent();
    Frame datagram = udp(9999, 50);
    h.receive(datagram);
    auto sent = h.takeSent();
    ASSERT_EQ(sent.size(), 1u);
    const Frame& icmp = sent[0];
    ASSERT_EQ(icmp.size(), 14u + 20 + 8 + 20 + 8);
    EXPECT_EQ(icmp[FrameBuilder::kL4], 3);
    EXPECT_EQ(icmp[FrameBuilder::kL4 + 1], 3);
    EXPECT_EQ(FrameBuilder::checksum(icmp.data() + FrameBuilder::kL4, icmp.size() - FrameBuilder::kL4), 0);
    EXPECT_TRUE(std::equal(datagram.begin() + 14, datagram.begin() + 14 + 28, icmp.begin() + FrameBuilder::kL4 + 8));
    EXPECT_EQ(stats().unreachableSent, 1u);
    EXPECT_EQ(stats().dropped(InetDrop::udpNoPort), 1u);
}

TEST_F(InetStackTest, NeverSendsPortUnreachableForABroadcast) {
    h.receive(FrameBuilder::udp({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, H::kPeerMac, H::kPeerIp, {10, 77, 0, 255}, 1,
                                9999, payload(4)));
    EXPECT_TRUE(h.takeSent().empty());
    EXPECT_EQ(stats().dropped(InetDrop::udpNoPort), 1u);
}

TEST_F(InetStackTest, AConnectedEndpointTakesItsPeerOnlyAndHearsPortUnreachable) {
    UdpEndpoint& endpoint = h.open(5000);
    ASSERT_EQ(endpoint.connect(H::ip(H::kPeerIp), 6000), 0);
    h.receive(udp(5000, 8, 6000));
    h.receive(udp(5000, 8, 6001));  // another port of the peer: not for a connected endpoint
    EXPECT_EQ(endpoint.pending(), 1u);
    // The peer answers one of our datagrams with port unreachable.
    Frame quoted = FrameBuilder::udp(H::kPeerMac, H::kOurMac, H::kOurIp, H::kPeerIp, 5000, 6000, payload(4));
    Frame icmp = {3, 3, 0, 0, 0, 0, 0, 0};
    icmp.insert(icmp.end(), quoted.begin() + 14, quoted.begin() + 14 + 28);
    FrameBuilder::set16(icmp, 2, FrameBuilder::checksum(icmp.data(), icmp.size()));
    EXPECT_EQ(endpoint.error(), 0);
    h.receive(FrameBuilder::ipv4(H::kOurMac, H::kPeerMac, H::kPeerIp, H::kOurIp, 1, icmp));
    EXPECT_EQ(endpoint.error(), ECONNREFUSED);
    EXPECT_EQ(endpoint.error(), 0);  // read once, as SO_ERROR
}

TEST_F(InetStackTest, APortCanBeBoundOnce) {
    h.open(7);
    auto again = UdpEndpoint::open(*h.stack, in_addr{INADDR_ANY}, 7, {});
    EXPECT_EQ(again.error(), EADDRINUSE);
    auto other = UdpEndpoint::open(*h.stack, H::ip(kOtherPeer), 8, {});
    EXPECT_EQ(other.error(), EADDRNOTAVAIL);
    auto ephemeral = UdpEndpoint::open(*h.stack, in_addr{INADDR_ANY}, 0, {});
    ASSERT_TRUE(ephemeral.ok());
    EXPECT_GE(ephemeral.value()->localPort(), 49152);
}

// ---- routing -----------------------------------------------------------------------------------------

TEST_F(InetStackTest, SendsOffTheSubnetThroughTheGatewayOrNotAtAll) {
    UdpEndpoint& endpoint = h.open(5000);
    auto send = [&] {
        Netbuf* data = endpoint.allocate(1);
        data->append("x", 1);
        return endpoint.sendTo(data, H::ip({192, 0, 2, 1}), 53);
    };
    EXPECT_EQ(send(), ENETUNREACH);
    EXPECT_EQ(stats().dropped(InetDrop::noRoute), 1u);
    EXPECT_EQ(h.stack->setGateway(H::ip({192, 0, 2, 254})), EINVAL);  // off the subnet
    ASSERT_EQ(h.stack->setGateway(H::ip(kOtherPeer)), 0);
    h.arpReply(kOtherPeer, kOtherMac);
    ASSERT_EQ(send(), 0);
    auto sent = h.takeSent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(isArpRequestFor(sent[0], kOtherPeer));  // the gateway is resolved, not the destination
    h.arpReply(kOtherPeer, kOtherMac);
    sent = h.takeSent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(std::equal(kOtherMac.begin(), kOtherMac.end(), sent[0].begin()));
    EXPECT_EQ(sent[0][30], 192);
}

// ---- other protocols ---------------------------------------------------------------------------------

// A TCP handler as the offload engine would be: keeps what it is given.
class KeepingProtocol : public Ipv4Protocol {
public:
    std::vector<Netbuf*> kept;
    void input(Netbuf* packet, const Ipv4View& ip) override {
        EXPECT_TRUE(TcpView::parse(ip.payload()).valid());
        kept.push_back(packet);
    }
    ~KeepingProtocol() override {
        for (Netbuf* nb : kept) nb->free();
    }
};

TEST_F(InetStackTest, HandsAnotherProtocolToItsHandlerOrDropsIt) {
    Frame tcp = {0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0};
    Frame frame = FrameBuilder::ipv4(H::kOurMac, H::kPeerMac, H::kPeerIp, H::kOurIp, 6, tcp);
    h.receive(frame);
    EXPECT_EQ(stats().dropped(InetDrop::ipProtocol), 1u);
    KeepingProtocol handler;
    EXPECT_EQ(h.stack->setProtocol(Ipv4View::kUdp, &handler), EINVAL);
    ASSERT_EQ(h.stack->setProtocol(Ipv4View::kTcp, &handler), 0);
    h.receive(frame);
    EXPECT_EQ(handler.kept.size(), 1u);
    ASSERT_EQ(h.stack->setProtocol(Ipv4View::kTcp, nullptr), 0);
}

// ---- fragments -------------------------------------------------------------------------------------

// Cuts the IPv4 frame @p frame (no options) into fragments of @p chunk payload bytes.
std::vector<Frame> fragments(const Frame& frame, std::size_t chunk = 1480) {
    std::vector<Frame> pieces;
    std::size_t payload = frame.size() - 34;
    for (std::size_t offset = 0; offset < payload; offset += chunk) {
        std::size_t length = std::min(chunk, payload - offset);
        Frame piece(frame.begin(), frame.begin() + 34);
        piece.insert(piece.end(), frame.begin() + 34 + static_cast<long>(offset),
                     frame.begin() + 34 + static_cast<long>(offset + length));
        FrameBuilder::set16(piece, FrameBuilder::kIpTotalLength, static_cast<std::uint16_t>(20 + length));
        bool more = offset + length < payload;
        FrameBuilder::set16(piece, 14 + 6, static_cast<std::uint16_t>((more ? 0x2000 : 0) | offset / 8));
        pieces.push_back(withIpChecksumFixed(piece));
    }
    return pieces;
}

TEST_F(InetStackTest, ReassemblesFragmentsArrivingInAnyOrder) {
    UdpEndpoint& endpoint = h.open(7);
    std::vector<Frame> pieces = fragments(udp(7, 8000));
    ASSERT_EQ(pieces.size(), 6u);
    std::swap(pieces[0], pieces[5]);
    std::swap(pieces[2], pieces[3]);
    h.receive(pieces);
    UdpDatagram datagram;
    ASSERT_EQ(endpoint.receive(&datagram, 1), 1u);
    Frame expected = payload(8000);
    ASSERT_EQ(datagram.payload().size(), expected.size());
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), datagram.payload().begin()));
    datagram.netbuf->free();
    EXPECT_EQ(stats().reassembled, 1u);
}

TEST_F(InetStackTest, DropsAnIncompleteDatagramAfterTheTimeout) {
    UdpEndpoint& endpoint = h.open(7);
    std::vector<Frame> pieces = fragments(udp(7, 3000));
    h.receive(pieces[0]);
    h.advance(30000);
    EXPECT_EQ(stats().dropped(InetDrop::reassemblyTimeout), 1u);
    h.receive(pieces[1]);
    h.receive(pieces[2]);
    EXPECT_EQ(endpoint.pending(), 0u);  // the first piece is gone with its datagram
}

TEST_F(InetStackTest, DropsAndCountsFragmentsWhenReassemblyIsOff) {
    InetStack::Options options = InetHarness::defaults();
    options.reassembly.enabled = false;
    InetHarness off(options);
    off.open(7);
    off.receive(fragments(udp(7, 3000)));
    EXPECT_EQ(off.stack->statistics().dropped(InetDrop::ipFragment), 3u);
}

TEST_F(InetStackTest, RefusesFragmentsAddingUpPastTheLargestDatagram) {
    Frame frame = udp(7, 100);
    FrameBuilder::set16(frame, 14 + 6, static_cast<std::uint16_t>(0x2000 | (65528 / 8)));
    h.receive(withIpChecksumFixed(frame));
    EXPECT_EQ(stats().dropped(InetDrop::reassemblyInvalid), 1u);
}

TEST_F(InetStackTest, SendsADatagramLargerThanTheMtuAsFragments) {
    h.arpReply(H::kPeerIp, H::kPeerMac);
    h.receive(FrameBuilder::arpRequest(H::kPeerMac, H::kPeerIp, H::kOurIp));
    h.takeSent();
    UdpEndpoint& endpoint = h.open(5000);
    Netbuf* large = endpoint.allocate(8000);
    ASSERT_NE(large, nullptr);
    Frame data = payload(8000);
    ASSERT_EQ(large->append(data.data(), 8000), 0);
    ASSERT_EQ(endpoint.sendTo(large, H::ip(H::kPeerIp), 6000), 0);
    auto sent = h.takeSent();
    ASSERT_EQ(sent.size(), 6u);
    Frame whole;
    for (std::size_t i = 0; i < sent.size(); ++i) {
        EXPECT_LE(sent[i].size(), 1514u);
        EXPECT_EQ(FrameBuilder::checksum(sent[i].data() + 14, 20), 0);
        std::uint16_t fragment = FrameBuilder::get16(sent[i], 14 + 6);
        EXPECT_EQ((fragment & 0x1fff) * 8u, whole.size());
        EXPECT_EQ((fragment & 0x2000) != 0, i + 1 < sent.size());
        whole.insert(whole.end(), sent[i].begin() + 34, sent[i].end());
    }
    ASSERT_EQ(whole.size(), 8008u);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), whole.begin() + 8));
    EXPECT_EQ(stats().fragmentsSent, 6u);
}

}  // namespace
