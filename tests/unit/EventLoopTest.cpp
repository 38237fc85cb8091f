// EventLoop: epoll over descriptors, timerfd timers, poll-mode pollers, stop from anywhere.
#include "framework/EventLoop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

namespace nexnet {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// An eventfd closed at the end of the test.
struct EventFd {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ~EventFd() { close(fd); }
    void signal() const {
        std::uint64_t one = 1;
        ASSERT_EQ(write(fd, &one, sizeof one), static_cast<ssize_t>(sizeof one));
    }
    void drain() const {
        std::uint64_t value;
        [[maybe_unused]] auto n = read(fd, &value, sizeof value);
    }
};

class EventLoopTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto made = EventLoop::create();
        ASSERT_TRUE(made.ok()) << made.error();
        loop = std::move(made.value());
    }
    // Runs turns until @p done or @p limit passes.
    template <typename Done>
    void runUntil(Done done, std::chrono::milliseconds limit = 2000ms) {
        auto end = Clock::now() + limit;
        while (!done() && Clock::now() < end) loop->runOnce(10ms);
    }
    std::unique_ptr<EventLoop> loop;
};

// ---- descriptors ---------------------------------------------------------------------------

TEST_F(EventLoopTest, WatchReadableCallsTheHandlerWhenTheFdIsReadable) {
    EventFd event;
    int calls = 0;
    ASSERT_EQ(loop->watchReadable(event.fd,
                                  [&] {
                                      ++calls;
                                      event.drain();
                                  }),
              0);
    EXPECT_EQ(loop->runOnce(0ms), 0);
    event.signal();
    EXPECT_EQ(loop->runOnce(100ms), 1);
    EXPECT_EQ(calls, 1);
}

TEST_F(EventLoopTest, WatchIsLevelTriggered) {
    EventFd event;
    int calls = 0;
    ASSERT_EQ(loop->watchReadable(event.fd, [&] { ++calls; }), 0);  // never drains
    event.signal();
    loop->runOnce(100ms);
    loop->runOnce(100ms);
    EXPECT_EQ(calls, 2);
}

TEST_F(EventLoopTest, WatchingAnFdTwiceIsEexist) {
    EventFd event;
    ASSERT_EQ(loop->watchReadable(event.fd, [] {}), 0);
    EXPECT_EQ(loop->watchReadable(event.fd, [] {}), EEXIST);
}

TEST_F(EventLoopTest, WatchingABadFdIsEbadf) {
    EXPECT_EQ(loop->watchReadable(-1, [] {}), EBADF);
    EXPECT_EQ(loop->watchReadable(9999, [] {}), EBADF);
}

TEST_F(EventLoopTest, UnwatchStopsTheHandler) {
    EventFd event;
    int calls = 0;
    ASSERT_EQ(loop->watchReadable(event.fd, [&] { ++calls; }), 0);
    EXPECT_EQ(loop->unwatch(event.fd), 0);
    event.signal();
    loop->runOnce(20ms);
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(loop->unwatch(event.fd), ENOENT);
}

TEST_F(EventLoopTest, AHandlerMayUnwatchItself) {
    EventFd event;
    int calls = 0;
    ASSERT_EQ(loop->watchReadable(event.fd,
                                  [&] {
                                      ++calls;
                                      loop->unwatch(event.fd);
                                  }),
              0);
    event.signal();
    loop->runOnce(100ms);
    loop->runOnce(20ms);
    EXPECT_EQ(calls, 1);
}

TEST_F(EventLoopTest, AnUnwatchedFdCanBeWatchedAgain) {
    EventFd event;
    ASSERT_EQ(loop->watchReadable(event.fd, [] {}), 0);
    ASSERT_EQ(loop->unwatch(event.fd), 0);
    EXPECT_EQ(loop->watchReadable(event.fd, [] {}), 0);
}

// ---- timers --------------------------------------------------------------------------------

