// SampleResponder (nexnet-sample's protocol layer): answers ARP, ICMP echo and UDP echo for its
// address, and drops and counts malformed frames without ever reading outside them.
//
// Frames are wrapped in netbufs over heap blocks of exactly their size, so AddressSanitizer
// (the -DNEXNET_SANITIZE=ON build) catches any read past the end of a frame.
#include "netbuf/Netbuf.h"
#include "samples/responder/SampleResponder.h"
#include "support/FrameBuilder.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <optional>
#include <random>

using namespace nexnet;
using nexnet::test::FrameBuilder;
using Frame = FrameBuilder::Frame;

namespace {

const FrameBuilder::Mac kOurMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
const FrameBuilder::Mac kPeerMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const FrameBuilder::Ip kOurIp = {10, 77, 0, 2};
const FrameBuilder::Ip kPeerIp = {10, 77, 0, 1};
const FrameBuilder::Ip kOtherIp = {10, 77, 0, 3};

Netbuf* wrap(const Frame& frame) {
    auto* memory = new std::uint8_t[frame.size() + (frame.empty() ? 1 : 0)];
    if (!frame.empty()) std::memcpy(memory, frame.data(), frame.size());
    return Netbuf::wrapWithFreeCallback(
        memory, static_cast<std::uint32_t>(frame.size()),
        [](void* data, std::uint32_t, void*) { delete[] static_cast<std::uint8_t*>(data); }, nullptr);
}

Frame payload(std::size_t size) {
    Frame data(size);
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 3);
    return data;
}

class SampleResponderTest : public ::testing::Test {
protected:
    SampleResponderTest() : responder_(options()) {}

    static SampleResponder::Options options() {
        SampleResponder::Options o;
        o.mac = EthernetAddress::fromBytes(kOurMac.data());
        std::memcpy(&o.ip.s_addr, kOurIp.data(), 4);
        o.udpPort = 7;
        return o;
    }

    // The reply to @p frame, or nullopt when the responder did not answer.
    std::optional<Frame> answer(const Frame& frame) {
        Netbuf* in = wrap(frame);
        Netbuf* reply = nullptr;
        if (responder_.respond(&in, 1, &reply) == 0) return std::nullopt;
        Frame out(reply->data(), reply->data() + reply->size());
        reply->free();
        return out;
    }

    std::uint64_t dropped(DropReason reason) const { return responder_.statistics().dropped(reason); }

    // Sends @p frame and expects it dropped for @p reason and nothing else counted.
    void expectDropped(const Frame& frame, DropReason reason) {
        EXPECT_FALSE(answer(frame).has_value());
        EXPECT_EQ(dropped(reason), 1u) << dropReasonName(reason) << ": " << responder_.statistics().format();
        EXPECT_EQ(responder_.statistics().totalDrops(), 1u) << responder_.statistics().format();
    }

    Frame ping(std::size_t size = 56) { return FrameBuilder::icmpEcho(kOurMac, kPeerMac, kPeerIp, kOurIp, 0x77, 1, payload(size)); }
    Frame udp(std::size_t size, std::uint16_t port = 7) {
        return FrameBuilder::udp(kOurMac, kPeerMac, kPeerIp, kOurIp, 40000, port, payload(size));
    }

    SampleResponder responder_;
};

// ---- answers ---------------------------------------------------------------------------------

TEST_F(SampleResponderTest, AnswersAnArpRequestForItsAddressWithItsMac) {
    auto reply = answer(FrameBuilder::arpRequest(kPeerMac, kPeerIp, kOurIp));
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->size(), 42u);
    EXPECT_TRUE(std::equal(kPeerMac.begin(), kPeerMac.end(), reply->begin()));      // to the asker
    EXPECT_TRUE(std::equal(kOurMac.begin(), kOurMac.end(), reply->begin() + 6));    // from us
    EXPECT_EQ(FrameBuilder::get16(*reply, 12), 0x0806);
    EXPECT_EQ(FrameBuilder::get16(*reply, 14 + 6), 2);                              // ARP reply
    EXPECT_TRUE(std::equal(kOurMac.begin(), kOurMac.end(), reply->begin() + 14 + 8));
    EXPECT_TRUE(std::equal(kOurIp.begin(), kOurIp.end(), reply->begin() + 14 + 14));
    EXPECT_TRUE(std::equal(kPeerMac.begin(), kPeerMac.end(), reply->begin() + 14 + 18));
    EXPECT_TRUE(std::equal(kPeerIp.begin(), kPeerIp.end(), reply->begin() + 14 + 24));
    EXPECT_EQ(responder_.statistics().arpReplies, 1u);
}

