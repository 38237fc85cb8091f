// Faults injected into a tap driver while traffic runs, the driver under a NetworkInterface in an
// event loop in interrupt mode (as nexnet-sample runs it): the interface deleted and then created
// again, and the pool running dry. Each time: the fault is said, the loop sleeps instead of
// spinning, nothing leaks, and traffic flows again once the fault is gone.
#include "kernel/TapHarness.h"

#include "framework/EventLoop.h"
#include "netif/NetworkInterface.h"

using namespace nexnet;
using namespace nexnet::test;

namespace {

// Counts received frames; while holding, keeps every netbuf it is given (a consumer that stopped
// freeing: the pool runs dry).
struct Counter final : InputConsumer {
    std::uint64_t frames = 0;
    bool holding = false;
    std::vector<Netbuf*> held;
    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        takeRemaining(packets, count, [this](Netbuf** burst, unsigned n) {
            frames += n;
            if (holding) held.insert(held.end(), burst, burst + n);
            else NetbufPool::freeToOwners(burst, n);
        });
    }
    void release() {
        holding = false;
        NetbufPool::freeToOwners(held.data(), static_cast<unsigned>(held.size()));
        held.clear();
    }
};

class TapFaultTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        ns_ = std::make_unique<NetworkNamespace>("fault");
        ASSERT_TRUE(ns_->ok());
        name_ = uniqueTapName("f");
    }
    void TearDown() override {
        if (interface_ != nullptr) {
            interface_->detach();
            interface_->removeInputConsumer(&counter_);
        }
        counter_.release();
        interface_.reset();
        runCommand("ip link del " + name_ + " 2>/dev/null");  // recreated persistent ones
        if (ns_ != nullptr) ns_->run("ip link del " + name_);
    }

    void start(const std::string& options) {
        auto driver = builtinDrivers().open("tap:" + name_ + options);
        ASSERT_TRUE(driver) << driver.describe();
        interface_ = std::make_unique<NetworkInterface>(std::move(driver.value()));
        ASSERT_TRUE(moveIntoNamespace(name_, *ns_, "10.79.0.1/24"));
        ASSERT_EQ(interface_->setUp(), 0);
        interface_->addInputConsumer(&counter_);
        interface_->setLinkHandler([this](bool up) { links_.push_back(up); });
        auto loop = EventLoop::create();
        ASSERT_TRUE(loop);
        loop_ = std::move(loop.value());
        auto mode = interface_->attach(*loop_, NetworkInterface::Mode::interrupt);
        ASSERT_TRUE(mode);
        ASSERT_EQ(mode.value(), NetworkInterface::Mode::interrupt);
    }
    TapDriver& tap() { return static_cast<TapDriver&>(interface_->driver()); }

    // Runs the loop until @p done or @p timeout. @return the handlers that ran meanwhile.
    std::uint64_t runUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
        std::uint64_t handlers = 0;
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            int ran = loop_->runOnce(std::chrono::milliseconds(50));
            handlers += ran > 0 ? static_cast<unsigned>(ran) : 0;
        }
        return handlers;
    }
    // Runs the loop for @p time. @return the handlers that ran: how often the loop woke.
    std::uint64_t runFor(std::chrono::milliseconds time) {
        return runUntil([] { return false; }, time);
    }
    // Frames counted within @p timeout after now (0: traffic does not flow).
    std::uint64_t moreFrames(std::uint64_t wanted, std::chrono::milliseconds timeout) {
        std::uint64_t before = counter_.frames;
        runUntil([&] { return counter_.frames >= before + wanted; }, timeout);
        return counter_.frames - before;
    }

    std::unique_ptr<NetworkNamespace> ns_;
    std::string name_;
    Counter counter_;
    std::vector<bool> links_;
    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<NetworkInterface> interface_;
};

