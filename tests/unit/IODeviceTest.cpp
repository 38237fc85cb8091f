// IODevice: the root of every driver: a name, an event loop, a running state.
#include "framework/EventLoop.h"
#include "framework/IODevice.h"

#include <gtest/gtest.h>

#include <chrono>

namespace nexnet {
namespace {

class TestDevice : public IODevice {
public:
    int timeouts = 0;
    int changes = 0;
    bool restartWatchdog = false;
    void timeoutOccurred() override { ++timeouts; }

protected:
    int eventLoopChanged() override {
        ++changes;
        if (restartWatchdog && eventLoop() != nullptr) return setRelativeTimeout(std::chrono::milliseconds(1));
        return 0;
    }
};

// Runs @p loop for @p milliseconds of wall time.
void runFor(EventLoop& loop, int milliseconds) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(milliseconds);
    while (std::chrono::steady_clock::now() < end) loop.runOnce(std::chrono::milliseconds(5));
}

TEST(IODevice, NameIsWhatTheDriverSet) {
    TestDevice device;
    EXPECT_EQ(device.name(), "");
    device.setName("test0");
    EXPECT_EQ(device.name(), "test0");
}

TEST(IODevice, StartsStoppedAndRecordsRunning) {
    TestDevice device;
    EXPECT_FALSE(device.isRunning());
    device.setRunning(true);
    EXPECT_TRUE(device.isRunning());
    device.setRunning(false);
    EXPECT_FALSE(device.isRunning());
}

TEST(IODevice, AttachToEventLoopRecordsTheLoop) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    TestDevice device;
    EXPECT_EQ(device.eventLoop(), nullptr);
    EXPECT_EQ(device.attachToEventLoop(loop.value().get()), 0);
    EXPECT_EQ(device.eventLoop(), loop.value().get());
    EXPECT_EQ(device.attachToEventLoop(nullptr), 0);
    EXPECT_EQ(device.eventLoop(), nullptr);
    EXPECT_EQ(device.changes, 2);  // eventLoopChanged ran after each change
}

// The e1000e bug: a watchdog set on a loop stayed armed after the driver was detached from it,
// and clearTimeout (without a loop) could no longer cancel it.
TEST(IODevice, DetachingCancelsThePendingTimeout) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    TestDevice device;
    device.attachToEventLoop(loop.value().get());
    ASSERT_EQ(device.setRelativeTimeout(std::chrono::milliseconds(1)), 0);
    EXPECT_TRUE(device.hasPendingTimeout());
    device.attachToEventLoop(nullptr);
    EXPECT_FALSE(device.hasPendingTimeout());
    runFor(*loop.value(), 20);
    EXPECT_EQ(device.timeouts, 0);
}

TEST(IODevice, AWatchdogStartedOnAttachRunsOnTheNewLoopOnly) {
    auto first = EventLoop::create(), second = EventLoop::create();
    ASSERT_TRUE(first.ok() && second.ok());
    TestDevice device;
    device.restartWatchdog = true;
    device.attachToEventLoop(first.value().get());
    device.attachToEventLoop(second.value().get());  // the first loop's timer is cancelled
    runFor(*first.value(), 20);
    EXPECT_EQ(device.timeouts, 0);
    runFor(*second.value(), 20);
    EXPECT_EQ(device.timeouts, 1);
    device.attachToEventLoop(nullptr);
}

TEST(IODevice, DestroyingADeviceCancelsItsTimeout) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    {
        TestDevice shortLived;
        shortLived.attachToEventLoop(loop.value().get());
        ASSERT_EQ(shortLived.setRelativeTimeout(std::chrono::milliseconds(1)), 0);
    }
    runFor(*loop.value(), 20);  // a timer calling into the destroyed device would crash under ASan
}

}  // namespace
}  // namespace nexnet