TEST_F(SampleResponderTest, IgnoresArpRequestsForAnotherAddress) {
    EXPECT_FALSE(answer(FrameBuilder::arpRequest(kPeerMac, kPeerIp, kOtherIp)));
    EXPECT_EQ(responder_.statistics().ignored, 1u);
    EXPECT_EQ(responder_.statistics().totalDrops(), 0u);
}

TEST_F(SampleResponderTest, IgnoresArpReplies) {
    Frame frame = FrameBuilder::arpRequest(kPeerMac, kPeerIp, kOurIp);
    FrameBuilder::set16(frame, 14 + 6, 2);
    EXPECT_FALSE(answer(frame));
    EXPECT_EQ(responder_.statistics().ignored, 1u);
}

TEST_F(SampleResponderTest, AnswersAPingWithTheSameDataAndCorrectChecksums) {
    Frame request = ping(56);
    auto reply = answer(request);
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->size(), request.size());
    EXPECT_TRUE(std::equal(kPeerMac.begin(), kPeerMac.end(), reply->begin()));
    EXPECT_TRUE(std::equal(kOurMac.begin(), kOurMac.end(), reply->begin() + 6));
    EXPECT_TRUE(std::equal(kOurIp.begin(), kOurIp.end(), reply->begin() + 14 + 12));   // source
    EXPECT_TRUE(std::equal(kPeerIp.begin(), kPeerIp.end(), reply->begin() + 14 + 16)); // destination
    EXPECT_EQ(FrameBuilder::checksum(reply->data() + 14, 20), 0);                      // IP header
    EXPECT_EQ((*reply)[FrameBuilder::kL4], 0);                                         // echo reply
    EXPECT_EQ(FrameBuilder::checksum(reply->data() + FrameBuilder::kL4, reply->size() - FrameBuilder::kL4), 0);
    EXPECT_TRUE(std::equal(request.begin() + FrameBuilder::kL4 + 4, request.end(), reply->begin() + FrameBuilder::kL4 + 4));
    EXPECT_EQ(responder_.statistics().icmpReplies, 1u);
}

TEST_F(SampleResponderTest, EchoesUdpOfEverySizeUpToTheMtuByteForByte) {
    for (std::size_t size : {0u, 1u, 2u, 100u, 1000u, 1472u}) {
        Frame request = udp(size);
        auto reply = answer(request);
        ASSERT_TRUE(reply) << size;
        ASSERT_EQ(reply->size(), request.size()) << size;
        EXPECT_EQ(FrameBuilder::get16(*reply, FrameBuilder::kL4), 7) << size;          // from port 7
        EXPECT_EQ(FrameBuilder::get16(*reply, FrameBuilder::kL4 + 2), 40000) << size;  // back to the sender
        EXPECT_TRUE(std::equal(request.begin() + FrameBuilder::kL4 + 8, request.end(), reply->begin() + FrameBuilder::kL4 + 8));
        // The UDP checksum stays right with the addresses and ports swapped.
        Frame expected = FrameBuilder::udp(kPeerMac, kOurMac, kOurIp, kPeerIp, 7, 40000, payload(size));
        EXPECT_EQ(FrameBuilder::get16(*reply, FrameBuilder::kUdpChecksum), FrameBuilder::get16(expected, FrameBuilder::kUdpChecksum)) << size;
    }
    EXPECT_EQ(responder_.statistics().udpReplies, 6u);
}

TEST_F(SampleResponderTest, EchoesUdpOnTheConfiguredPortOnly) {
    SampleResponder::Options o = options();
    o.udpPort = 9999;
    SampleResponder other(o);
    Netbuf* in[2] = {wrap(udp(10, 9999)), wrap(udp(10, 7))};
    Netbuf* replies[2];
    ASSERT_EQ(other.respond(in, 2, replies), 1u);
    EXPECT_EQ(FrameBuilder::get16(Frame(replies[0]->data(), replies[0]->data() + replies[0]->size()), FrameBuilder::kL4), 9999);
    replies[0]->free();
    EXPECT_EQ(other.statistics().ignored, 1u);
}

