// IONetwork: NeXT's driver protocol with bursts, through a minimal non-Ethernet test driver.
#include "framework/IONetwork.h"
#include "netif/netif.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <vector>

namespace nexnet {
namespace {

// A link with no Ethernet: receives what the test queued, overrides nothing else.
class TestNetwork : public IONetwork {
public:
    std::vector<Netbuf*> pending;
    unsigned receiveCalls = 0;
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override {
        ++receiveCalls;
        unsigned n = 0;
        while (n < max && !pending.empty()) {
            out[n++] = pending.front();
            pending.erase(pending.begin());
        }
        countReceived(queue, out, n);
        return n;
    }
};

// The bare protocol: nothing overridden at all.
class BareNetwork : public IONetwork {};

class RecordingSink : public IOInputSink {
public:
    std::vector<Netbuf*> received;
    std::vector<unsigned> queues;
    std::vector<bool> links;
    void inputBurst(IONetwork&, unsigned queue, Netbuf** netbufs, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            received.push_back(netbufs[i]);
            queues.push_back(queue);
        }
    }
    void linkChanged(IONetwork&, bool up) override { links.push_back(up); }
    void freeAll() {
        NetbufPool::freeToOwners(received.data(), static_cast<unsigned>(received.size()));
        received.clear();
    }
};

class IONetworkTest : public ::testing::Test {
protected:
    void SetUp() override {
        NetbufPool::Options options;
        options.count = 128;
        options.hugepages = false;
        auto made = NetbufPool::create(options);
        ASSERT_TRUE(made.ok());
        pool = std::shared_ptr<NetbufPool>(std::move(made.value()));
        driver.setPool(pool);
    }
    void TearDown() override {
        sink.freeAll();
        NetbufPool::freeToOwners(driver.pending.data(), static_cast<unsigned>(driver.pending.size()));
        EXPECT_EQ(pool->inUse(), 0u);
    }
    Netbuf* frame(std::uint32_t size) {
        Netbuf* nb = pool->allocate();
        EXPECT_EQ(nb->setSize(size), 0);
        return nb;
    }
    std::shared_ptr<NetbufPool> pool;
    TestNetwork driver;
    RecordingSink sink;
};

TEST_F(IONetworkTest, AllocateNetbufComesFromThePool) {
    Netbuf* nb = driver.allocateNetbuf();
    ASSERT_NE(nb, nullptr);
    EXPECT_EQ(nb->pool(), pool.get());
    nb->free();
}

TEST_F(IONetworkTest, AllocateNetbufIsNullAtTheCap) {
    std::vector<Netbuf*> all;
    while (Netbuf* nb = driver.allocateNetbuf()) all.push_back(nb);
    EXPECT_EQ(all.size(), 128u);
    EXPECT_EQ(driver.allocateNetbuf(), nullptr);
    EXPECT_GE(pool->allocationFailures(), 1u);
    pool->freeBulk(all.data(), static_cast<unsigned>(all.size()));
}

TEST_F(IONetworkTest, AllocateNetbufWithoutAPoolIsNull) {
    BareNetwork bare;
    EXPECT_EQ(bare.pool(), nullptr);
    EXPECT_EQ(bare.allocateNetbuf(), nullptr);
}

TEST_F(IONetworkTest, PoolIsSharedWithWhoeverSetIt) {
    EXPECT_EQ(driver.pool(), pool.get());
    EXPECT_EQ(driver.sharedPool(), pool);
    EXPECT_EQ(pool.use_count(), 2);
}

TEST_F(IONetworkTest, FinishInitializationOfTheBaseDoesNothing) {
    EXPECT_EQ(driver.finishInitialization(), 0);
    EXPECT_FALSE(driver.isRunning());
}

TEST_F(IONetworkTest, BaseOutputPacketFreesThePacketAndIsEopnotsupp) {
    EXPECT_EQ(driver.outputPacket(frame(60), nullptr), EOPNOTSUPP);
    EXPECT_EQ(pool->inUse(), 0u);
    EXPECT_EQ(driver.outputErrors(), 1u);
}

TEST_F(IONetworkTest, BaseOutputPacketOfNullIsHandled) {
    EXPECT_EQ(driver.outputPacket(nullptr, nullptr), EOPNOTSUPP);
}

TEST_F(IONetworkTest, BasePerformCommandIsEinvalForEverything) {
    unsigned short flags = 0;
    EXPECT_EQ(driver.performCommand(IFCONTROL_SETFLAGS, &flags), EINVAL);
    EXPECT_EQ(driver.performCommand(IFCONTROL_GETADDR, &flags), EINVAL);
    EXPECT_EQ(driver.performCommand("no-such-command", nullptr), EINVAL);
}

TEST_F(IONetworkTest, BaseBurstsMoveNothing) {
    BareNetwork bare;
    Netbuf* out[4];
    EXPECT_EQ(bare.receiveBurst(0, out, 4), 0u);
    Netbuf* packets[1] = {frame(60)};
    EXPECT_EQ(bare.transmitBurst(0, packets, 1), 0u);  // the caller keeps it
    packets[0]->free();
}

TEST_F(IONetworkTest, BaseHasOneQueueAndNoInterrupts) {
    EXPECT_EQ(driver.queueCount(), 1u);
    EXPECT_EQ(driver.interruptEventFd(0), -1);
    EXPECT_EQ(driver.setInterruptsEnabled(0, true), EOPNOTSUPP);
}

TEST_F(IONetworkTest, InterruptOccurredDrainsTheQueueInBurstsToTheSink) {
    driver.setInputSink(&sink);
    for (int i = 0; i < 70; ++i) driver.pending.push_back(frame(64));
    driver.interruptOccurred(0);
    EXPECT_EQ(sink.received.size(), 70u);
    EXPECT_EQ(driver.receiveCalls, 3u);  // 32 + 32 + 6: a short burst ends it
    EXPECT_EQ(driver.inputPackets(), 70u);  // counted once, by receiveBurst
    EXPECT_EQ(driver.receiveStatistics(0).packets, 70u);
    EXPECT_EQ(driver.receiveStatistics(0).bytes, 70u * 64);
}

TEST_F(IONetworkTest, LinkStatusChangesAreToldToTheSinkOnce) {
    driver.setInputSink(&sink);
    EXPECT_EQ(driver.linkStatus(), LinkStatus::unknown);
    driver.setLinkStatus(LinkStatus::up);
    driver.setLinkStatus(LinkStatus::up);
    driver.setLinkStatus(LinkStatus::down);
    EXPECT_EQ(driver.linkStatus(), LinkStatus::down);
    EXPECT_EQ(sink.links, (std::vector<bool>{true, false}));
}

TEST_F(IONetworkTest, MtuDefaultsTo1500AndChangesWithinRange) {
    EXPECT_EQ(driver.mtu(), 1500u);
    EXPECT_EQ(driver.maxMtu(), 1500u);
    EXPECT_EQ(driver.setMtu(576), 0);
    EXPECT_EQ(driver.mtu(), 576u);
    EXPECT_EQ(driver.setMtu(68), 0);
}

TEST_F(IONetworkTest, MtuOutOfRangeIsEinvalAndChangesNothing) {
    EXPECT_EQ(driver.setMtu(67), EINVAL);
    EXPECT_EQ(driver.setMtu(1501), EINVAL);
    EXPECT_EQ(driver.setMtu(0), EINVAL);
    EXPECT_EQ(driver.mtu(), 1500u);
}

TEST_F(IONetworkTest, InputSinkIsRecorded) {
    EXPECT_EQ(driver.inputSink(), nullptr);
    driver.setInputSink(&sink);
    EXPECT_EQ(driver.inputSink(), &sink);
}

TEST_F(IONetworkTest, HandleInputPacketGoesToTheSinkOnQueueZero) {
    driver.setInputSink(&sink);
    Netbuf* nb = frame(64);
    int extra = 0;
    driver.handleInputPacket(nb, &extra);
    ASSERT_EQ(sink.received.size(), 1u);
    EXPECT_EQ(sink.received[0], nb);
    EXPECT_EQ(sink.queues[0], 0u);
}

TEST_F(IONetworkTest, HandleInputBurstKeepsTheQueueAndCountsNothing) {
    driver.setInputSink(&sink);
    Netbuf* burst[3] = {frame(60), frame(61), frame(62)};
    driver.handleInputBurst(2, burst, 3);
    EXPECT_EQ(sink.received.size(), 3u);
    EXPECT_EQ(sink.queues[2], 2u);
    EXPECT_EQ(driver.inputPackets(), 0u);  // receiveBurst or countReceived counts, not delivery
}

TEST_F(IONetworkTest, InputWithoutASinkIsFreedAndCountedAsDrops) {
    Netbuf* burst[3] = {frame(60), frame(60), frame(60)};
    driver.handleInputBurst(1, burst, 3);
    EXPECT_EQ(pool->inUse(), 0u);
    EXPECT_EQ(driver.inputDrops(), 3u);
    EXPECT_EQ(driver.receiveStatistics(1).drops, 3u);
}

TEST_F(IONetworkTest, CountersIncrement) {
    driver.incrementInputPackets();
    driver.incrementInputPackets(4);
    driver.incrementInputErrors(2);
    driver.incrementOutputPackets(3);
    driver.incrementOutputErrors();
    driver.incrementCollisions(5);
    driver.incrementInputDrops(6);
    EXPECT_EQ(driver.inputPackets(), 5u);
    EXPECT_EQ(driver.inputErrors(), 2u);
    EXPECT_EQ(driver.outputPackets(), 3u);
    EXPECT_EQ(driver.outputErrors(), 1u);
    EXPECT_EQ(driver.collisions(), 5u);
    EXPECT_EQ(driver.inputDrops(), 6u);
}

TEST_F(IONetworkTest, CountTransmittedAndCountReceivedAddPacketsAndBytesPerQueue) {
    Netbuf* burst[2] = {frame(100), frame(200)};
    driver.countTransmitted(3, burst, 2);
    driver.countReceived(4, burst, 2);
    EXPECT_EQ(driver.transmitStatistics(3).packets, 2u);
    EXPECT_EQ(driver.transmitStatistics(3).bytes, 300u);
    EXPECT_EQ(driver.outputPackets(), 2u);
    EXPECT_EQ(driver.receiveStatistics(4).packets, 2u);
    EXPECT_EQ(driver.receiveStatistics(4).bytes, 300u);
    EXPECT_EQ(driver.inputPackets(), 2u);
    pool->freeBulk(burst, 2);
}

TEST_F(IONetworkTest, StatisticsOfAQueueOutOfRangeAreZeros) {
    driver.receiveStatisticsFor(0).packets = 9;
    EXPECT_EQ(driver.receiveStatistics(IONetwork::kMaxQueues).packets, 0u);
    EXPECT_EQ(driver.transmitStatistics(1000).bytes, 0u);
}

TEST_F(IONetworkTest, MutableStatisticsAreTheOnesReported) {
    driver.receiveStatisticsFor(1).errors = 3;
    driver.transmitStatisticsFor(1).drops = 4;
    EXPECT_EQ(driver.receiveStatistics(1).errors, 3u);
    EXPECT_EQ(driver.transmitStatistics(1).drops, 4u);
}

}  // namespace
}  // namespace nexnet
