// TcpReassemblyQueue: what the TCP offload engine holds until it can place it: sorted, never
// overlapping, bounded, and every netbuf it takes freed exactly once.
#include "netbuf/NetbufPool.h"
#include "toe/TcpReassemblyQueue.h"

#include <gtest/gtest.h>

#include <memory>

namespace nexnet {
namespace {

class TcpReassemblyQueueTest : public ::testing::Test {
protected:
    void SetUp() override {
        NetbufPool::Options options;
        options.count = 64;
        options.hugepages = false;
        auto made = NetbufPool::create(options);
        ASSERT_TRUE(made.ok());
        pool_ = std::move(made.value());
    }
    // Offers bytes [sequence, sequence + length) in a netbuf of its own; frees it when refused.
    TcpReassemblyQueue::Insert offer(TcpReassemblyQueue& queue, std::uint32_t sequence, std::uint32_t length) {
        Netbuf* netbuf = pool_->allocate();
        netbuf->setSize(length);
        for (std::uint32_t i = 0; i < length; ++i) netbuf->data()[i] = static_cast<std::uint8_t>(sequence + i);
        auto result = queue.insert(sequence, netbuf->data(), length, netbuf);
        if (result != TcpReassemblyQueue::Insert::held) netbuf->free();
        return result;
    }
    std::unique_ptr<NetbufPool> pool_;
};

TEST_F(TcpReassemblyQueueTest, KeepsSegmentsSortedAndReportsTheContiguousRun) {
    TcpReassemblyQueue queue(8);
    EXPECT_EQ(offer(queue, 300, 100), TcpReassemblyQueue::Insert::held);
    EXPECT_EQ(offer(queue, 100, 100), TcpReassemblyQueue::Insert::held);
    EXPECT_EQ(queue.contiguousEnd(100), 200u);
    EXPECT_EQ(offer(queue, 200, 100), TcpReassemblyQueue::Insert::held);
    EXPECT_EQ(queue.contiguousEnd(100), 400u);
    EXPECT_EQ(queue.front().sequence, 100u);
    EXPECT_EQ(queue.contiguousEnd(50), 50u);  // a gap before the first
}

TEST_F(TcpReassemblyQueueTest, TrimsOverlapsAndRefusesDuplicates) {
    TcpReassemblyQueue queue(8);
    offer(queue, 100, 100);
    offer(queue, 300, 100);
    EXPECT_EQ(offer(queue, 120, 50), TcpReassemblyQueue::Insert::duplicate);
    EXPECT_EQ(offer(queue, 150, 200), TcpReassemblyQueue::Insert::held);  // only 200..300 is new
    ASSERT_EQ(queue.size(), 3u);
    queue.consumeFront(100);
    EXPECT_EQ(queue.front().sequence, 200u);
    EXPECT_EQ(queue.front().length, 100u);
    EXPECT_EQ(queue.front().data[0], static_cast<std::uint8_t>(200));  // the bytes of 200, from the trimmed netbuf
    EXPECT_EQ(pool_->inUse(), 2u);
}

TEST_F(TcpReassemblyQueueTest, ASegmentCoveringHeldOnesReplacesThem) {
    TcpReassemblyQueue queue(8);
    offer(queue, 110, 10);
    offer(queue, 130, 10);
    EXPECT_EQ(offer(queue, 100, 100), TcpReassemblyQueue::Insert::held);
    EXPECT_EQ(queue.size(), 1u);
    EXPECT_EQ(queue.contiguousEnd(100), 200u);
    EXPECT_EQ(pool_->inUse(), 1u);
}

TEST_F(TcpReassemblyQueueTest, WhenFullAnEarlierSegmentEvictsTheLastAndALaterOneIsRefused) {
    TcpReassemblyQueue queue(2);
    offer(queue, 200, 10);
    offer(queue, 300, 10);
    EXPECT_EQ(offer(queue, 400, 10), TcpReassemblyQueue::Insert::full);
    EXPECT_EQ(offer(queue, 100, 10), TcpReassemblyQueue::Insert::held);
    EXPECT_EQ(queue.size(), 2u);
    EXPECT_EQ(queue.contiguousEnd(100), 110u);
    EXPECT_EQ(pool_->inUse(), 2u);
}

TEST_F(TcpReassemblyQueueTest, SackBlocksJoinAdjacentRangesAfterTheLeftEdge) {
    TcpReassemblyQueue queue(8);
    offer(queue, 100, 10);
    offer(queue, 200, 10);
    offer(queue, 210, 10);
    offer(queue, 300, 10);
    TcpOptions::SackBlock blocks[4];
    ASSERT_EQ(queue.sackBlocks(150, blocks, 4), 2u);
    EXPECT_EQ(blocks[0].left, 200u);
    EXPECT_EQ(blocks[0].right, 220u);
    EXPECT_EQ(blocks[1].left, 300u);
}

TEST_F(TcpReassemblyQueueTest, WorksAcrossTheSequenceWrap) {
    TcpReassemblyQueue queue(8);
    offer(queue, 0xfffffff0u, 16);
    offer(queue, 0, 16);
    EXPECT_EQ(queue.contiguousEnd(0xfffffff0u), 16u);
    queue.dropFrom(8);
    EXPECT_EQ(queue.contiguousEnd(0xfffffff0u), 8u);
    EXPECT_EQ(pool_->inUse(), 2u);
}

TEST_F(TcpReassemblyQueueTest, FreesWhatItHoldsWhenDestroyed) {
    {
        TcpReassemblyQueue queue(8);
        offer(queue, 100, 10);
        offer(queue, 300, 10);
        EXPECT_EQ(pool_->inUse(), 2u);
    }
    EXPECT_EQ(pool_->inUse(), 0u);
}

}  // namespace
}  // namespace nexnet
