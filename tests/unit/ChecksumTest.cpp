// Checksum: the Internet checksum of RFC 1071 and its incremental update (RFC 1624).
#include "samples/responder/Checksum.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

using nexnet::Checksum;

TEST(Checksum, MatchesTheWorkedExampleOfRfc1071) {
    // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
    const std::uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(Checksum::compute(data, sizeof data), 0x220d);
}

TEST(Checksum, PadsAnOddLastByteWithZero) {
    const std::uint8_t odd[] = {0x12, 0x34, 0x56};
    const std::uint8_t even[] = {0x12, 0x34, 0x56, 0x00};
    EXPECT_EQ(Checksum::compute(odd, sizeof odd), Checksum::compute(even, sizeof even));
}

TEST(Checksum, DataHoldingItsOwnChecksumSumsToZero) {
    std::uint8_t header[20] = {0x45, 0, 0, 84, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2};
    std::uint16_t sum = Checksum::compute(header, sizeof header);
    header[10] = static_cast<std::uint8_t>(sum >> 8);
    header[11] = static_cast<std::uint8_t>(sum);
    EXPECT_EQ(Checksum::compute(header, sizeof header), 0);
}

TEST(Checksum, PiecesAddUpToTheWhole) {
    std::vector<std::uint8_t> data(1500);
    std::mt19937 random(7);
    for (auto& byte : data) byte = static_cast<std::uint8_t>(random());
    Checksum pieces;
    pieces.add(data.data(), 600);
    pieces.add(data.data() + 600, 900);
    EXPECT_EQ(pieces.value(), Checksum::compute(data.data(), data.size()));
}

TEST(Checksum, UpdateEqualsRecomputingAfterAWordChanges) {
    std::mt19937 random(11);
    for (int round = 0; round < 1000; ++round) {
        std::vector<std::uint8_t> data(64);
        for (auto& byte : data) byte = static_cast<std::uint8_t>(random());
        std::uint16_t before = Checksum::compute(data.data(), data.size());
        std::uint16_t oldWord = static_cast<std::uint16_t>(data[8] << 8 | data[9]);
        std::uint16_t newWord = static_cast<std::uint16_t>(random());
        data[8] = static_cast<std::uint8_t>(newWord >> 8);
        data[9] = static_cast<std::uint8_t>(newWord);
        std::uint16_t expected = Checksum::compute(data.data(), data.size());
        std::uint16_t updated = Checksum::update(before, oldWord, newWord);
        // 0x0000 and 0xffff are the same number in one's complement: either is right.
        EXPECT_TRUE(updated == expected || (updated ^ expected) == 0xffff) << round;
    }
}
