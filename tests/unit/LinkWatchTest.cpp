// LinkWatch: the lines nexnet-sample and nexnet-fwd print when a driver's link or health changes,
// in every order a deleted and recreated tap can go through them between two looks.
#include "samples/common/LinkWatch.h"

#include "drivers/null/NullDriver.h"

#include <gtest/gtest.h>

using namespace nexnet;

namespace {

class LinkWatchTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto made = NullDriver::create(NullDriver::Options{}, 64);
        ASSERT_TRUE(made);
        driver_ = std::move(made.value());
        driver_->setLinkStatus(LinkStatus::up);
    }
    void fail() {
        driver_->setLinkStatus(LinkStatus::down);
        driver_->setFaultDescription("interface nx0 was deleted; waiting for it to come back");
    }
    std::unique_ptr<NullDriver> driver_;
};

TEST_F(LinkWatchTest, SaysNothingUntilSomethingChanges) {
    LinkWatch watch(*driver_, "tap:nx0");
    EXPECT_EQ(watch.change(), std::nullopt);
    EXPECT_EQ(watch.exitStatus(), 0);
    EXPECT_EQ(watch.finalMessage(), std::nullopt);
}

TEST_F(LinkWatchTest, AFaultIsSaidWithItsReasonAndDecidesTheExitStatus) {
    LinkWatch watch(*driver_, "tap:nx0");
    fail();
    EXPECT_EQ(watch.change(), "tap:nx0: link down: interface nx0 was deleted; waiting for it to come back");
    EXPECT_EQ(watch.change(), std::nullopt);
    EXPECT_EQ(watch.exitStatus(), 1);
    EXPECT_EQ(watch.finalMessage(),
              "tap:nx0: stopping with a fault: interface nx0 was deleted; waiting for it to come back");
}

TEST_F(LinkWatchTest, TheLinkComingBackWithTheFaultClearedIsUpAgain) {
    LinkWatch watch(*driver_, "tap:nx0");
    fail();
    watch.change();
    driver_->setFaultDescription("");
    driver_->setLinkStatus(LinkStatus::up);
    EXPECT_EQ(watch.change(), "tap:nx0: link up again");
    EXPECT_EQ(watch.exitStatus(), 0);
}

// The recreated tap is taken again while still down, and brought up later: two looks, and the
// second one still says "again".
TEST_F(LinkWatchTest, TheLinkComingUpAfterTheFaultClearedIsUpAgainToo) {
    LinkWatch watch(*driver_, "tap:nx0");
    fail();
    watch.change();
    driver_->setFaultDescription("");
    EXPECT_EQ(watch.change(), "tap:nx0: link down (the fault has cleared)");
    driver_->setLinkStatus(LinkStatus::up);
    EXPECT_EQ(watch.change(), "tap:nx0: link up again");
    driver_->setLinkStatus(LinkStatus::down);
    watch.change();
    driver_->setLinkStatus(LinkStatus::up);
    EXPECT_EQ(watch.change(), "tap:nx0: link up") << "a plain flap is no recovery";
}

}  // namespace
