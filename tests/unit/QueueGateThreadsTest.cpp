// QueueGate and IONetwork's threading contract: each queue on its own thread, control calls while
// no burst runs, counters that add up across queues. Multi-threaded: also built and run under
// ThreadSanitizer (NEXNET_TSAN, every *ThreadsTest).
#include "drivers/BuiltinDrivers.h"
#include "drivers/null/NullDriver.h"
#include "framework/QueueGate.h"
#include "netif/netif.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace nexnet {
namespace {

using namespace std::chrono_literals;

// Waits (yielding) until @p flag is set: how the threads of a test meet, never a timed check.
void waitFor(const std::atomic<bool>& flag) {
    while (!flag.load()) std::this_thread::yield();
}

std::unique_ptr<NullDriver> openNull(const std::string& uri) {
    auto opened = builtinDrivers().open(uri);
    EXPECT_TRUE(opened.ok()) << uri << ": " << opened.describe();
    if (!opened) return nullptr;
    return std::unique_ptr<NullDriver>(static_cast<NullDriver*>(opened.value().release()));
}

int setUp(IONetwork& driver, bool up) {
    ifreq ifr{};
    ifr.ifr_flags = up ? IFF_UP : 0;
    return driver.performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru);
}

TEST(QueueGate, AQueueIsEnteredWhileNoControlCallHoldsTheGate) {
    QueueGate gate;
    ASSERT_TRUE(gate.enter(3));
    EXPECT_TRUE(gate.isHeldByThisThread(3));
    EXPECT_FALSE(gate.isHeldByThisThread(2));
    gate.leave(3);
    EXPECT_FALSE(gate.isHeldByThisThread(3));
}

TEST(QueueGate, ControlWaitsForEveryBurstUnderWay) {
    QueueGate gate;
    std::atomic<bool> inside[2] = {false, false}, left[2] = {false, false};
    std::vector<std::thread> queues;
    for (unsigned i = 0; i < 2; ++i) {
        queues.emplace_back([&, i] {
            unsigned queue = i == 0 ? 0 : 5;
            ASSERT_TRUE(gate.enter(queue));
            inside[i] = true;
            std::this_thread::sleep_for(30ms);  // a long burst: control must wait it out
            left[i] = true;
            gate.leave(queue);
        });
    }
    waitFor(inside[0]);
    waitFor(inside[1]);
    gate.close();
    EXPECT_TRUE(left[0] && left[1]) << "control ran while a burst was under way";
    gate.open();
    for (auto& thread : queues) thread.join();
}

TEST(QueueGate, NoBurstStartsWhileControlHoldsTheGate) {
    QueueGate gate;
    gate.close();
    EXPECT_TRUE(gate.isClosed());
    std::thread queue([&] { EXPECT_FALSE(gate.enter(1)); });
    queue.join();
    gate.open();
    std::thread again([&] {
        EXPECT_TRUE(gate.enter(1));
        gate.leave(1);
    });
    again.join();
}

TEST(QueueGate, TheThreadHoldingTheGateClosedMayStillEnter) {
    QueueGate gate;
    QueueGate::Control control(gate);
    QueueGate::Pass pass(gate, 0);  // a driver's control code that sends (a link change flushing output)
    EXPECT_TRUE(pass);
}

TEST(QueueGate, AControlCallInsideABurstDoesNotWaitForItsOwnThread) {
    QueueGate gate;
    QueueGate::Pass pass(gate, 2);
    ASSERT_TRUE(pass);
    gate.close();  // a link handler, inside the burst, taking the interface down: no deadlock
    EXPECT_TRUE(gate.isClosed());
    gate.open();
}

TEST(QueueGate, EntersAndClosesNestOnOneThread) {
    QueueGate gate;
    ASSERT_TRUE(gate.enter(0));
    ASSERT_TRUE(gate.enter(0));
    gate.leave(0);
    EXPECT_TRUE(gate.isHeldByThisThread(0));
    gate.leave(0);
    EXPECT_FALSE(gate.isHeldByThisThread(0));
    gate.close();
    gate.close();
    gate.open();
    EXPECT_TRUE(gate.isClosed());
    gate.open();
    EXPECT_FALSE(gate.isClosed());
}

#ifndef NDEBUG
// Debug builds only: release builds compile the check out (QueueGate::kChecksQueueOwners).
std::atomic<int> gMisuses{0};
std::atomic<unsigned> gMisusedQueue{~0u};

TEST(QueueGate, ADebugBuildCatchesAQueueUsedFromTwoThreadsAtOnce) {
    static_assert(QueueGate::kChecksQueueOwners);
    QueueGate::setMisuseHandler([](const QueueGate&, unsigned queue) {
        gMisusedQueue = queue;
        ++gMisuses;
    });
    QueueGate gate;
    std::atomic<bool> inside{false}, done{false};
    std::thread first([&] {
        ASSERT_TRUE(gate.enter(4));
        inside = true;
        waitFor(done);
        gate.leave(4);
    });
    waitFor(inside);
    std::thread second([&] {
        if (gate.enter(4)) gate.leave(4);  // the contract broken: queue 4 is the first thread's
    });
    second.join();
    done = true;
    first.join();
    QueueGate::setMisuseHandler(nullptr);
    EXPECT_EQ(gMisuses.load(), 1);
    EXPECT_EQ(gMisusedQueue.load(), 4u);
}