TEST_F(TapFaultTest, DeletedUnderTrafficTheLinkGoesDownWithAFaultAndTheLoopSleeps) {
    start("");
    KernelFlood flood(*ns_, name_);
    ASSERT_GE(moreFrames(200, std::chrono::seconds(5)), 200u) << "traffic does not flow";

    ASSERT_EQ(ns_->run("ip link del " + name_).status, 0);
    runUntil([&] { return tap().linkStatus() == LinkStatus::down; }, std::chrono::seconds(3));
    EXPECT_EQ(tap().linkStatus(), LinkStatus::down);
    ASSERT_FALSE(links_.empty());
    EXPECT_FALSE(links_.back()) << "the link handler heard of it";
    EXPECT_EQ(tap().faultDescription(), "interface " + name_ + " was deleted; waiting for it to come back");
    // Woken by nothing but the watchdog (once a second): a loop spinning on a dead descriptor
    // would run its handler thousands of times.
    EXPECT_LE(runFor(std::chrono::milliseconds(1500)), 4u);
    EXPECT_EQ(tap().pool()->inUse(), TapDriver::kBurst) << "only the receive spares are out";
}

TEST_F(TapFaultTest, ADeletedInterfaceCreatedAgainIsTakenAgainAndTrafficResumes) {
    start("");
    KernelFlood flood(*ns_, name_);
    ASSERT_GE(moreFrames(100, std::chrono::seconds(5)), 100u);
    ASSERT_EQ(ns_->run("ip link del " + name_).status, 0);
    runUntil([&] { return !tap().faultDescription().empty(); }, std::chrono::seconds(3));
    ASSERT_FALSE(tap().faultDescription().empty());
    runFor(std::chrono::milliseconds(1200));
    EXPECT_EQ(tap().reattach(), ENODEV) << "the driver must not create the interface itself";
    EXPECT_NE(runCommand("ip link show " + name_).status, 0);

    // Made again where the driver lives, then given to the namespace, as the first time.
    ASSERT_EQ(runCommand("ip tuntap add mode tap name " + name_).status, 0);
    runUntil([&] { return tap().faultDescription().empty(); }, std::chrono::seconds(3));
    EXPECT_EQ(tap().faultDescription(), "") << "the watchdog did not take the interface again";
    ASSERT_TRUE(moveIntoNamespace(name_, *ns_, "10.79.0.1/24"));
    runUntil([&] { return tap().linkStatus() == LinkStatus::up; }, std::chrono::seconds(3));
    EXPECT_EQ(tap().linkStatus(), LinkStatus::up);
    EXPECT_TRUE(links_.size() >= 2 && links_.back()) << "the link handler heard it come back";
    EXPECT_GE(moreFrames(100, std::chrono::seconds(5)), 100u) << "traffic did not resume";
}

TEST_F(TapFaultTest, ThePoolRunningDryUnderLoadStopsReceiveWithoutSpinningThenTrafficResumes) {
    start(",pool=64");
    KernelFlood flood(*ns_, name_);
    counter_.holding = true;  // every received netbuf is kept: the pool runs dry
    runUntil([&] { return counter_.held.size() >= 64; }, std::chrono::seconds(5));
    ASSERT_EQ(counter_.held.size(), 64u) << "the whole pool went up";
    EXPECT_EQ(tap().pool()->available(), 0u);
    // Frames keep coming but there is nowhere to put them: the loop wakes for the 1 ms retry
    // timer, not for every frame the kernel holds (a level-triggered spin would be millions).
    std::uint64_t woken = runFor(std::chrono::milliseconds(500));
    EXPECT_LE(woken, 600u) << "the loop spun on frames it could not take";
    EXPECT_EQ(counter_.held.size(), 64u);

    counter_.release();
    EXPECT_GE(moreFrames(500, std::chrono::seconds(5)), 500u) << "traffic did not resume";
    EXPECT_EQ(tap().pool()->inUse(), TapDriver::kBurst) << "everything but the receive spares came back";
}

}  // namespace
