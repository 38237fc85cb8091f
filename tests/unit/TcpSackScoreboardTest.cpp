// TcpSackScoreboard: SACK blocks merged in order, RFC 6675's IsLost, SetPipe and NextSeg's holes.
#include "toe/TcpSackScoreboard.h"

#include <gtest/gtest.h>

namespace nexnet {
namespace {

constexpr std::uint32_t kMss = 1000;
constexpr std::uint32_t kBase = 0xfffff000u;  // across the wrap of sequence space

std::uint32_t update(TcpSackScoreboard& board, std::uint32_t left, std::uint32_t right, std::uint32_t high) {
    TcpOptions::SackBlock block{kBase + left, kBase + right};
    return board.update(&block, 1, kBase, kBase + high);
}

TEST(TcpSackScoreboardTest, MergesBlocksInOrderAndCountsOnlyNewBytes) {
    TcpSackScoreboard board;
    EXPECT_EQ(update(board, 5000, 6000, 10000), 1000u);
    EXPECT_EQ(update(board, 2000, 3000, 10000), 1000u);
    EXPECT_EQ(update(board, 5000, 6000, 10000), 0u);  // the same block again
    EXPECT_EQ(update(board, 3000, 4000, 10000), 1000u);
    ASSERT_EQ(board.size(), 2u);
    EXPECT_EQ(board.range(0).left, kBase + 2000);
    EXPECT_EQ(board.range(0).right, kBase + 4000);
    EXPECT_EQ(update(board, 3500, 5500, 10000), 1000u);  // bridges both
    EXPECT_EQ(board.size(), 1u);
    EXPECT_EQ(board.sackedBytes(), 4000u);
}

TEST(TcpSackScoreboardTest, IgnoresWhatIsAcknowledgedOrNeverSent) {
    TcpSackScoreboard board;
    TcpOptions::SackBlock dsack{kBase - 1000, kBase};  // a D-SACK below SND.UNA
    EXPECT_EQ(board.update(&dsack, 1, kBase, kBase + 10000), 0u);
    EXPECT_EQ(update(board, 9000, 12000, 10000), 1000u);  // clipped to what was sent
    board.acknowledge(kBase + 9500);
    EXPECT_EQ(board.sackedBytes(), 500u);
    board.acknowledge(kBase + 10000);
    EXPECT_TRUE(board.empty());
}

TEST(TcpSackScoreboardTest, ASegmentIsLostWithThreeRangesOrMoreThanTwoSegmentsSackedAbove) {
    TcpSackScoreboard board;
    update(board, 1000, 2000, 20000);
    EXPECT_FALSE(board.isLost(kBase, kMss));
    update(board, 3000, 4000, 20000);
    EXPECT_FALSE(board.isLost(kBase, kMss));
    update(board, 5000, 6000, 20000);
    EXPECT_TRUE(board.isLost(kBase, kMss));          // three discontiguous ranges above
    EXPECT_FALSE(board.isLost(kBase + 2000, kMss));  // two above the second hole
    TcpSackScoreboard bulk;
    update(bulk, 1000, 3000, 20000);
    EXPECT_FALSE(bulk.isLost(kBase, kMss));  // exactly 2 SMSS: not more
    update(bulk, 3000, 3001, 20000);
    EXPECT_TRUE(bulk.isLost(kBase, kMss));
}

TEST(TcpSackScoreboardTest, PipeLeavesOutSackedAndLostBytesAndCountsRetransmissions) {
    TcpSackScoreboard board;
    // Holes [0,1000) lost (3000 SACKed above), [4000,5000) not lost; sent up to 8000.
    update(board, 1000, 4000, 8000);
    update(board, 5000, 6000, 8000);
    EXPECT_TRUE(board.isLost(kBase, kMss));
    EXPECT_FALSE(board.isLost(kBase + 4000, kMss));
    // Not lost: hole 2 (1000) and the tail [6000,8000) (2000).
    EXPECT_EQ(board.pipe(kBase, kBase + 8000, kBase, kMss), 3000u);
    // The lost hole retransmitted: it counts again.
    EXPECT_EQ(board.pipe(kBase, kBase + 8000, kBase + 1000, kMss), 4000u);
}

TEST(TcpSackScoreboardTest, NextHoleFindsTheFirstUnsackedBytesAfterHighRxt) {
    TcpSackScoreboard board;
    update(board, 1000, 2000, 10000);
    update(board, 3000, 4000, 10000);
    update(board, 5000, 6000, 10000);
    std::uint32_t start = 0, end = 0;
    bool lost = false;
    ASSERT_TRUE(board.nextHole(kBase, kBase, kMss, start, end, lost));
    EXPECT_EQ(start, kBase);
    EXPECT_EQ(end, kBase + 1000);
    EXPECT_TRUE(lost);
    ASSERT_TRUE(board.nextHole(kBase + 1000, kBase, kMss, start, end, lost));
    EXPECT_EQ(start, kBase + 2000);
    EXPECT_EQ(end, kBase + 3000);
    EXPECT_FALSE(lost);
    EXPECT_FALSE(board.nextHole(kBase + 6000, kBase, kMss, start, end, lost));  // above the highest SACK
}

TEST(TcpSackScoreboardTest, StaysBoundedWhenThePeerReportsMoreRangesThanItKeeps) {
    TcpSackScoreboard board;
    for (std::uint32_t i = 0; i < 2 * TcpSackScoreboard::kMaxRanges; ++i)
        update(board, 1000 + i * 2000, 2000 + i * 2000, 1u << 20);
    EXPECT_EQ(board.size(), TcpSackScoreboard::kMaxRanges);
    EXPECT_EQ(board.range(0).left, kBase + 1000);  // the lowest ranges are the ones kept
}

}  // namespace
}  // namespace nexnet
