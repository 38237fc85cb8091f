// IONetwork: NeXT's driver protocol with bursts, through a minimal non-Ethernet test driver.
#include "framework/EventLoop.h"
#include "framework/IONetwork.h"
#include "netif/netif.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <thread>
#include <vector>

namespace nexnet {
namespace {

// A link with no Ethernet: receives what the test queued, sends into `sent`; counts nothing,
// as the contract says.
class TestNetwork : public IONetwork {
public:
    std::vector<Netbuf*> pending;
    std::vector<Netbuf*> sent;
    unsigned receiveCalls = 0;

protected:
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override {
        (void)queue;
        ++receiveCalls;
        unsigned n = 0;
        while (n < max && !pending.empty()) {
            out[n++] = pending.front();
            pending.erase(pending.begin());
        }
        return n;
    }
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override {
        (void)queue;
        sent.insert(sent.end(), packets, packets + count);
        return count;
    }
};

// The bare protocol: nothing overridden at all.
class BareNetwork : public IONetwork {};

class RecordingSink : public IONetworkClient {
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
        NetbufPool::freeToOwners(driver.sent.data(), static_cast<unsigned>(driver.sent.size()));
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

TEST_F(IONetworkTest, BaseOutputPacketSendsTheFrameAsItIsAndCountsIt) {
    driver.setRunning(true);
    Netbuf* nb = frame(60);
    EXPECT_EQ(driver.outputPacket(nb, nullptr), 0);
    ASSERT_EQ(driver.sent.size(), 1u);
    EXPECT_EQ(driver.sent[0], nb);
    EXPECT_EQ(driver.outputPackets(), 1u);
    EXPECT_EQ(driver.transmitStatistics(0).bytes, 60u);
}

TEST_F(IONetworkTest, BaseOutputPacketOnAStoppedDriverIsEnetdownFreedAndADrop) {
    EXPECT_EQ(driver.outputPacket(frame(60), nullptr), ENETDOWN);
    EXPECT_EQ(pool->inUse(), 0u);
    EXPECT_EQ(driver.outputDrops(), 1u);
}

TEST_F(IONetworkTest, BaseOutputPacketWithNoTransmitPathIsEnobufsAndFreed) {
    BareNetwork bare;
    bare.setRunning(true);
    EXPECT_EQ(bare.outputPacket(frame(60), nullptr), ENOBUFS);
    EXPECT_EQ(pool->inUse(), 0u);
    EXPECT_EQ(bare.outputDrops(), 1u);
}

TEST_F(IONetworkTest, BaseOutputPacketOfNullIsEinval) { EXPECT_EQ(driver.outputPacket(nullptr, nullptr), EINVAL); }

TEST_F(IONetworkTest, BasePerformCommandIsEinvalForEverything) {
    unsigned short flags = 0;
    EXPECT_EQ(driver.performCommand(IFCONTROL_SETFLAGS, &flags), EINVAL);
    EXPECT_EQ(driver.performCommand(IFCONTROL_GETADDR, &flags), EINVAL);
    EXPECT_EQ(driver.performCommand("no-such-command", nullptr), EINVAL);
}

TEST_F(IONetworkTest, BaseBurstsMoveNothing) {
    BareNetwork bare;
    Netbuf* out[4];
    EXPECT_EQ(bare.receive(0, out, 4), 0u);
    Netbuf* packets[1] = {frame(60)};
    EXPECT_EQ(bare.send(0, packets, 1), 0u);  // the caller keeps it
    packets[0]->free();
}

TEST_F(IONetworkTest, BaseHasOneQueueAndNoInterrupts) {
    EXPECT_EQ(driver.queueCount(), 1u);
    EXPECT_EQ(driver.interruptEventFd(0), -1);
    EXPECT_EQ(driver.setInterruptsEnabled(0, true), EOPNOTSUPP);
    EXPECT_EQ(driver.setInterruptsEnabled(1, true), EINVAL);
}

TEST_F(IONetworkTest, InterruptOccurredDrainsTheQueueUntilAReceiveReturnsNothing) {
    driver.setClient(&sink);
    for (int i = 0; i < 70; ++i) driver.pending.push_back(frame(64));
    driver.interruptOccurred(0);
    EXPECT_EQ(sink.received.size(), 70u);
    // 32 + 32 + 6 + 0: a short burst does not end it (an edge-triggered source would stall on
    // a frame that arrived after it), only an empty one does.
    EXPECT_EQ(driver.receiveCalls, 4u);
    EXPECT_EQ(driver.inputPackets(), 70u);  // counted once, by the framework
    EXPECT_EQ(driver.receiveStatistics(0).packets, 70u);
    EXPECT_EQ(driver.receiveStatistics(0).bytes, 70u * 64);
}

TEST_F(IONetworkTest, InterruptOccurredPastItsBudgetCarriesOnAtTheLoopsNextTurn) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    auto big = NetbufPool::create(4096);
    ASSERT_TRUE(big);
    driver.attachToEventLoop(loop->get());
    driver.setClient(&sink);
    const unsigned frames = IONetwork::kBurst * IONetwork::kInterruptBudget + 10;
    for (unsigned i = 0; i < frames; ++i) driver.pending.push_back(big.value()->allocate());
    driver.interruptOccurred(0);
    EXPECT_EQ(sink.received.size(), IONetwork::kBurst * IONetwork::kInterruptBudget);
    sink.freeAll();
    loop.value()->runOnce(std::chrono::milliseconds(0));  // no descriptor fires: the posted call runs
    EXPECT_EQ(sink.received.size(), 10u);
    EXPECT_TRUE(driver.pending.empty());
    sink.freeAll();  // before the pool they came from goes
    driver.attachToEventLoop(nullptr);
}

TEST_F(IONetworkTest, LinkStatusChangesAreToldToTheSinkOnce) {
    driver.setClient(&sink);
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
    EXPECT_EQ(driver.client(), nullptr);
    driver.setClient(&sink);
    EXPECT_EQ(driver.client(), &sink);
}

TEST_F(IONetworkTest, HandleInputPacketGoesToTheSinkOnQueueZero) {
    driver.setClient(&sink);
    Netbuf* nb = frame(64);
    int extra = 0;
    driver.handleInputPacket(nb, &extra);
    ASSERT_EQ(sink.received.size(), 1u);
    EXPECT_EQ(sink.received[0], nb);
    EXPECT_EQ(sink.queues[0], 0u);
}

TEST_F(IONetworkTest, HandleInputBurstKeepsTheQueueAndCountsThePushedPackets) {
    driver.setClient(&sink);
    Netbuf* burst[3] = {frame(60), frame(61), frame(62)};
    driver.handleInputBurst(2, burst, 3);
    EXPECT_EQ(sink.received.size(), 3u);
    EXPECT_EQ(sink.queues[2], 2u);
    EXPECT_EQ(driver.receiveStatistics(2).packets, 3u);  // pushed, not received: counted here
    EXPECT_EQ(driver.receiveStatistics(2).bytes, 183u);
}

TEST_F(IONetworkTest, ReceiveCountsWhatTheDriverReturnedOnItsQueue) {
    driver.pending = {frame(100), frame(200)};
    Netbuf* out[8];
    ASSERT_EQ(driver.receive(3, out, 8), 2u);
    EXPECT_EQ(driver.receiveStatistics(3).packets, 2u);
    EXPECT_EQ(driver.receiveStatistics(3).bytes, 300u);
    EXPECT_EQ(driver.inputPackets(), 2u);
    EXPECT_EQ(driver.receiveStatistics(0).packets, 0u);
    pool->freeBulk(out, 2);
}

TEST_F(IONetworkTest, InputWithoutASinkIsFreedAndCountedAsDrops) {
    Netbuf* burst[3] = {frame(60), frame(60), frame(60)};
    driver.handleInputBurst(1, burst, 3);
    EXPECT_EQ(pool->inUse(), 0u);
    EXPECT_EQ(driver.inputDrops(), 3u);
    EXPECT_EQ(driver.receiveStatistics(1).drops, 3u);
}

TEST_F(IONetworkTest, ReportedEventsLandOnTheirQueueAndInTheTotals) {
    driver.report(QueueEvent::receiveError, 1, 2);
    driver.report(QueueEvent::receiveDrop, 1, 3);
    driver.report(QueueEvent::transmitError, 2);
    driver.report(QueueEvent::transmitDrop, 2, 4);
    driver.report(QueueEvent::collision, 0, 5);
    EXPECT_EQ(driver.receiveStatistics(1).errors, 2u);
    EXPECT_EQ(driver.receiveStatistics(1).drops, 3u);
    EXPECT_EQ(driver.transmitStatistics(2).errors, 1u);
    EXPECT_EQ(driver.transmitStatistics(2).drops, 4u);
    EXPECT_EQ(driver.inputErrors(), 2u);
    EXPECT_EQ(driver.inputDrops(), 3u);
    EXPECT_EQ(driver.outputErrors(), 1u);
    EXPECT_EQ(driver.outputDrops(), 4u);
    EXPECT_EQ(driver.collisions(), 5u);
}

TEST_F(IONetworkTest, AFailureReportedAfterTheSendTakesThePacketOffTheSentCount) {
    driver.setRunning(true);
    Netbuf* packets[2] = {frame(100), frame(50)};
    ASSERT_EQ(driver.send(0, packets, 2), 2u);
    // A completion says the second one never went out (a device error written back later).
    driver.report(QueueEvent::transmitError, 0, *driver.sent[1]);
    EXPECT_EQ(driver.transmitStatistics(0).packets, 1u);
    EXPECT_EQ(driver.transmitStatistics(0).bytes, 100u);
    EXPECT_EQ(driver.transmitStatistics(0).errors, 1u);
    Netbuf* more[1] = {frame(10)};
    ASSERT_EQ(driver.send(0, more, 1), 1u);
    EXPECT_EQ(driver.transmitStatistics(0).packets, 2u);
    EXPECT_EQ(driver.transmitStatistics(0).bytes, 110u);
}

TEST_F(IONetworkTest, EventsOfAQueueOutOfRangeAreChargedToQueueZero) {
    driver.report(QueueEvent::receiveDrop, 1000);
    EXPECT_EQ(driver.receiveStatistics(0).drops, 1u);
    EXPECT_EQ(driver.receiveStatistics(IONetwork::kMaxQueues).drops, 0u);
    EXPECT_EQ(driver.transmitStatistics(1000).bytes, 0u);
}

TEST_F(IONetworkTest, CountersAreReadWhileAnotherThreadCountsWithoutTearing) {
    std::atomic<bool> done{false};
    std::thread counter([&] {
        for (int i = 0; i < 100000; ++i) driver.report(QueueEvent::receiveDrop, 1);
        done = true;
    });
    std::uint64_t last = 0;
    while (!done) {
        std::uint64_t now = driver.receiveStatistics(1).drops;
        EXPECT_GE(now, last);  // never backwards, never torn
        last = now;
    }
    counter.join();
    EXPECT_EQ(driver.receiveStatistics(1).drops, 100000u);
}

}  // namespace
}  // namespace nexnet
