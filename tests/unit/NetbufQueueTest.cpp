// NetbufQueue: a FIFO of netbufs linked through the netbufs themselves (no allocation).
#include "netbuf/NetbufPool.h"
#include "netbuf/NetbufQueue.h"

#include <gtest/gtest.h>

#include <memory>

namespace nexnet {
namespace {

class NetbufQueueTest : public ::testing::Test {
protected:
    void SetUp() override {
        NetbufPool::Options options;
        options.count = 16;
        options.hugepages = false;
        auto made = NetbufPool::create(options);
        ASSERT_TRUE(made.ok());
        pool = std::move(made.value());
        for (auto& nb : nbs) nb = pool->allocate();
    }
    void TearDown() override {
        queue.clear();
        pool->freeBulk(nbs, 4);
        EXPECT_EQ(pool->inUse(), 0u);
    }
    std::unique_ptr<NetbufPool> pool;
    Netbuf* nbs[4] = {};
    NetbufQueue queue;
};

TEST_F(NetbufQueueTest, NewQueueIsEmpty) {
    EXPECT_TRUE(queue.empty());
    EXPECT_EQ(queue.count(), 0u);
    EXPECT_EQ(queue.dequeue(), nullptr);
    EXPECT_EQ(queue.peek(), nullptr);
}

TEST_F(NetbufQueueTest, DequeueReturnsInEnqueueOrder) {
    for (Netbuf* nb : nbs) queue.enqueue(nb);
    EXPECT_EQ(queue.count(), 4u);
    EXPECT_FALSE(queue.empty());
    for (Netbuf* nb : nbs) EXPECT_EQ(queue.dequeue(), nb);
    EXPECT_TRUE(queue.empty());
}

TEST_F(NetbufQueueTest, PushFrontPutsANetbufBeforeEverything) {
    queue.enqueue(nbs[0]);
    queue.enqueue(nbs[1]);
    queue.pushFront(nbs[2]);
    EXPECT_EQ(queue.dequeue(), nbs[2]);
    EXPECT_EQ(queue.dequeue(), nbs[0]);
    EXPECT_EQ(queue.dequeue(), nbs[1]);
}

TEST_F(NetbufQueueTest, PeekLooksWithoutRemoving) {
    queue.enqueue(nbs[1]);
    EXPECT_EQ(queue.peek(), nbs[1]);
    EXPECT_EQ(queue.count(), 1u);
}

TEST_F(NetbufQueueTest, DequeueBurstTakesUpToMaxInOrder) {
    for (Netbuf* nb : nbs) queue.enqueue(nb);
    Netbuf* out[8];
    EXPECT_EQ(queue.dequeueBurst(out, 3), 3u);
    EXPECT_EQ(out[0], nbs[0]);
    EXPECT_EQ(out[2], nbs[2]);
    EXPECT_EQ(queue.dequeueBurst(out, 8), 1u);
    EXPECT_EQ(out[0], nbs[3]);
    EXPECT_EQ(queue.dequeueBurst(out, 8), 0u);
}

TEST_F(NetbufQueueTest, ClearForgetsWithoutFreeing) {
    for (Netbuf* nb : nbs) queue.enqueue(nb);
    queue.clear();
    EXPECT_TRUE(queue.empty());
    EXPECT_EQ(pool->inUse(), 4u);
}

TEST_F(NetbufQueueTest, FreeAllReturnsEveryNetbufToItsPool) {
    Netbuf* extra[3] = {pool->allocate(), pool->allocate(), pool->allocate()};
    for (Netbuf* nb : extra) queue.enqueue(nb);
    EXPECT_EQ(pool->inUse(), 7u);
    queue.freeAll();
    EXPECT_TRUE(queue.empty());
    EXPECT_EQ(pool->inUse(), 4u);
}

TEST_F(NetbufQueueTest, DestroyingAQueueFreesWhatItHolds) {
    {
        NetbufQueue local;
        local.enqueue(pool->allocate());
        local.enqueue(pool->allocate());
        EXPECT_EQ(pool->inUse(), 6u);
    }
    EXPECT_EQ(pool->inUse(), 4u);
}

TEST_F(NetbufQueueTest, ANetbufCanMoveFromOneQueueToAnother) {
    NetbufQueue other;
    queue.enqueue(nbs[0]);
    other.enqueue(queue.dequeue());
    EXPECT_EQ(other.peek(), nbs[0]);
    other.clear();
}

}  // namespace
}  // namespace nexnet