TEST_F(SampleResponderTest, EchoesUdpSentWithoutAChecksum) {
    auto reply = answer(FrameBuilder::udp(kOurMac, kPeerMac, kPeerIp, kOurIp, 40000, 7, payload(20), false));
    ASSERT_TRUE(reply);
    EXPECT_EQ(FrameBuilder::get16(*reply, FrameBuilder::kUdpChecksum), 0);
}

TEST_F(SampleResponderTest, RemovesEthernetPaddingFromItsReplies) {
    Frame request = udp(1);
    std::size_t unpadded = request.size();
    request.resize(60, 0);  // as a NIC pads a short frame
    auto reply = answer(request);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->size(), unpadded);
}

TEST_F(SampleResponderTest, IgnoresFramesForAnotherStation) {
    Frame frame = FrameBuilder::icmpEcho({0x02, 9, 9, 9, 9, 9}, kPeerMac, kPeerIp, kOurIp, 1, 1, payload(8));
    EXPECT_FALSE(answer(frame));
    EXPECT_EQ(responder_.statistics().ignored, 1u);
}

TEST_F(SampleResponderTest, IgnoresPacketsForAnotherIpAddress) {
    EXPECT_FALSE(answer(FrameBuilder::icmpEcho(kOurMac, kPeerMac, kPeerIp, kOtherIp, 1, 1, payload(8))));
    EXPECT_EQ(responder_.statistics().ignored, 1u);
    EXPECT_EQ(responder_.statistics().totalDrops(), 0u);
}

TEST_F(SampleResponderTest, IgnoresIcmpMessagesOtherThanEchoRequests) {
    Frame frame = ping();
    frame[FrameBuilder::kL4] = 0;  // an echo reply
    FrameBuilder::set16(frame, FrameBuilder::kIcmpChecksum, 0);
    FrameBuilder::set16(frame, FrameBuilder::kIcmpChecksum, FrameBuilder::checksum(frame.data() + FrameBuilder::kL4, frame.size() - FrameBuilder::kL4));
    EXPECT_FALSE(answer(frame));
    EXPECT_EQ(responder_.statistics().ignored, 1u);
}

// ---- malformed frames: dropped and counted by reason -----------------------------------------

TEST_F(SampleResponderTest, DropsARunt) { expectDropped(Frame(10, 0xff), DropReason::runt); }

TEST_F(SampleResponderTest, DropsAnUnknownEthertype) {
    expectDropped(FrameBuilder::ethernet(kOurMac, kPeerMac, 0x88b5, payload(46)), DropReason::ethertype);
}

TEST_F(SampleResponderTest, DropsAnIeee8023LengthFieldAsEthertype) {
    expectDropped(FrameBuilder::ethernet(kOurMac, kPeerMac, 46, payload(46)), DropReason::ethertype);
}

TEST_F(SampleResponderTest, DropsATruncatedArp) {
    Frame frame = FrameBuilder::arpRequest(kPeerMac, kPeerIp, kOurIp);
    frame.resize(14 + 20);
    expectDropped(frame, DropReason::arpTruncated);
}

TEST_F(SampleResponderTest, DropsArpForAnotherProtocol) {
    Frame frame = FrameBuilder::arpRequest(kPeerMac, kPeerIp, kOurIp);
    FrameBuilder::set16(frame, 14 + 2, 0x86dd);
    expectDropped(frame, DropReason::arpFormat);
}

TEST_F(SampleResponderTest, DropsATruncatedIpHeader) {
    Frame frame = ping();
    frame.resize(14 + 12);
    expectDropped(frame, DropReason::ipTruncated);
}

TEST_F(SampleResponderTest, DropsIpOptionsCutShort) {
    Frame frame = ping(0);
    frame[14] = 0x4f;  // 60-byte header announced, 28 bytes present
    expectDropped(frame, DropReason::ipTruncated);
}

TEST_F(SampleResponderTest, DropsAnIpVersionOtherThanFour) {
    Frame frame = ping();
    frame[14] = 0x65;
    expectDropped(frame, DropReason::ipHeader);
}

TEST_F(SampleResponderTest, DropsABadIpHeaderChecksum) {
    Frame frame = ping();
    frame[FrameBuilder::kIpChecksum] ^= 0x01;
    expectDropped(frame, DropReason::ipChecksum);
}

