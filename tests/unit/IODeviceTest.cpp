// IODevice: the root of every driver: a name, an event loop, a running state.
#include "framework/EventLoop.h"
#include "framework/IODevice.h"

#include <gtest/gtest.h>

namespace nexnet {
namespace {

class TestDevice : public IODevice {};

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
}

}  // namespace
}  // namespace nexnet
