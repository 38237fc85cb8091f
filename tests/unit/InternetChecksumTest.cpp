// InternetChecksum (netbuf/): the Internet checksum of RFC 1071, its incremental update
// (RFC 1624), pseudo-header sums, and finishPartialChecksum for drivers without checksum offload.
#include "netbuf/InternetChecksum.h"
#include "netbuf/Netbuf.h"
#include "support/FrameBuilder.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstdint>
#include <random>
#include <vector>

using nexnet::InternetChecksum;
using nexnet::Netbuf;
using nexnet::NetbufOffload;
using nexnet::test::FrameBuilder;

namespace {

std::vector<std::uint8_t> randomBytes(std::size_t size, unsigned seed) {
    std::vector<std::uint8_t> data(size);
    std::mt19937 random(seed);
    for (auto& byte : data) byte = static_cast<std::uint8_t>(random());
    return data;
}

TEST(InternetChecksum, MatchesTheWorkedExampleOfRfc1071) {
    // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
    const std::uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(InternetChecksum::compute(data, sizeof data), 0x220d);
    EXPECT_EQ(InternetChecksum().add(data, sizeof data).folded(), 0xddf2);
}

TEST(InternetChecksum, AgreesWithAPlainLoopForEveryLengthAndAlignment) {
    // The fast path takes 32, 8, 4, 2 and 1 bytes at a time: every length up to 300 and every
    // start offset within 8 bytes crosses each boundary.
    std::vector<std::uint8_t> data = randomBytes(320, 3);
    for (std::size_t offset = 0; offset < 8; ++offset) {
        for (std::size_t length = 0; length <= 300; ++length)
            ASSERT_EQ(InternetChecksum::compute(data.data() + offset, length),
                      FrameBuilder::checksum(data.data() + offset, length))
                << offset << "+" << length;
    }
}

TEST(InternetChecksum, PiecesOfAnyLengthAddUpToTheWhole) {
    std::vector<std::uint8_t> data = randomBytes(1500, 7);
    for (std::size_t cut : {1u, 2u, 3u, 599u, 600u, 601u, 1499u}) {
        InternetChecksum pieces;
        pieces.add(data.data(), cut).add(data.data() + cut, data.size() - cut);
        EXPECT_EQ(pieces.value(), InternetChecksum::compute(data.data(), data.size())) << cut;
    }
    InternetChecksum three;
    three.add(data.data(), 5).add(data.data() + 5, 3).add(data.data() + 8, data.size() - 8);
    EXPECT_EQ(three.value(), InternetChecksum::compute(data.data(), data.size()));
}

TEST(InternetChecksum, SumsOfPiecesAddUpWithAddSum) {
    std::vector<std::uint8_t> data = randomBytes(101, 9);
    InternetChecksum first, second;
    first.add(data.data(), 51);
    second.add(data.data() + 51, 50);
    first.addSum(second);
    EXPECT_EQ(first.value(), InternetChecksum::compute(data.data(), data.size()));
}

TEST(InternetChecksum, DataHoldingItsOwnChecksumSumsToZero) {
    std::uint8_t header[20] = {0x45, 0, 0, 84, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2};
    std::uint16_t sum = InternetChecksum::compute(header, sizeof header);
    header[10] = static_cast<std::uint8_t>(sum >> 8);
    header[11] = static_cast<std::uint8_t>(sum);
    EXPECT_EQ(InternetChecksum::compute(header, sizeof header), 0);
}

TEST(InternetChecksum, PseudoHeaderMakesTheUdpChecksumOfAKnownFrame) {
    FrameBuilder::Frame frame = FrameBuilder::udp({2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 1}, {10, 77, 0, 1},
                                                  {10, 77, 0, 2}, 40000, 7, FrameBuilder::Frame(33, 0x5a));
    std::uint32_t source, destination;
    std::memcpy(&source, frame.data() + 26, 4);
    std::memcpy(&destination, frame.data() + 30, 4);
    std::size_t udpLength = frame.size() - FrameBuilder::kL4;
    InternetChecksum sum =
        InternetChecksum::pseudoHeader(source, destination, 17, static_cast<std::uint16_t>(udpLength));
    sum.add(frame.data() + FrameBuilder::kL4, udpLength);
    EXPECT_EQ(sum.value(), 0);  // the frame carries its correct checksum
}

TEST(InternetChecksum, UpdateEqualsRecomputingAfterAWordChanges) {
    std::mt19937 random(11);
    for (int round = 0; round < 1000; ++round) {
        std::vector<std::uint8_t> data = randomBytes(64, static_cast<unsigned>(round));
        std::uint16_t before = InternetChecksum::compute(data.data(), data.size());
        std::uint16_t oldWord = static_cast<std::uint16_t>(data[8] << 8 | data[9]);
        std::uint16_t newWord = static_cast<std::uint16_t>(random());
        data[8] = static_cast<std::uint8_t>(newWord >> 8);
        data[9] = static_cast<std::uint8_t>(newWord);
        std::uint16_t expected = InternetChecksum::compute(data.data(), data.size());
        std::uint16_t updated = InternetChecksum::update(before, oldWord, newWord);
        // 0x0000 and 0xffff are the same number in one's complement: either is right.
        EXPECT_TRUE(updated == expected || (updated ^ expected) == 0xffff) << round;
    }
}

TEST(InternetChecksum, Update32EqualsRecomputingAfterAnAddressChanges) {
    std::vector<std::uint8_t> data = randomBytes(40, 5);
    std::uint16_t before = InternetChecksum::compute(data.data(), data.size());
    std::uint32_t oldAddress, newAddress = htonl(0xc0a80101);
    std::memcpy(&oldAddress, data.data() + 12, 4);
    std::memcpy(data.data() + 12, &newAddress, 4);
    std::uint16_t updated = InternetChecksum::update32(before, oldAddress, newAddress);
    std::uint16_t expected = InternetChecksum::compute(data.data(), data.size());
    EXPECT_TRUE(updated == expected || (updated ^ expected) == 0xffff);
}

// ---- finishPartialChecksum --------------------------------------------------------------------

struct WrappedFrame {
    std::vector<std::uint8_t> bytes;
    Netbuf* netbuf;
    explicit WrappedFrame(std::vector<std::uint8_t> frame) : bytes(std::move(frame)) {
        netbuf = Netbuf::wrapWithFreeCallback(
            bytes.data(), static_cast<std::uint32_t>(bytes.size()), [](void*, std::uint32_t, void*) {}, nullptr);
    }
    ~WrappedFrame() { netbuf->free(); }
};

// A UDP frame whose checksum field holds only the pseudo-header sum, as a kernel with checksum
// offload hands it to a tap (virtio 1.2 section 5.1.6.2).
WrappedFrame partialUdp(std::uint16_t& correct) {
    FrameBuilder::Frame frame = FrameBuilder::udp({2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 1}, {10, 77, 0, 1},
                                                  {10, 77, 0, 2}, 40000, 7, randomBytes(77, 1));
    correct = FrameBuilder::get16(frame, FrameBuilder::kUdpChecksum);
    std::uint32_t source, destination;
    std::memcpy(&source, frame.data() + 26, 4);
    std::memcpy(&destination, frame.data() + 30, 4);
    auto udpLength = static_cast<std::uint16_t>(frame.size() - FrameBuilder::kL4);
    FrameBuilder::set16(frame, FrameBuilder::kUdpChecksum,
                        InternetChecksum::pseudoHeader(source, destination, 17, udpLength).folded());
    WrappedFrame wrapped(std::move(frame));
    wrapped.netbuf->offload().flags = NetbufOffload::kNeedsChecksum;
    wrapped.netbuf->offload().csumStart = FrameBuilder::kL4;
    wrapped.netbuf->offload().csumOffset = 6;
    return wrapped;
}

TEST(FinishPartialChecksum, CompletesAPartialUdpChecksumAsTheDeviceWould) {
    std::uint16_t correct = 0;
    WrappedFrame frame = partialUdp(correct);
    ASSERT_EQ(nexnet::finishPartialChecksum(*frame.netbuf), 0);
    EXPECT_EQ(FrameBuilder::get16(frame.bytes, FrameBuilder::kUdpChecksum), correct);
    EXPECT_FALSE(frame.netbuf->offload().needsChecksum());
}

TEST(FinishPartialChecksum, LeavesAPacketWithoutAPartialChecksumAlone) {
    std::uint16_t correct = 0;
    WrappedFrame frame = partialUdp(correct);
    frame.netbuf->offload().flags = 0;
    std::vector<std::uint8_t> before = frame.bytes;
    EXPECT_EQ(nexnet::finishPartialChecksum(*frame.netbuf), 0);
    EXPECT_EQ(frame.bytes, before);
}

TEST(FinishPartialChecksum, RefusesAChecksumFieldOutsideThePacket) {
    std::uint16_t correct = 0;
    WrappedFrame frame = partialUdp(correct);
    std::vector<std::uint8_t> before = frame.bytes;
    frame.netbuf->offload().csumOffset = static_cast<std::uint16_t>(frame.bytes.size());  // past the end
    EXPECT_EQ(nexnet::finishPartialChecksum(*frame.netbuf), EINVAL);
    frame.netbuf->offload().csumOffset = 6;
    frame.netbuf->offload().csumStart = 0xffff;
    EXPECT_EQ(nexnet::finishPartialChecksum(*frame.netbuf), EINVAL);
    EXPECT_EQ(frame.bytes, before);
    EXPECT_TRUE(frame.netbuf->offload().needsChecksum());
}

}  // namespace
