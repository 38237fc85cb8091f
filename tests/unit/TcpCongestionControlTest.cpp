// TcpCongestionControl: slow start, congestion avoidance, fast retransmit and NewReno's fast
// recovery (RFC 5681, RFC 6582), the SACK variant (RFC 6675) and the timeout.
#include "toe/TcpCongestionControl.h"

#include <gtest/gtest.h>

namespace nexnet {
namespace {

using Response = TcpCongestionControl::Response;
constexpr std::uint32_t kMss = 1000;

TEST(TcpCongestionControlTest, StartsWithTenSegmentsAndNoThreshold) {
    TcpCongestionControl cc(kMss);
    EXPECT_EQ(cc.window(), 10 * kMss);
    EXPECT_GT(cc.threshold(), 1u << 29);
    TcpCongestionControl carried(kMss, 30 * kMss, 20 * kMss);
    EXPECT_EQ(carried.window(), 30 * kMss);
    EXPECT_EQ(carried.threshold(), 20 * kMss);
}

TEST(TcpCongestionControlTest, SlowStartGrowsByWhatIsAcknowledgedAtMostTwoSegmentsAnAck) {
    TcpCongestionControl cc(kMss);
    EXPECT_EQ(cc.acknowledged(1000, kMss, 9 * kMss, 10 * kMss), Response::none);
    EXPECT_EQ(cc.window(), 11 * kMss);
    cc.acknowledged(6000, 5 * kMss, 5 * kMss, 10 * kMss);  // a stretch ACK: RFC 3465's L = 2
    EXPECT_EQ(cc.window(), 13 * kMss);
}

TEST(TcpCongestionControlTest, AWindowTheSenderDoesNotFillDoesNotGrow) {
    TcpCongestionControl cc(kMss);
    cc.acknowledged(1000, kMss, 0, 2 * kMss);  // 2 segments out of a 10-segment window
    EXPECT_EQ(cc.window(), 10 * kMss);
}

TEST(TcpCongestionControlTest, CongestionAvoidanceAddsOneSegmentPerWindowAcknowledged) {
    TcpCongestionControl cc(kMss, 10 * kMss, 5 * kMss);
    std::uint32_t ack = 0;
    for (int i = 0; i < 9; ++i) cc.acknowledged(ack += kMss, kMss, 9 * kMss, 10 * kMss);
    EXPECT_EQ(cc.window(), 10 * kMss);
    cc.acknowledged(ack += kMss, kMss, 9 * kMss, 10 * kMss);
    EXPECT_EQ(cc.window(), 11 * kMss);
}

TEST(TcpCongestionControlTest, TheThirdDuplicateAckStartsNewRenoRecovery) {
    TcpCongestionControl cc(kMss, 20 * kMss, 100 * kMss);
    std::uint32_t una = 5000, high = una + 20 * kMss;
    EXPECT_EQ(cc.duplicate(una, 20 * kMss, high, false), Response::none);
    EXPECT_EQ(cc.duplicate(una, 20 * kMss, high, false), Response::none);
    EXPECT_EQ(cc.duplicate(una, 20 * kMss, high, false), Response::fastRetransmit);
    EXPECT_TRUE(cc.inRecovery());
    EXPECT_EQ(cc.threshold(), 10 * kMss);  // FlightSize / 2
    EXPECT_EQ(cc.window(), 13 * kMss);     // ssthresh + 3 SMSS
    EXPECT_EQ(cc.recoveryPoint(), high);
    EXPECT_EQ(cc.duplicate(una, 20 * kMss, high, false), Response::none);
    EXPECT_EQ(cc.window(), 14 * kMss);  // inflated by each further duplicate
    // A partial ACK: retransmit the next hole; deflate by what it acknowledged, one SMSS back.
    EXPECT_EQ(cc.acknowledged(una + 4 * kMss, 4 * kMss, 16 * kMss, 20 * kMss), Response::retransmitFirst);
    EXPECT_EQ(cc.window(), 11 * kMss);
    EXPECT_TRUE(cc.inRecovery());
    // The full ACK ends it: cwnd = min(ssthresh, FlightSize + SMSS).
    EXPECT_EQ(cc.acknowledged(high, 16 * kMss, 0, 16 * kMss), Response::recovered);
    EXPECT_FALSE(cc.inRecovery());
    EXPECT_EQ(cc.window(), kMss + kMss);
}

TEST(TcpCongestionControlTest, NoSecondFastRetransmitForTheWindowAlreadyRecovered) {
    TcpCongestionControl cc(kMss, 20 * kMss, 100 * kMss);
    std::uint32_t high = 20 * kMss;
    for (int i = 0; i < 3; ++i) cc.duplicate(0, 20 * kMss, high, false);
    ASSERT_TRUE(cc.inRecovery());
    cc.timeout(20 * kMss, high);  // a timeout inside recovery: recover stays at the highest sent
    EXPECT_FALSE(cc.inRecovery());
    EXPECT_EQ(cc.window(), kMss);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(cc.duplicate(2 * kMss, 18 * kMss, high, false), Response::none);
    EXPECT_FALSE(cc.inRecovery());  // RFC 6582 section 4: duplicates below recover are old news
    cc.acknowledged(high, 18 * kMss, 0, 18 * kMss);
    for (int i = 0; i < 2; ++i) cc.duplicate(high, 10 * kMss, high + 10 * kMss, false);
    EXPECT_EQ(cc.duplicate(high, 10 * kMss, high + 10 * kMss, false), Response::fastRetransmit);
}

TEST(TcpCongestionControlTest, SackRecoveryStartsWhenTheScoreboardSaysLostAndDoesNotInflate) {
    TcpCongestionControl cc(kMss, 20 * kMss, 100 * kMss);
    cc.sack(true);
    EXPECT_EQ(cc.duplicate(0, 20 * kMss, 20 * kMss, true), Response::fastRetransmit);  // one duplicate suffices
    EXPECT_EQ(cc.window(), 10 * kMss);                                                 // cwnd = ssthresh
    cc.duplicate(0, 20 * kMss, 20 * kMss, true);
    EXPECT_EQ(cc.window(), 10 * kMss);
    EXPECT_EQ(cc.acknowledged(20 * kMss, 20 * kMss, 0, 20 * kMss), Response::recovered);
    EXPECT_EQ(cc.window(), 10 * kMss);
}

TEST(TcpCongestionControlTest, ATimeoutLeavesOneSegmentAndHalvesTheThreshold) {
    TcpCongestionControl cc(kMss, 40 * kMss, 100 * kMss);
    cc.timeout(30 * kMss, 30 * kMss);
    EXPECT_EQ(cc.window(), kMss);
    EXPECT_EQ(cc.threshold(), 15 * kMss);
    cc.timeout(kMss, kMss);
    EXPECT_EQ(cc.threshold(), 2 * kMss);  // never under two segments
}

}  // namespace
}  // namespace nexnet