TEST_F(EventLoopTest, OneShotTimerFiresOnceAfterItsDelay) {
    int calls = 0;
    auto start = Clock::now();
    auto timer = loop->addTimer(20ms, [&] { ++calls; });
    ASSERT_TRUE(timer.ok()) << timer.error();
    runUntil([&] { return calls > 0; });
    EXPECT_EQ(calls, 1);
    EXPECT_GE(Clock::now() - start, 20ms);
    for (int i = 0; i < 3; ++i) loop->runOnce(10ms);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(loop->cancelTimer(timer.value()), ENOENT);  // already fired
}

TEST_F(EventLoopTest, ZeroDelayTimerStillFires) {
    int calls = 0;
    ASSERT_TRUE(loop->addTimer(0ns, [&] { ++calls; }).ok());
    runUntil([&] { return calls > 0; });
    EXPECT_EQ(calls, 1);
}

TEST_F(EventLoopTest, RepeatingTimerFiresUntilCancelled) {
    int calls = 0;
    auto timer = loop->addTimer(
        2ms, [&] { ++calls; }, true);
    ASSERT_TRUE(timer.ok());
    runUntil([&] { return calls >= 3; });
    EXPECT_GE(calls, 3);
    EXPECT_EQ(loop->cancelTimer(timer.value()), 0);
    int seen = calls;
    for (int i = 0; i < 3; ++i) loop->runOnce(5ms);
    EXPECT_EQ(calls, seen);
}

TEST_F(EventLoopTest, CancelledTimerNeverFires) {
    int calls = 0;
    auto timer = loop->addTimer(1ms, [&] { ++calls; });
    ASSERT_TRUE(timer.ok());
    EXPECT_EQ(loop->cancelTimer(timer.value()), 0);
    for (int i = 0; i < 3; ++i) loop->runOnce(5ms);
    EXPECT_EQ(calls, 0);
}

TEST_F(EventLoopTest, CancellingAnUnknownTimerIsEnoent) { EXPECT_EQ(loop->cancelTimer(12345), ENOENT); }

TEST_F(EventLoopTest, ARepeatingTimerMayCancelItself) {
    int calls = 0;
    EventLoop::Token token = 0;
    auto timer = loop->addTimer(
        1ms,
        [&] {
            ++calls;
            loop->cancelTimer(token);
        },
        true);
    ASSERT_TRUE(timer.ok());
    token = timer.value();
    runUntil([&] { return calls > 0; });
    for (int i = 0; i < 3; ++i) loop->runOnce(5ms);
    EXPECT_EQ(calls, 1);
}

TEST_F(EventLoopTest, ATimerHandlerMayAddATimer) {
    int second = 0;
    ASSERT_TRUE(loop->addTimer(1ms, [&] { ASSERT_TRUE(loop->addTimer(1ms, [&] { ++second; }).ok()); }).ok());
    runUntil([&] { return second > 0; });
    EXPECT_EQ(second, 1);
}

// ---- pollers -------------------------------------------------------------------------------

TEST_F(EventLoopTest, PollersRunOnEveryTurn) {
    int calls = 0;
    loop->addPoller([&] {
        ++calls;
        return false;
    });
    for (int i = 0; i < 5; ++i) loop->runOnce(0ms);
    EXPECT_EQ(calls, 5);
}

TEST_F(EventLoopTest, ABusyPollerKeepsTheLoopFromSleeping) {
    loop->addPoller([] { return true; });
    auto start = Clock::now();
    for (int i = 0; i < 10; ++i) loop->runOnce(1000ms);
    EXPECT_LT(Clock::now() - start, 500ms);
}

TEST_F(EventLoopTest, RemovedPollerStopsRunning) {
    int calls = 0;
    auto token = loop->addPoller([&] {
        ++calls;
        return false;
    });
    loop->runOnce(0ms);
    EXPECT_EQ(loop->removePoller(token), 0);
    loop->runOnce(0ms);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(loop->removePoller(token), ENOENT);
}

