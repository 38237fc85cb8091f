// LowResourceBuffer, claim by claim (shared/seeds/low-resource-buffering-patent-claims.txt), on
// the null driver with a pool whose free count is exact (no thread cache).
#include "netif/LowResourceBuffer.h"
#include "netif/NetworkInterface.h"
#include "support/LowResourceHarness.h"

#include <gtest/gtest.h>

using namespace nexnet;
using namespace nexnet::test;
using Location = LowResourceDescriptor::Location;

namespace {

class LowResourceBufferTest : public ::testing::Test {
protected:
    static constexpr std::uint32_t kPool = 128;
    static constexpr std::uint32_t kLowWater = 64;

    void make(LowResourceBuffer::Config config = {}) {
        driver = makeNullDriver(kPool);
        ASSERT_NE(driver, nullptr);
        if (config.lowWater == LowResourceBuffer::Config{}.lowWater) config.lowWater = kLowWater;
        auto made = LowResourceBuffer::create(driver->sharedPool(), config);
        ASSERT_TRUE(made) << made.error();
        layer = std::move(made.value());
        layer->setDownstream(&sink);
        layer->setClient(&client);
        driver->setClient(layer.get());
        pressure = std::make_unique<PoolPressure>(*driver->pool());
    }
    NetbufPool& pool() { return *driver->pool(); }
    std::uint16_t reserveId() { return layer->reservePool()->id(); }

