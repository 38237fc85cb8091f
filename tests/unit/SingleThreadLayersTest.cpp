// The layers that run on the interface's one thread (InetStack, AppRing) and an interface whose
// queues run on several (QueueWorkers): either order is refused with EBUSY and a message that
// names the layer and says what to do; one thread, or a one-queue driver on several loops, is fine;
// the refusal ends with the layer.
#include "drivers/BuiltinDrivers.h"
#include "framework/EventLoop.h"
#include "inet/InetStack.h"
#include "netif/AppRing.h"
#include "netif/NetworkInterface.h"
#include "netif/QueueWorkers.h"

#include <gtest/gtest.h>

namespace nexnet {
namespace {

using Mode = NetworkInterface::Mode;

std::unique_ptr<NetworkInterface> nullInterface(unsigned queues) {
    auto driver = builtinDrivers().open("null:,queues=" + std::to_string(queues));
    if (!driver) return nullptr;
    return std::make_unique<NetworkInterface>(std::move(driver.value()));
}

std::unique_ptr<QueueWorkers> twoWorkers() {
    auto workers = QueueWorkers::create({2, {}, "nexnet-t"});
    return workers ? std::move(workers.value()) : nullptr;
}

TEST(SingleThreadLayers, AnInetStackIsRefusedOnAnInterfaceRunOnSeveralThreads) {
    auto interface = nullInterface(2);
    auto workers = twoWorkers();
    ASSERT_TRUE(interface && workers);
    ASSERT_TRUE(workers->add(*interface, Mode::poll).ok());
    auto stack = InetStack::create(*interface, {});
    ASSERT_FALSE(stack.ok());
    EXPECT_EQ(stack.error(), EBUSY);
    EXPECT_NE(stack.message().find("InetStack runs on one thread"), std::string::npos) << stack.message();
    EXPECT_NE(stack.message().find("one event loop"), std::string::npos) << stack.message();
    // Run by one loop after all: the stack goes on.
    ASSERT_EQ(workers->remove(*interface), 0);
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    ASSERT_TRUE(interface->attach(*loop.value(), Mode::poll).ok());
    EXPECT_TRUE(InetStack::create(*interface, {}).ok());
    interface->detach();
}

TEST(SingleThreadLayers, AnInterfaceWithAnInetStackRefusesSeveralThreadsUntilTheStackIsGone) {
    auto interface = nullInterface(2);
    auto workers = twoWorkers();
    ASSERT_TRUE(interface && workers);
    auto stack = InetStack::create(*interface, {});
    ASSERT_TRUE(stack.ok()) << stack.describe();
    auto added = workers->add(*interface, Mode::poll);
    ASSERT_FALSE(added.ok());
    EXPECT_EQ(added.error(), EBUSY);
    EXPECT_NE(added.message().find("InetStack runs on one thread"), std::string::npos) << added.message();
    EXPECT_FALSE(interface->isMultiThreaded());
    EXPECT_EQ(workers->remove(*interface), ENOENT) << "a refused interface is not on the workers";
    // One loop is what the stack needs.
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    ASSERT_TRUE(interface->attach(*loop.value(), Mode::poll).ok());
    interface->detach();
    stack.value().reset();
    EXPECT_TRUE(workers->add(*interface, Mode::poll).ok()) << "the stack is gone, so is the refusal";
    EXPECT_TRUE(interface->isMultiThreaded());
    EXPECT_EQ(workers->remove(*interface), 0);
}

TEST(SingleThreadLayers, AOneQueueDriverOnSeveralLoopsRunsOnOneThreadAndKeepsItsStack) {
    auto interface = nullInterface(1);
    auto workers = twoWorkers();
    ASSERT_TRUE(interface && workers);
    auto stack = InetStack::create(*interface, {});
    ASSERT_TRUE(stack.ok());
    ASSERT_TRUE(workers->add(*interface, Mode::poll).ok()) << "queue 0 on worker 0: one thread";
    EXPECT_FALSE(interface->isMultiThreaded());
    EXPECT_EQ(workers->remove(*interface), 0);
}

TEST(SingleThreadLayers, AnAppRingIsRefusedOnSeveralThreadsAndRefusesThemInTurn) {
    auto interface = nullInterface(2);
    auto workers = twoWorkers();
    ASSERT_TRUE(interface && workers);
    ASSERT_TRUE(workers->add(*interface, Mode::poll).ok());
    AppRing::Options options;
    auto refused = AppRing::create(*interface, options);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error(), EBUSY);
    EXPECT_NE(refused.message().find("an app ring runs on one thread"), std::string::npos) << refused.message();
    ASSERT_EQ(workers->remove(*interface), 0);

    auto ring = AppRing::create(*interface, options);
    ASSERT_TRUE(ring.ok()) << ring.describe();
    auto added = workers->add(*interface, Mode::poll);
    EXPECT_EQ(added.error(), EBUSY);
    EXPECT_NE(added.message().find("an app ring runs on one thread"), std::string::npos) << added.message();
    ring.value().reset();
    EXPECT_TRUE(workers->add(*interface, Mode::poll).ok());
    EXPECT_EQ(workers->remove(*interface), 0);
}

}  // namespace
}  // namespace nexnet
