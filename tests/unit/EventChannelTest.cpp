// Event channels (ec.h): the queue, its bound and overflow event, the descriptor, waiting threads.
// Events are posted here through the channel itself (Channel::post), as the transports do.
#include "sio/core/Runtime.h"
#include "sio/ec.h"

#include <gtest/gtest.h>

#include <atomic>
#include <poll.h>
#include <set>
#include <thread>
#include <vector>

using nexnet::sio::Channel;
using nexnet::sio::Runtime;

namespace {

event_data_t eventFor(long id) {
    event_data_t event{};
    event.ev_type = event_type_send;
    event.ev_un.ev_fd = 7;
    event.ev_result = id;
    event.ev_data = reinterpret_cast<void*>(id);
    return event;
}

// Posts through the channel behind @p ec, as a transport on another thread would.
bool post(ec_t ec, long id) {
    auto channel = Runtime::instance().channels().acquire(Runtime::handleOf(ec));
    return channel && channel->post(eventFor(id), true);
}

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
}

class EventChannelTest : public ::testing::Test {
protected:
    void TearDown() override {
        if (ec_ != nullptr) {
            EXPECT_EQ(ec_destroy(ec_), 0);
        }
    }
    ec_t ec_ = nullptr;
};

TEST_F(EventChannelTest, CreateRefusesUnknownFlagsAndCapacities) {
    EXPECT_EQ(ec_create(0x80), nullptr);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(ec_create_sized(0, 0), nullptr);
    EXPECT_EQ(ec_create_sized(0, 65537), nullptr);
    EXPECT_EQ(errno, EINVAL);
}