    // Declared so that the sink (holding netbufs of both pools) goes first, the driver last.
    std::unique_ptr<NullDriver> driver;
    std::unique_ptr<LowResourceBuffer> layer;
    std::unique_ptr<PoolPressure> pressure;
    RecordingClient client;
    RecordingSink sink;
};

// With 40 netbufs taken, 88 are free; receiving 32 leaves 56 < 64. Packet i leaves 87 - i
// behind it, so packet 24 is the first to take the pool under the mark.
constexpr unsigned kTakenForMidArrayMark = 40;
constexpr unsigned kExpectedMark = 24;

TEST_F(LowResourceBufferTest, NormalPathHandsTheDriversNetbufsUpWithoutCopy) {
    make();
    sink.hold = true;
    ASSERT_EQ(receiveArray(*driver, 32), 32u);
    ASSERT_EQ(sink.seen.size(), 32u);
    for (const SeenPacket& p : sink.seen) {
        EXPECT_EQ(p.poolId, pool().id());
        EXPECT_FALSE(p.flagged);
    }
    EXPECT_EQ(layer->lastArray().mark, LowResourceClient::ArrayReport::kNoMark);
    EXPECT_EQ(layer->statistics().packetsToHost, 32u);
    EXPECT_EQ(layer->statistics().lowResourceEntries, 0u);
    EXPECT_EQ(layer->reserveInUse(), 0u);
}

TEST_F(LowResourceBufferTest, MarksThePacketWhoseReceiptTookThePoolUnderTheLowWaterMark) {
    make();
    sink.hold = true;
    ASSERT_EQ(pressure->take(kTakenForMidArrayMark), kTakenForMidArrayMark);
    ASSERT_EQ(receiveArray(*driver, 32), 32u);
    EXPECT_EQ(layer->lastArray().mark, kExpectedMark);
    EXPECT_EQ(layer->statistics().lowResourceEntries, 1u);
    EXPECT_TRUE(layer->isLowResource());
}

TEST_F(LowResourceBufferTest, MarksTheFirstPacketWhenTheConditionIsOlderThanTheArray) {
    make();
    sink.hold = true;
    ASSERT_EQ(pressure->take(80), 80u);  // 48 free: already low
    ASSERT_EQ(receiveArray(*driver, 8), 8u);
    ASSERT_EQ(receiveArray(*driver, 8), 8u);
    EXPECT_EQ(layer->lastArray().mark, 0u);
    EXPECT_EQ(layer->lastArray().flagged, 8u);
    EXPECT_EQ(layer->statistics().lowResourceEntries, 1u);
}

TEST_F(LowResourceBufferTest, FlagsEachPacketFromTheMarkForBuffering) {
    make();
    sink.hold = true;
    pressure->take(kTakenForMidArrayMark);
    receiveArray(*driver, 32);
    ASSERT_EQ(client.descriptors.size(), 32u);
    for (unsigned i = 0; i < 32; ++i) EXPECT_EQ(client.descriptors[i].flagged, i >= kExpectedMark) << i;
    for (unsigned i = 0; i < 32; ++i) EXPECT_EQ(sink.seen[i].flagged, i >= kExpectedMark) << i;
    EXPECT_EQ(layer->statistics().packetsFlagged, 32u - kExpectedMark);
}

TEST_F(LowResourceBufferTest, CopiesFlaggedPacketsToTheReserveAndGivesTheirNetbufsBack) {
    make();
    sink.hold = true;
    pressure->take(kTakenForMidArrayMark);
    receiveArray(*driver, 32);
    // 40 taken + 24 held upstream in their own netbufs; the 8 flagged ones were given back.
    EXPECT_EQ(pool().sharedAvailable(), kPool - kTakenForMidArrayMark - kExpectedMark);
    EXPECT_EQ(layer->reserveInUse(), 32u - kExpectedMark);
    for (unsigned i = 0; i < 32; ++i)
        EXPECT_EQ(sink.seen[i].poolId, i < kExpectedMark ? pool().id() : reserveId()) << i;
    EXPECT_EQ(layer->statistics().packetsBuffered, 32u - kExpectedMark);
    EXPECT_EQ(layer->statistics().packetsToHost, kExpectedMark);
}

TEST_F(LowResourceBufferTest, RecoveryAtTheReCheckRemovesTheFlagsFromTheMark) {
    make();
    pressure->take(kTakenForMidArrayMark);
    // The layers above return the pressure when they get the packets before the mark.
    sink.onDelivery = [this] { pressure->release(pressure->held()); };
    receiveArray(*driver, 32);
    EXPECT_EQ(layer->lastArray().mark, kExpectedMark);
    EXPECT_EQ(layer->lastArray().unflagged, 32u - kExpectedMark);
    EXPECT_EQ(layer->lastArray().toReserve, 0u);
    for (const SeenPacket& p : sink.seen) {
        EXPECT_FALSE(p.flagged);
        EXPECT_EQ(p.poolId, pool().id());
    }
    EXPECT_EQ(layer->statistics().flagsRemoved, 32u - kExpectedMark);
    EXPECT_EQ(layer->statistics().recoveries, 1u);
    EXPECT_FALSE(layer->isLowResource());
}

TEST_F(LowResourceBufferTest, DeliversInReceiveOrderAcrossHostAndReserve) {
    make();
    sink.hold = true;
    pressure->take(kTakenForMidArrayMark);
    for (int i = 0; i < 3; ++i) receiveArray(*driver, 16);
    ASSERT_EQ(sink.seen.size(), 48u);
    for (unsigned i = 0; i < sink.seen.size(); ++i) EXPECT_EQ(sink.seen[i].sequence, i);
    EXPECT_GT(layer->statistics().packetsBuffered, 0u);
}

TEST_F(LowResourceBufferTest, DescriptorsSayWhereEachPacketLives) {
    make();
    sink.hold = true;
    pressure->take(kTakenForMidArrayMark);
    receiveArray(*driver, 32);
    receiveArray(*driver, 4);
    ASSERT_EQ(client.descriptors.size(), 36u);
    for (unsigned i = 0; i < 36; ++i) {
        const LowResourceDescriptor& d = client.descriptors[i];
        Netbuf* nb = sink.kept[i];
        EXPECT_EQ(d.sequence, i);
        EXPECT_EQ(d.location, i < kExpectedMark ? Location::host : Location::reserve) << i;
        EXPECT_EQ(d.poolId, nb->poolId());
        EXPECT_EQ(d.index, nb->index());
        EXPECT_EQ(d.offset, nb->headroom());
        EXPECT_EQ(d.length, nb->size());
    }
}

TEST_F(LowResourceBufferTest, ReportsOnceEveryPacketOfTheArrayHasBeenProcessed) {
    make();
    sink.hold = true;
    pressure->take(kTakenForMidArrayMark);
    std::size_t seenAtReport = 0;
    client.onArray = [&](const LowResourceClient::ArrayReport&) { seenAtReport = sink.seen.size(); };
    receiveArray(*driver, 32);
    ASSERT_EQ(client.reports.size(), 1u);
    const auto& report = client.reports[0];
    EXPECT_EQ(seenAtReport, 32u);
    EXPECT_EQ(report.count, 32u);
    EXPECT_EQ(report.toHost + report.toReserve + report.dropped, report.count);
}

TEST_F(LowResourceBufferTest, DropsOnlyWhatTheFullReserveCannotTake) {
    LowResourceBuffer::Config config;
    config.reserveCount = 4;
    make(config);
    sink.hold = true;
    pressure->take(kTakenForMidArrayMark);
    receiveArray(*driver, 32);
    EXPECT_EQ(layer->lastArray().toReserve, 4u);
    EXPECT_EQ(layer->lastArray().dropped, 32u - kExpectedMark - 4u);
    EXPECT_EQ(layer->statistics().drops, 32u - kExpectedMark - 4u);
    EXPECT_EQ(layer->statistics().reserveHighWater, 4u);
    EXPECT_EQ(layer->lastArray().reserveFree, 0u);
    for (unsigned i = kExpectedMark + 4; i < 32; ++i) EXPECT_EQ(client.descriptors[i].location, Location::dropped);
    // What was accepted is still in order, without a gap before the drops.
    for (unsigned i = 0; i < sink.seen.size(); ++i) EXPECT_EQ(sink.seen[i].sequence, i);
}

TEST_F(LowResourceBufferTest, OnRecoveryPolicyHoldsBufferedPacketsUntilThePoolRecovers) {
    LowResourceBuffer::Config config;
    config.release = LowResourceBuffer::Release::onRecovery;
    make(config);
    pressure->take(80);
    receiveArray(*driver, 16);
    receiveArray(*driver, 16);
    EXPECT_TRUE(sink.seen.empty());
    EXPECT_EQ(layer->held(), 32u);
    EXPECT_EQ(layer->drain(), 0u);  // still low
    pressure->release(pressure->held());
    EXPECT_EQ(layer->drain(), 32u);
    ASSERT_EQ(sink.seen.size(), 32u);
    for (unsigned i = 0; i < 32; ++i) EXPECT_EQ(sink.seen[i].sequence, i);
    EXPECT_EQ(layer->statistics().packetsReleased, 32u);
}

TEST_F(LowResourceBufferTest, OnRecoveryPolicyLetsNoLaterPacketOvertakeHeldOnes) {
    LowResourceBuffer::Config config;
    config.release = LowResourceBuffer::Release::onRecovery;
    make(config);
    pressure->take(80);
    receiveArray(*driver, 16);
    pressure->release(pressure->held());
    receiveArray(*driver, 16);  // recovered: the held 16 go up first, then these
    ASSERT_EQ(sink.seen.size(), 32u);
    for (unsigned i = 0; i < 32; ++i) EXPECT_EQ(sink.seen[i].sequence, i);
    EXPECT_EQ(layer->lastArray().released, 16u);
    EXPECT_EQ(layer->held(), 0u);
}

TEST_F(LowResourceBufferTest, RecoversOnlyAtTheHighWaterMark) {
    LowResourceBuffer::Config config;
    config.highWater = 100;
    make(config);
    pressure->take(80);  // 48 free
    receiveArray(*driver, 1);
    EXPECT_TRUE(layer->isLowResource());
    pressure->release(40);  // 88 free: above low water, below high water
    receiveArray(*driver, 1);
    EXPECT_TRUE(layer->isLowResource());
    EXPECT_EQ(layer->lastArray().toReserve, 1u);
    pressure->release(40);  // 128 free
    receiveArray(*driver, 1);
    EXPECT_FALSE(layer->isLowResource());
    EXPECT_EQ(layer->statistics().recoveries, 1u);
    EXPECT_EQ(layer->statistics().lowResourceEntries, 1u);
}

TEST_F(LowResourceBufferTest, ReserveCopiesKeepDataOffloadAndTimestamp) {
    make();
    sink.hold = true;
    pressure->take(100);
    Netbuf* burst[1];
    ASSERT_EQ(driver->receive(0, burst, 1), 1u);
    burst[0]->setTimestamp(1234);
    burst[0]->offload().gsoSize = 1400;
    std::vector<std::uint8_t> bytes(burst[0]->data(), burst[0]->data() + burst[0]->size());
    driver->handleInputBurst(0, burst, 1);
    ASSERT_EQ(sink.kept.size(), 1u);
    Netbuf* copy = sink.kept[0];
    EXPECT_EQ(copy->poolId(), reserveId());
    EXPECT_EQ(copy->timestamp(), 1234u);
    EXPECT_EQ(copy->offload().gsoSize, 1400u);
    EXPECT_EQ(std::vector<std::uint8_t>(copy->data(), copy->data() + copy->size()), bytes);
}

TEST_F(LowResourceBufferTest, ArraysLongerThanMaxArrayAreProcessedInPieces) {
    make();
    Netbuf* many[300];
    NetbufPool::Options options;
    options.count = 400;
    options.cacheSize = 0;
    options.hugepages = false;
    auto big = NetbufPool::create(options);
    ASSERT_TRUE(big);
    ASSERT_EQ(big.value()->allocateBulk(many, 300), 0);
    layer->inputBurst(*driver, 0, many, 300);
    EXPECT_EQ(layer->statistics().arrays, 2u);
    EXPECT_EQ(layer->statistics().packets, 300u);
    EXPECT_EQ(sink.seen.size(), 300u);
}

TEST(LowResourceBufferCreate, RejectsAHighWaterMarkBelowTheLowWaterMark) {
    auto pool = NetbufPool::create(64);
    ASSERT_TRUE(pool);
    LowResourceBuffer::Config config;
    config.lowWater = 32;
    config.highWater = 16;
    auto layer = LowResourceBuffer::create(std::shared_ptr<NetbufPool>(std::move(pool.value())), config);
    EXPECT_FALSE(layer);
    EXPECT_EQ(layer.error(), EINVAL);
}

TEST(LowResourceBufferCreate, RejectsAMissingPool) {
    auto layer = LowResourceBuffer::create(nullptr, {});
    ASSERT_FALSE(layer);
    EXPECT_EQ(layer.error(), EINVAL);
}

TEST(LowResourceBufferInsert, SitsBetweenADriverAndItsInterfaceAndLeavesCleanly) {
    auto driver = makeNullDriver(256);
    ASSERT_NE(driver, nullptr);
    IONetwork* raw = driver.get();
    NetworkInterface interface(std::move(driver));
    auto made = LowResourceBuffer::create(raw->sharedPool(), {});
    ASSERT_TRUE(made);
    auto& layer = *made.value();
    ASSERT_EQ(layer.insert(*raw), 0);
    EXPECT_EQ(layer.insert(*raw), EBUSY);
    EXPECT_EQ(raw->client(), &layer);
    EXPECT_EQ(layer.downstream(), &interface);
    receiveArray(*raw, 32);
    EXPECT_EQ(interface.receiveStatistics().packets, 32u);
    EXPECT_EQ(layer.statistics().packets, 32u);
    layer.remove();
    EXPECT_EQ(raw->client(), &interface);
}

}  // namespace
