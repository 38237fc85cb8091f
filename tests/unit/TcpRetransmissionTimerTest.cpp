// TcpRetransmissionTimer: RFC 6298's estimator, its floor and ceiling, and the back-off.
#include "toe/TcpRetransmissionTimer.h"

#include <gtest/gtest.h>

namespace nexnet {
namespace {

TEST(TcpRetransmissionTimerTest, StartsAtOneSecondBeforeAnySample) {
    TcpRetransmissionTimer timer;
    EXPECT_FALSE(timer.hasEstimate());
    EXPECT_EQ(timer.rto(), 1'000'000u);  // RFC 6298 rule 2.1
}

TEST(TcpRetransmissionTimerTest, TheFirstSampleSetsSrttAndHalfOfItAsRttvar) {
    TcpRetransmissionLimits limits;
    limits.minimumUs = 1000;
    TcpRetransmissionTimer timer(limits);
    timer.sample(100'000);
    EXPECT_EQ(timer.smoothed(), 100'000u);
    EXPECT_EQ(timer.variance(), 50'000u);
    EXPECT_EQ(timer.rto(), 100'000u + 4 * 50'000u);  // rule 2.2: SRTT + 4 RTTVAR
}

TEST(TcpRetransmissionTimerTest, LaterSamplesMoveTheEstimateByAnEighthAndAQuarter) {
    TcpRetransmissionLimits limits;
    limits.minimumUs = 1000;
    TcpRetransmissionTimer timer(limits);
    timer.sample(100'000);
    timer.sample(200'000);
    // Rule 2.3: RTTVAR = 3/4 * 50000 + 1/4 * |100000 - 200000|; SRTT = 7/8 * 100000 + 1/8 * 200000.
    EXPECT_EQ(timer.variance(), 62'500u);
    EXPECT_EQ(timer.smoothed(), 112'500u);
    EXPECT_EQ(timer.rto(), 112'500u + 4 * 62'500u);
}

TEST(TcpRetransmissionTimerTest, NeverGoesUnderTheFloorNorUnderTheClockGranularity) {
    TcpRetransmissionTimer timer;  // Linux's 200 ms floor
    for (int i = 0; i < 50; ++i) timer.sample(50);
    EXPECT_EQ(timer.rto(), 200'000u);
    TcpRetransmissionLimits limits;
    limits.minimumUs = 0;
    TcpRetransmissionTimer fine(limits);
    for (int i = 0; i < 50; ++i) fine.sample(50);
    EXPECT_GE(fine.rto(), limits.granularityUs);  // max(G, 4 RTTVAR)
}

TEST(TcpRetransmissionTimerTest, BacksOffByDoublingUpToTheCeilingAndANewSampleEndsIt) {
    TcpRetransmissionTimer timer;
    timer.sample(300'000);
    std::uint32_t base = timer.rto();
    timer.backOff();
    EXPECT_EQ(timer.rto(), 2 * base);  // rule 5.5
    timer.backOff();
    EXPECT_EQ(timer.rto(), 4 * base);
    for (int i = 0; i < 40; ++i) timer.backOff();
    EXPECT_EQ(timer.rto(), 120'000'000u);
    timer.sample(300'000);
    EXPECT_EQ(timer.backOffs(), 0u);
    EXPECT_LT(timer.rto(), 2 * base);
}

TEST(TcpRetransmissionTimerTest, ASeedContinuesTheKernelsEstimate) {
    TcpRetransmissionTimer timer;
    timer.seed(0, 0);
    EXPECT_FALSE(timer.hasEstimate());
    timer.seed(400'000, 100'000);
    EXPECT_EQ(timer.rto(), 800'000u);
}

}  // namespace
}  // namespace nexnet