TEST_F(EventChannelTest, NonBlockingChannelWithoutEventsSaysEAGAIN) {
    ec_ = ec_create(EC_NONBLOCK);
    ASSERT_NE(ec_, nullptr);
    event_data_t d;
    EXPECT_EQ(ec_next_event(ec_, &d), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_EQ(ec_next_event(ec_, nullptr), -1);
    EXPECT_EQ(errno, EINVAL);
}

TEST_F(EventChannelTest, DestroyedChannelIsRefusedEverywhere) {
    ec_t ec = ec_create(0);
    ASSERT_NE(ec, nullptr);
    ASSERT_EQ(ec_destroy(ec), 0);
    event_data_t d;
    EXPECT_EQ(ec_destroy(ec), -1);
    EXPECT_EQ(errno, EBADF);
    EXPECT_EQ(ec_to_fd(ec), -1);
    EXPECT_EQ(ec_next_event(ec, &d), -1);
    EXPECT_EQ(errno, EBADF);
    EXPECT_EQ(ec_next_events(ec, &d, 1, 0), -1);
    EXPECT_EQ(ec_lost(ec, &d, 1), -1);
    EXPECT_EQ(ec_to_fd(reinterpret_cast<ec_t>(12345)), -1);  // never made
    // A new channel in the same slot does not answer to the old handle.
    ec_ = ec_create(0);
    ASSERT_NE(ec_, nullptr);
    EXPECT_EQ(ec_to_fd(ec), -1);
}

TEST_F(EventChannelTest, EventsComeOutInTheOrderPosted) {
    ec_ = ec_create(EC_NONBLOCK);
    for (long i = 0; i < 100; ++i) ASSERT_TRUE(post(ec_, i));
    for (long i = 0; i < 100; ++i) {
        event_data_t d;
        ASSERT_EQ(ec_next_event(ec_, &d), 0);
        EXPECT_EQ(d.ev_result, i);
        EXPECT_EQ(d.ev_type, event_type_send);
        EXPECT_EQ(d.ev_data, reinterpret_cast<void*>(i));
    }
}

TEST_F(EventChannelTest, BatchFormTakesManyAtOnce) {
    ec_ = ec_create(0);
    for (long i = 0; i < 50; ++i) post(ec_, i);
    event_data_t d[64];
    EXPECT_EQ(ec_next_events(ec_, d, 64, 0), 50);
    EXPECT_EQ(d[49].ev_result, 49);
    EXPECT_EQ(ec_next_events(ec_, d, 64, 10), 0);  // nothing more: the timeout passes
    EXPECT_EQ(ec_next_events(ec_, d, 0, 0), -1);
    EXPECT_EQ(errno, EINVAL);
}

TEST_F(EventChannelTest, FullChannelLosesEventsAndSaysSoFirst) {
    ec_ = ec_create_sized(EC_NONBLOCK, 8);
    for (long i = 0; i < 8; ++i) EXPECT_TRUE(post(ec_, i));
    for (long i = 8; i < 13; ++i) EXPECT_FALSE(post(ec_, i));  // lost
    event_data_t d;
    ASSERT_EQ(ec_next_event(ec_, &d), 0);
    EXPECT_EQ(d.ev_type, event_type_overflow);
    EXPECT_EQ(d.ev_result, 5);
    EXPECT_EQ(d.ev_errno, EOVERFLOW);
    // Nothing else is lost: the 8 queued ones follow, in order.
    for (long i = 0; i < 8; ++i) {
        ASSERT_EQ(ec_next_event(ec_, &d), 0);
        EXPECT_EQ(d.ev_result, i);
    }
    // The lost ones are listed, oldest first, once.
    event_data_t lost[16];
    ASSERT_EQ(ec_lost(ec_, lost, 16), 5);
    for (long i = 0; i < 5; ++i) EXPECT_EQ(lost[i].ev_data, reinterpret_cast<void*>(8 + i));
    EXPECT_EQ(ec_lost(ec_, lost, 16), 0);
    EXPECT_EQ(ec_next_event(ec_, &d), -1);
    EXPECT_EQ(errno, EAGAIN);
}

TEST_F(EventChannelTest, CapacityIsRoundedUpToAPowerOfTwo) {
    ec_ = ec_create_sized(EC_NONBLOCK, 5);
    int queued = 0;
    for (long i = 0; i < 20; ++i) queued += post(ec_, i);
    EXPECT_EQ(queued, 8);
}

TEST_F(EventChannelTest, DescriptorIsReadableWhileEventsWait) {
    ec_ = ec_create(EC_NONBLOCK);
    int fd = ec_to_fd(ec_);
    ASSERT_GE(fd, 0);
    EXPECT_FALSE(readable(fd));
    std::thread([&] { post(ec_, 1); }).join();
    EXPECT_TRUE(readable(fd));
    event_data_t d;
    ASSERT_EQ(ec_next_event(ec_, &d), 0);
    EXPECT_FALSE(readable(fd));  // drained: poll loops do not spin
}

TEST_F(EventChannelTest, SeveralThreadsWaitAndEveryEventReachesExactlyOne) {
    ec_ = ec_create(0);
    constexpr int kThreads = 4, kEvents = 4000;
    std::atomic<int> taken{0};
    std::vector<std::vector<long>> seen(kThreads);
    std::vector<std::thread> waiters;
    for (int t = 0; t < kThreads; ++t) {
        waiters.emplace_back([&, t] {
            event_data_t d;
            while (ec_next_event(ec_, &d) == 0 && d.ev_result >= 0) {
                if (d.ev_type == event_type_overflow) continue;  // a post found the channel full
                seen[t].push_back(d.ev_result);
                ++taken;
            }
        });
    }
    for (long i = 0; i < kEvents; ++i) {
        while (!post(ec_, i)) std::this_thread::yield();  // a full channel: retry (lost ones are listed)
    }
    event_data_t lost[1024];
    while (ec_lost(ec_, lost, 1024) > 0) {
    }
    for (int t = 0; t < kThreads; ++t) post(ec_, -1);  // one stop event for each
    for (auto& w : waiters) w.join();
    std::set<long> all;
    for (auto& s : seen) all.insert(s.begin(), s.end());
    EXPECT_EQ(taken, kEvents);
    EXPECT_EQ(all.size(), static_cast<std::size_t>(kEvents));  // none twice, none missing
}

TEST_F(EventChannelTest, DestroyWakesWaitersWithEBADF) {
    ec_t ec = ec_create(0);
    std::atomic<int> result{0}, error{0};
    std::thread waiter([&] {
        event_data_t d;
        result = ec_next_event(ec, &d);
        error = errno;
    });
    // The waiter is (or soon will be) blocked; destroying must not hang and must wake it.
    while (Runtime::instance().channels().acquire(Runtime::handleOf(ec)).get() == nullptr) {
    }
    ASSERT_EQ(ec_destroy(ec), 0);
    waiter.join();
    EXPECT_EQ(result, -1);
    EXPECT_EQ(error, EBADF);
}

TEST_F(EventChannelTest, DestroyIsRefusedWhileRequestsArePending) {
    ec_ = ec_create(0);
    auto channel = Runtime::instance().channels().acquire(Runtime::handleOf(ec_));
    channel->addPending();
    EXPECT_EQ(ec_destroy(ec_), -1);
    EXPECT_EQ(errno, EBUSY);
    channel->removePending();
}

}  // namespace
