// nexnet-sample's answers, on the protocol layer: EchoService (the sample's UDP echo) over an
// InetStack on a driver that records what is sent. ARP and ping are InetStack's (InetStackTest);
// here: the echo itself, and what the sample must never answer (issue 17: loops, amplifiers).
#include "samples/responder/EchoService.h"
#include "unit/InetHarness.h"

#include <gtest/gtest.h>

#include <random>

using namespace nexnet;
using namespace nexnet::test;
using Frame = FrameBuilder::Frame;
using H = InetHarness;

namespace {

Frame payload(std::size_t size) {
    Frame data(size);
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 3);
    return data;
}

class SampleResponderTest : public ::testing::Test {
protected:
    SampleResponderTest() {
        echo_ = EchoService::open(*h.stack, 7).value();
        // The peer asked for our address first, as a kernel does: its entry is known.
        h.receive(FrameBuilder::arpRequest(H::kPeerMac, H::kPeerIp, H::kOurIp));
        h.takeSent();
    }
    ~SampleResponderTest() override { echo_.reset(); }

    Frame udp(std::size_t size, std::uint16_t sourcePort = 40000, const FrameBuilder::Ip& source = H::kPeerIp,
              const FrameBuilder::Ip& destination = H::kOurIp) {
        return FrameBuilder::udp(H::kOurMac, H::kPeerMac, source, destination, sourcePort, 7, payload(size));
    }
    // The frames sent after @p frame was received and the echo service ran.
    std::vector<Frame> answer(const Frame& frame) {
        h.receive(frame);
        echo_->serve();
        return h.takeSent();
    }

    InetHarness h;
    std::unique_ptr<EchoService> echo_;
};

TEST_F(SampleResponderTest, EchoesUdpOfEverySizeUpToTheMtuByteForByte) {
    for (std::size_t size : {0u, 1u, 2u, 100u, 1000u, 1472u}) {
        auto sent = answer(udp(size));
        ASSERT_EQ(sent.size(), 1u) << size;
        Frame expected = FrameBuilder::udp(H::kPeerMac, H::kOurMac, H::kOurIp, H::kPeerIp, 7, 40000, payload(size));
        // Our IPv4 header: identification of our own, DF off (we would fragment), TTL 64.
        FrameBuilder::set16(expected, 14 + 4, FrameBuilder::get16(sent[0], 14 + 4));
        FrameBuilder::set16(expected, 14 + 6, 0);
        FrameBuilder::set16(expected, FrameBuilder::kIpChecksum, 0);
        FrameBuilder::set16(expected, FrameBuilder::kIpChecksum, FrameBuilder::checksum(expected.data() + 14, 20));
        EXPECT_EQ(sent[0], expected) << size;
    }
    EXPECT_EQ(echo_->statistics().echoed, 6u);
}

TEST_F(SampleResponderTest, EchoesInTheReceivedNetbufWithoutCopying) {
    h.receive(udp(64));
    ASSERT_EQ(echo_->endpoint().pending(), 1u);
    // What serve() sends is the netbuf the driver received: the pool's in-use count does not grow.
    std::uint32_t inUse = h.driver->pool()->inUse();
    echo_->serve();
    EXPECT_EQ(h.driver->pool()->inUse(), inUse - 1);  // sent and freed by the driver: the same one
    EXPECT_EQ(h.takeSent().size(), 1u);
}

TEST_F(SampleResponderTest, NeverEchoesFromPortZeroOrAnotherEchoLikeService) {
    for (std::uint16_t port : {0, 7, 13, 17, 19, 37}) EXPECT_TRUE(answer(udp(8, port)).empty()) << port;
    EXPECT_EQ(echo_->statistics().refused, 6u);
    EXPECT_EQ(echo_->statistics().echoed, 0u);
}

TEST_F(SampleResponderTest, NeverEchoesFromItsOwnEchoPortOnAnotherNumber) {
    echo_.reset();
    echo_ = EchoService::open(*h.stack, 9999).value();
    Frame frame = FrameBuilder::udp(H::kOurMac, H::kPeerMac, H::kPeerIp, H::kOurIp, 9999, 9999, payload(8));
    EXPECT_TRUE(answer(frame).empty());  // two samples on 9999 would echo one datagram forever
    EXPECT_EQ(echo_->statistics().refused, 1u);
}

TEST_F(SampleResponderTest, NeverEchoesToAZeroSourceOrABroadcastDestination) {
    EXPECT_TRUE(answer(udp(8, 40000, {0, 0, 0, 0})).empty());
    Frame broadcast = FrameBuilder::udp({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, H::kPeerMac, H::kPeerIp, {10, 77, 0, 255},
                                        40000, 7, payload(8));
    EXPECT_TRUE(answer(broadcast).empty());
    EXPECT_EQ(echo_->statistics().refused, 2u);
}

TEST_F(SampleResponderTest, TwoSamplesAndASpoofedDatagramDoNotLoop) {
    // Issue 17: a datagram "from" the other sample's echo port is refused at once.
    Frame spoofed = FrameBuilder::udp(H::kOurMac, H::kPeerMac, H::kPeerIp, H::kOurIp, 7, 7, payload(8));
    EXPECT_TRUE(answer(spoofed).empty());
}

TEST_F(SampleResponderTest, EveryTruncationOfValidFramesIsDroppedWithoutReadingPastIt) {
    std::vector<Frame> frames = {
        FrameBuilder::arpRequest(H::kPeerMac, H::kPeerIp, H::kOurIp),
        FrameBuilder::icmpEcho(H::kOurMac, H::kPeerMac, H::kPeerIp, H::kOurIp, 1, 1, payload(32)), udp(32)};
    for (const Frame& whole : frames) {
        for (std::size_t length = 14; length < whole.size(); ++length)
            EXPECT_TRUE(answer(Frame(whole.begin(), whole.begin() + static_cast<long>(length))).empty()) << length;
    }
    EXPECT_EQ(echo_->statistics().echoed, 0u);
    EXPECT_EQ(h.stack->statistics().echoAnswered, 0u);
}

TEST_F(SampleResponderTest, RandomlyCorruptedFramesNeverCrashLeakOrGoUncounted) {
    std::mt19937 random(2024);
    std::vector<Frame> seeds = {
        FrameBuilder::arpRequest(H::kPeerMac, H::kPeerIp, H::kOurIp),
        FrameBuilder::icmpEcho(H::kOurMac, H::kPeerMac, H::kPeerIp, H::kOurIp, 1, 1, payload(64)), udp(64)};
    const int rounds = 20000;
    for (int round = 0; round < rounds; ++round) {
        Frame frame = seeds[round % seeds.size()];
        for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips)
            frame[14 + random() % (frame.size() - 14)] = static_cast<std::uint8_t>(random());
        frame.resize(random() % 2 ? frame.size() : 14 + random() % (frame.size() - 14));
        h.receive(frame);
        echo_->serve();
        h.takeSent();
    }
    const InterfaceStatistics& rx = h.interface->receiveStatistics();
    EXPECT_EQ(rx.packets, h.stack->statistics().received + rx.drops);  // taken by the layer or counted
    h.advance(60000);                                                  // reassembly and ARP expire
    echo_.reset();
    EXPECT_EQ(h.driver->pool()->inUse(), 0u);  // every netbuf came back
}

}  // namespace