TEST(QueueGate, ADebugBuildLetsTwoThreadsUseOneQueueOneAfterTheOther) {
    QueueGate::setMisuseHandler([](const QueueGate&, unsigned) { ++gMisuses; });
    gMisuses = 0;
    QueueGate gate;
    for (int i = 0; i < 2; ++i) {
        std::thread user([&] {
            ASSERT_TRUE(gate.enter(1));
            gate.leave(1);
        });
        user.join();
    }
    QueueGate::setMisuseHandler(nullptr);
    EXPECT_EQ(gMisuses.load(), 0);
}
#endif

// ---- IONetwork: the contract on a real driver ---------------------------------------------------

TEST(QueueThreading, CountersOfFourQueueThreadsAddUpInTheTotalsWhileAReaderSumsThem) {
    constexpr std::uint64_t kPerQueue = 100000;
    auto driver = openNull("null:,queues=4,limit=" + std::to_string(kPerQueue));
    ASSERT_TRUE(driver);
    ASSERT_EQ(setUp(*driver, true), 0);
    std::atomic<bool> done{false};
    std::thread reader([&] {
        std::uint64_t last = 0;
        while (!done) {
            std::uint64_t now = driver->inputPackets();
            EXPECT_GE(now, last) << "a total went backwards";
            last = now;
        }
    });
    std::vector<std::thread> queues;
    for (unsigned q = 0; q < 4; ++q) {
        queues.emplace_back([&, q] {
            Netbuf* burst[32];
            while (unsigned n = driver->receive(q, burst, 32)) ASSERT_EQ(driver->send(q, burst, n), n);
        });
    }
    for (auto& thread : queues) thread.join();
    done = true;
    reader.join();
    for (unsigned q = 0; q < 4; ++q) {
        EXPECT_EQ(driver->receiveStatistics(q).packets, kPerQueue) << "queue " << q;
        EXPECT_EQ(driver->transmitStatistics(q).packets, kPerQueue) << "queue " << q;
        EXPECT_EQ(driver->produced(q), kPerQueue);
    }
    EXPECT_EQ(driver->inputPackets(), 4 * kPerQueue);
    EXPECT_EQ(driver->outputPackets(), 4 * kPerQueue);
    EXPECT_EQ(driver->receiveTotals().bytes, 4 * kPerQueue * 64);
    EXPECT_EQ(driver->pool()->inUse(), 0u);
}

TEST(QueueThreading, EventsReportedFromAThreadNotHoldingTheQueueCountOnThatQueue) {
    auto driver = openNull("null:,queues=2");
    ASSERT_TRUE(driver);
    std::atomic<bool> holding{false}, done{false};
    std::thread queueThread([&] {
        QueueGate::Pass pass(driver->queueGate(), 1);
        holding = true;
        for (int i = 0; i < 1000; ++i) driver->report(QueueEvent::receiveDrop, 1);  // its own counters
        waitFor(done);
    });
    waitFor(holding);
    for (int i = 0; i < 1000; ++i) driver->report(QueueEvent::receiveDrop, 1);  // a control thread's
    done = true;
    queueThread.join();
    EXPECT_EQ(driver->receiveStatistics(1).drops, 2000u);
    EXPECT_EQ(driver->inputDrops(), 2000u);
}

TEST(QueueThreading, ReceiveAndSendDoNothingWhileAControlCallHoldsTheDriver) {
    auto driver = openNull("null:,queues=2");
    ASSERT_TRUE(driver);
    ASSERT_EQ(setUp(*driver, true), 0);
    QueueGate::Control control(driver->queueGate());
    std::thread queueThread([&] {
        Netbuf* burst[8];
        EXPECT_EQ(driver->receive(1, burst, 8), 0u);
        Netbuf* one = driver->pool()->allocate();
        EXPECT_EQ(driver->send(1, &one, 1), 0u);  // not taken: the caller keeps it
        one->free();
        EXPECT_FALSE(driver->serviceInterrupt(1));
    });
    queueThread.join();
    EXPECT_EQ(driver->inputPackets(), 0u);
}

TEST(QueueThreading, UpAndDownFromAControlThreadWhileFourQueueThreadsForward) {
    auto driver = openNull("null:,queues=4");
    ASSERT_TRUE(driver);
    ASSERT_EQ(setUp(*driver, true), 0);
    std::atomic<bool> done{false};
    std::atomic<unsigned> running{0};
    std::atomic<std::uint64_t> unsent{0};
    std::vector<std::thread> queues;
    for (unsigned q = 0; q < 4; ++q) {
        queues.emplace_back([&, q] {
            ++running;
            Netbuf* burst[32];
            while (!done) {
                unsigned n = driver->receive(q, burst, 32);
                unsigned sent = driver->send(q, burst, n);
                NetbufPool::freeToOwners(burst + sent, n - sent);  // the driver went down between the two
                unsent += n - sent;
            }
        });
    }
    while (running < 4) std::this_thread::yield();
    for (int i = 0; i < 200; ++i) {
        ASSERT_EQ(setUp(*driver, i % 2 == 1), 0);
        EXPECT_EQ(driver->isRunning(), i % 2 == 1);
    }
    done = true;
    for (auto& thread : queues) thread.join();
    EXPECT_EQ(driver->pool()->inUse(), 0u);
    EXPECT_GT(driver->inputPackets(), 0u);
    EXPECT_EQ(driver->inputPackets(), driver->outputPackets() + unsent);  // each frame counted once
}

}  // namespace
}  // namespace nexnet
