// IONetbufQueue: NeXT's bounded transmit backlog.
#include "framework/IONetbufQueue.h"
#include "netbuf/NetbufPool.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>

namespace nexnet {
namespace {

std::unique_ptr<NetbufPool> makePool() {
    NetbufPool::Options options;
    options.count = 16;
    options.hugepages = false;
    auto made = NetbufPool::create(options);
    EXPECT_TRUE(made.ok());
    return std::move(made.value());
}

TEST(IONetbufQueue, ReportsItsMaximumAndCount) {
    auto pool = makePool();
    IONetbufQueue queue(3);
    EXPECT_EQ(queue.maxCount(), 3u);
    EXPECT_EQ(queue.count(), 0u);
    ASSERT_EQ(queue.enqueue(pool->allocate()), 0);
    EXPECT_EQ(queue.count(), 1u);
    queue.freeAll();
}

TEST(IONetbufQueue, EnqueueWhenFullIsEnobufsAndTheCallerKeepsTheNetbuf) {
    auto pool = makePool();
    IONetbufQueue queue(2);
    ASSERT_EQ(queue.enqueue(pool->allocate()), 0);
    ASSERT_EQ(queue.enqueue(pool->allocate()), 0);
    Netbuf* third = pool->allocate();
    EXPECT_EQ(queue.enqueue(third), ENOBUFS);
    EXPECT_EQ(queue.count(), 2u);
    EXPECT_EQ(pool->inUse(), 3u);
    third->free();
    queue.freeAll();
    EXPECT_EQ(pool->inUse(), 0u);
}

TEST(IONetbufQueue, ZeroMaximumRefusesEverything) {
    auto pool = makePool();
    IONetbufQueue queue(0);
    Netbuf* nb = pool->allocate();
    EXPECT_EQ(queue.enqueue(nb), ENOBUFS);
    nb->free();
}

TEST(IONetbufQueue, DequeueIsFirstInFirstOut) {
    auto pool = makePool();
    IONetbufQueue queue(4);
    Netbuf* a = pool->allocate();
    Netbuf* b = pool->allocate();
    queue.enqueue(a);
    queue.enqueue(b);
    EXPECT_EQ(queue.dequeue(), a);
    EXPECT_EQ(queue.dequeue(), b);
    EXPECT_EQ(queue.dequeue(), nullptr);
    a->free();
    b->free();
}

TEST(IONetbufQueue, DequeueBurstTakesUpToMax) {
    auto pool = makePool();
    IONetbufQueue queue(8);
    for (int i = 0; i < 5; ++i) queue.enqueue(pool->allocate());
    Netbuf* out[4];
    EXPECT_EQ(queue.dequeueBurst(out, 4), 4u);
    EXPECT_EQ(queue.count(), 1u);
    pool->freeBulk(out, 4);
    EXPECT_EQ(queue.dequeueBurst(out, 4), 1u);
    pool->freeBulk(out, 1);
    EXPECT_EQ(pool->inUse(), 0u);
}

TEST(IONetbufQueue, FreeAllAndDestructionReturnTheNetbufs) {
    auto pool = makePool();
    {
        IONetbufQueue queue(8);
        for (int i = 0; i < 3; ++i) queue.enqueue(pool->allocate());
        queue.freeAll();
        EXPECT_EQ(queue.count(), 0u);
        EXPECT_EQ(pool->inUse(), 0u);
        for (int i = 0; i < 3; ++i) queue.enqueue(pool->allocate());
    }
    EXPECT_EQ(pool->inUse(), 0u);
}

}  // namespace
}  // namespace nexnet
