// TcpCompletionQueue: the TCP offload engine's completions in order, an eventfd readable while
// any wait, and nothing lost when the application takes them late.
#include "toe/TcpCompletionQueue.h"

#include <gtest/gtest.h>

#include <poll.h>

namespace nexnet {
namespace {

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
}

TEST(TcpCompletionQueue, TheEventfdIsReadableExactlyWhileCompletionsWait) {
    auto queue = TcpCompletionQueue::create(4);
    ASSERT_TRUE(queue);
    EXPECT_FALSE(readable(queue.value()->fd()));
    queue.value()->complete(TcpCompletion{TcpOffloadHandle{1}, 7, nullptr, 10, false, 0});
    queue.value()->complete(TcpCompletion{TcpOffloadHandle{1}, 8, nullptr, 20, true, 0});
    EXPECT_TRUE(readable(queue.value()->fd()));
    TcpCompletion out[4];
    ASSERT_EQ(queue.value()->take(out, 1), 1u);
    EXPECT_EQ(out[0].cookie, 7u);
    EXPECT_TRUE(readable(queue.value()->fd()));
    ASSERT_EQ(queue.value()->take(out, 4), 1u);
    EXPECT_EQ(out[0].cookie, 8u);
    EXPECT_TRUE(out[0].endOfStream);
    EXPECT_FALSE(readable(queue.value()->fd()));
}

TEST(TcpCompletionQueue, GrowsRatherThanLoseCompletionsAndKeepsTheirOrder) {
    auto queue = TcpCompletionQueue::create(2);
    ASSERT_TRUE(queue);
    TcpCompletion first{};
    queue.value()->complete(first);
    TcpCompletion discard[1];
    queue.value()->take(discard, 1);  // the ring's head moves: growing must unwrap it
    for (std::uint64_t i = 0; i < 100; ++i)
        queue.value()->complete(TcpCompletion{TcpOffloadHandle{1}, i, nullptr, 0, false, 0});
    EXPECT_EQ(queue.value()->size(), 100u);
    TcpCompletion out[128];
    ASSERT_EQ(queue.value()->take(out, 128), 100u);
    for (std::uint64_t i = 0; i < 100; ++i) EXPECT_EQ(out[i].cookie, i);
}

}  // namespace
}  // namespace nexnet