TEST_F(SampleResponderTest, DropsAnIpTotalLengthLargerThanTheFrame) {
    Frame frame = ping();
    FrameBuilder::set16(frame, FrameBuilder::kIpTotalLength, static_cast<std::uint16_t>(frame.size()));  // 14 too many
    FrameBuilder::set16(frame, FrameBuilder::kIpChecksum, 0);
    FrameBuilder::set16(frame, FrameBuilder::kIpChecksum, FrameBuilder::checksum(frame.data() + 14, 20));
    expectDropped(frame, DropReason::ipLength);
}

TEST_F(SampleResponderTest, DropsIpFragments) {
    Frame frame = ping();
    FrameBuilder::set16(frame, 14 + 6, 0x2000);  // more fragments
    FrameBuilder::set16(frame, FrameBuilder::kIpChecksum, 0);
    FrameBuilder::set16(frame, FrameBuilder::kIpChecksum, FrameBuilder::checksum(frame.data() + 14, 20));
    expectDropped(frame, DropReason::ipFragment);
}

TEST_F(SampleResponderTest, DropsABadIcmpChecksum) {
    Frame frame = ping();
    frame.back() ^= 0x40;
    expectDropped(frame, DropReason::icmpChecksum);
}

TEST_F(SampleResponderTest, DropsIcmpShorterThanItsHeader) {
    expectDropped(FrameBuilder::ipv4(kOurMac, kPeerMac, kPeerIp, kOurIp, 1, {8, 0, 0, 0}), DropReason::icmpTruncated);
}

TEST_F(SampleResponderTest, DropsAUdpLengthNotMatchingThePacket) {
    Frame frame = udp(10);
    FrameBuilder::set16(frame, FrameBuilder::kL4 + 4, 200);
    expectDropped(frame, DropReason::udpLength);
}

TEST_F(SampleResponderTest, DropsABadUdpChecksum) {
    Frame frame = udp(10);
    frame.back() ^= 0x01;
    expectDropped(frame, DropReason::udpChecksum);
}

TEST_F(SampleResponderTest, EveryTruncationOfValidFramesIsDroppedWithoutReadingPastIt) {
    std::vector<Frame> frames = {FrameBuilder::arpRequest(kPeerMac, kPeerIp, kOurIp), ping(32), udp(32)};
    std::uint64_t offered = 0;
    for (const Frame& whole : frames) {
        for (std::size_t length = 0; length < whole.size(); ++length) {
            EXPECT_FALSE(answer(Frame(whole.begin(), whole.begin() + static_cast<long>(length)))) << length;
            ++offered;
        }
    }
    EXPECT_EQ(responder_.statistics().totalDrops(), offered);
}

TEST_F(SampleResponderTest, RandomlyCorruptedFramesNeverCrashAndAreAllAccountedFor) {
    std::mt19937 random(2024);
    std::vector<Frame> seeds = {FrameBuilder::arpRequest(kPeerMac, kPeerIp, kOurIp), ping(64), udp(64)};
    const int rounds = 20000;
    for (int round = 0; round < rounds; ++round) {
        Frame frame = seeds[round % seeds.size()];
        for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips)
            frame[14 + random() % (frame.size() - 14)] = static_cast<std::uint8_t>(random());
        frame.resize(random() % 2 ? frame.size() : random() % frame.size());
        Netbuf* in = wrap(frame);
        Netbuf* reply = nullptr;
        if (responder_.respond(&in, 1, &reply) == 1) reply->free();
    }
    const ResponderStatistics& s = responder_.statistics();
    EXPECT_EQ(s.received, static_cast<std::uint64_t>(rounds));
    EXPECT_EQ(s.arpReplies + s.icmpReplies + s.udpReplies + s.ignored + s.totalDrops(), s.received);
}

TEST_F(SampleResponderTest, StatisticsLineNamesEveryCounterAndTheReasonsThatHappened) {
    answer(ping());
    answer(Frame(10, 0));
    std::string line = responder_.statistics().format();
    for (const char* key : {"rx=2", "tx=0", "arp=0", "icmp=1", "udp=0", "ignored=0", "drops=1", "runt=1"})
        EXPECT_NE(line.find(key), std::string::npos) << key << " in " << line;
    EXPECT_EQ(line.find("ip-checksum"), std::string::npos) << line;
}

}  // namespace