TEST_F(EventLoopTest, APollerMayRemoveItself) {
    int calls = 0;
    EventLoop::Token token = 0;
    token = loop->addPoller([&] {
        ++calls;
        loop->removePoller(token);
        return false;
    });
    loop->runOnce(0ms);
    loop->runOnce(0ms);
    EXPECT_EQ(calls, 1);
}

TEST_F(EventLoopTest, DescriptorsStillRunInPollMode) {
    EventFd event;
    int fdCalls = 0;
    ASSERT_EQ(loop->watchReadable(event.fd,
                                  [&] {
                                      ++fdCalls;
                                      event.drain();
                                  }),
              0);
    loop->addPoller([] { return true; });
    event.signal();
    for (int i = 0; i < 200 && fdCalls == 0; ++i) loop->runOnce(0ms);
    EXPECT_EQ(fdCalls, 1);
}

// ---- runOnce, run and stop -----------------------------------------------------------------

TEST_F(EventLoopTest, IdleRunOnceWaitsAboutItsTimeout) {
    auto start = Clock::now();
    EXPECT_EQ(loop->runOnce(30ms), 0);
    auto waited = Clock::now() - start;
    EXPECT_GE(waited, 25ms);
    EXPECT_LT(waited, 1000ms);
}

TEST_F(EventLoopTest, StopFromAnotherThreadEndsRun) {
    std::atomic<bool> started{false};
    loop->addPoller([&] {
        started = true;
        return false;
    });
    std::thread stopper([&] {
        while (!started) std::this_thread::sleep_for(1ms);
        loop->stop();
    });
    auto start = Clock::now();
    loop->run();
    stopper.join();
    EXPECT_LT(Clock::now() - start, 5s);
}

TEST_F(EventLoopTest, StopWakesASleepingLoopAtOnce) {
    std::thread stopper([&] {
        std::this_thread::sleep_for(20ms);
        loop->stop();
    });
    auto start = Clock::now();
    loop->run();  // no pollers: sleeps in epoll_wait up to 100 ms per turn
    stopper.join();
    EXPECT_LT(Clock::now() - start, 90ms);
}

TEST_F(EventLoopTest, StopBeforeRunIsNotLost) {
    std::thread stopper([&] { loop->stop(); });
    stopper.join();  // the stop came first
    auto start = Clock::now();
    loop->run();
    EXPECT_LT(Clock::now() - start, 1s);
}

TEST_F(EventLoopTest, AHandlerMayStopTheLoop) {
    ASSERT_TRUE(loop->addTimer(1ms, [&] { loop->stop(); }).ok());
    loop->run();
    SUCCEED();
}

TEST_F(EventLoopTest, TheLoopRunsAgainAfterAStop) {
    ASSERT_TRUE(loop->addTimer(1ms, [&] { loop->stop(); }).ok());
    loop->run();
    int calls = 0;
    ASSERT_TRUE(loop->addTimer(1ms,
                               [&] {
                                   ++calls;
                                   loop->stop();
                               })
                    .ok());
    loop->run();
    EXPECT_EQ(calls, 1);
}

TEST_F(EventLoopTest, IsRunningOnlyWhileRunTurns) {
    EXPECT_FALSE(loop->isRunning());
    bool inside = false;
    ASSERT_TRUE(loop->addTimer(1ms,
                               [&] {
                                   inside = loop->isRunning();
                                   loop->stop();
                                   EXPECT_FALSE(loop->isRunning());
                               })
                    .ok());
    loop->run();
    EXPECT_TRUE(inside);
    EXPECT_FALSE(loop->isRunning());
}

TEST_F(EventLoopTest, DestroyingALoopWithTimersAndWatchesIsClean) {
    EventFd event;
    ASSERT_EQ(loop->watchReadable(event.fd, [] {}), 0);
    ASSERT_TRUE(loop->addTimer(1h, [] {}).ok());
    loop->addPoller([] { return false; });
    loop.reset();  // ASan: nothing leaks
}

}  // namespace
}  // namespace nexnet
