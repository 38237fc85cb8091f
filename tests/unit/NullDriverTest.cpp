// NullDriver ("null:"): an endless source and a sink of frames.
#include "drivers/BuiltinDrivers.h"
#include "drivers/null/NullDriver.h"
#include "netif/netif.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace nexnet {
namespace {

std::unique_ptr<NullDriver> openNull(const std::string& uri) {
    auto opened = builtinDrivers().open(uri);
    EXPECT_TRUE(opened.ok()) << uri << ": " << opened.error();
    if (!opened) return nullptr;
    return std::unique_ptr<NullDriver>(static_cast<NullDriver*>(opened.value().release()));
}

int bringUp(IONetwork& driver) {
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    return driver.performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru);
}

TEST(NullDriver, OpensStoppedWithTheLinkUpAndALocalAddress) {
    auto driver = openNull("null:,pool=64");
    ASSERT_TRUE(driver);
    EXPECT_FALSE(driver->isRunning());
    EXPECT_EQ(driver->linkStatus(), LinkStatus::up);
    EXPECT_EQ(driver->name(), "null");
    EXPECT_FALSE(driver->hardwareAddress().isMulticast());
    EXPECT_NE(driver->hardwareAddress().bytes[0] & 0x02, 0);  // locally administered
    ASSERT_NE(driver->pool(), nullptr);
    EXPECT_EQ(driver->pool()->capacity(), 64u);
}

TEST(NullDriver, ReceivesNothingWhileStopped) {
    auto driver = openNull("null:,pool=64");
    Netbuf* burst[32];
    EXPECT_EQ(driver->receive(0, burst, 32), 0u);
    EXPECT_EQ(driver->produced(), 0u);
}

TEST(NullDriver, ReceivesFullBurstsOfTheConfiguredSize) {
    auto driver = openNull("null:,size=128,pool=256");
    ASSERT_EQ(bringUp(*driver), 0);
    Netbuf* burst[32];
    ASSERT_EQ(driver->receive(0, burst, 32), 32u);
    for (Netbuf* nb : burst) EXPECT_EQ(nb->size(), 128u);
    EXPECT_EQ(driver->produced(), 32u);
    EXPECT_EQ(driver->inputPackets(), 32u);
    EXPECT_EQ(driver->receiveStatistics(0).bytes, 32u * 128);
    driver->pool()->freeBulk(burst, 32);
}

TEST(NullDriver, DefaultFramesAre64Bytes) {
    auto driver = openNull("null:,pool=64");
    ASSERT_EQ(bringUp(*driver), 0);
    Netbuf* nb = nullptr;
    ASSERT_EQ(driver->receive(0, &nb, 1), 1u);
    EXPECT_EQ(nb->size(), 64u);
    nb->free();
}

TEST(NullDriver, FillWritesATestFrameWithASequenceNumber) {
    auto driver = openNull("null:,fill=1,size=60,pool=64");
    ASSERT_EQ(bringUp(*driver), 0);
    Netbuf* burst[2];
    ASSERT_EQ(driver->receive(0, burst, 2), 2u);
    for (std::uint64_t i = 0; i < 2; ++i) {
        const std::uint8_t* frame = burst[i]->data();
        EXPECT_TRUE(EthernetAddress::fromBytes(frame).isBroadcast());
        EXPECT_EQ(EthernetAddress::fromBytes(frame + 6), driver->hardwareAddress());
        EXPECT_EQ(frame[12], 0x88);
        EXPECT_EQ(frame[13], 0xb5);
        std::uint64_t sequence;
        std::memcpy(&sequence, frame + 14, sizeof sequence);
        EXPECT_EQ(sequence, i);
    }
    EXPECT_EQ(driver->frameTemplate().size(), 60u);
    driver->pool()->freeBulk(burst, 2);
}

TEST(NullDriver, LimitStopsTheSource) {
    auto driver = openNull("null:,limit=40,pool=64");
    ASSERT_EQ(bringUp(*driver), 0);
    Netbuf* burst[32];
    ASSERT_EQ(driver->receive(0, burst, 32), 32u);
    driver->pool()->freeBulk(burst, 32);
    ASSERT_EQ(driver->receive(0, burst, 32), 8u);
    driver->pool()->freeBulk(burst, 8);
    EXPECT_EQ(driver->receive(0, burst, 32), 0u);
    EXPECT_EQ(driver->produced(), 40u);
}

TEST(NullDriver, AnExhaustedPoolReceivesNothingAndCountsDrops) {
    auto driver = openNull("null:,pool=40");
    ASSERT_EQ(bringUp(*driver), 0);
    Netbuf* held[32];
    ASSERT_EQ(driver->receive(0, held, 32), 32u);
    Netbuf* more[32];
    EXPECT_EQ(driver->receive(0, more, 32), 0u);
    EXPECT_EQ(driver->receiveStatistics(0).drops, 32u);
    driver->pool()->freeBulk(held, 32);
}

TEST(NullDriver, TransmitBurstAcceptsFreesAndCountsEverything) {
    auto driver = openNull("null:,pool=64");
    ASSERT_EQ(bringUp(*driver), 0);
    Netbuf* burst[32];
    ASSERT_EQ(driver->receive(0, burst, 32), 32u);
    EXPECT_EQ(driver->send(0, burst, 32), 32u);
    EXPECT_EQ(driver->pool()->inUse(), 0u);
    EXPECT_EQ(driver->outputPackets(), 32u);
    EXPECT_EQ(driver->transmitStatistics(0).bytes, 32u * 64);
}

TEST(NullDriver, TransmitBurstReturnsForeignNetbufsToTheirOwnPool) {
    auto source = openNull("null:,pool=64");
    auto sink = openNull("null:,pool=64");
    ASSERT_EQ(bringUp(*source), 0);
    ASSERT_EQ(bringUp(*sink), 0);
    Netbuf* burst[16];
    ASSERT_EQ(source->receive(0, burst, 16), 16u);
    EXPECT_EQ(sink->send(0, burst, 16), 16u);
    EXPECT_EQ(source->pool()->inUse(), 0u);
    EXPECT_EQ(sink->pool()->inUse(), 0u);
}

TEST(NullDriver, OutputPacketGoesThroughTransmitBurst) {
    auto driver = openNull("null:,pool=64");
    Netbuf* nb = driver->allocateNetbuf();
    ASSERT_EQ(nb->setSize(20), 0);
    EXPECT_EQ(driver->outputPacket(nb, EthernetAddress::broadcast().bytes.data()), ENETDOWN);
    EXPECT_EQ(driver->pool()->inUse(), 0u);
    ASSERT_EQ(bringUp(*driver), 0);
    nb = driver->allocateNetbuf();
    ASSERT_EQ(nb->setSize(20), 0);
    EXPECT_EQ(driver->outputPacket(nb, EthernetAddress::broadcast().bytes.data()), 0);
    EXPECT_EQ(driver->outputPackets(), 1u);
    EXPECT_EQ(driver->transmitStatistics(0).bytes, 60u);  // padded
    EXPECT_EQ(driver->pool()->inUse(), 0u);
}

TEST(NullDriver, MaxMtuIsWhatABufferHoldsAfterTheHeader) {
    auto driver = openNull("null:,pool=64");
    EXPECT_EQ(driver->maxMtu(), driver->pool()->bufferSize() - driver->pool()->headroom() - 14);
    EXPECT_EQ(driver->setMtu(driver->maxMtu()), 0);
    EXPECT_EQ(driver->setMtu(driver->maxMtu() + 1), EINVAL);
}

TEST(NullDriver, ResetAndEnableSwitchesRunning) {
    auto driver = openNull("null:,pool=64");
    EXPECT_EQ(driver->resetAndEnable(true), 0);
    EXPECT_TRUE(driver->isRunning());
    EXPECT_EQ(driver->resetAndEnable(false), 0);
    EXPECT_FALSE(driver->isRunning());
}

TEST(NullDriver, BadUriOptionsAreEinval) {
    for (const char* uri : {"null:,size=abc", "null:,size=13", "null:,size=70000", "null:,size=4000",
                            "null:,fill=maybe", "null:,pool=0", "null:,pool=x", "null:,limit=-1"})
        EXPECT_EQ(builtinDrivers().open(uri).error(), EINVAL) << uri;
}

TEST(NullDriver, CreateRejectsFramesThatDoNotFit) {
    NullDriver::Options options;
    options.frameSize = 13;
    EXPECT_EQ(NullDriver::create(options, 64).error(), EINVAL);
    options.frameSize = 2049;
    EXPECT_EQ(NullDriver::create(options, 64).error(), EINVAL);
    options.frameSize = 2048;
    EXPECT_TRUE(NullDriver::create(options, 64).ok());
}

TEST(NullDriver, CreateWithAnEmptyPoolIsEinval) {
    EXPECT_EQ(NullDriver::create(NullDriver::Options{}, 0).error(), EINVAL);
}

TEST(NullDriver, RegisterWithAddsTheNullScheme) {
    DriverRegistry registry;
    EXPECT_EQ(NullDriver::registerWith(registry), 0);
    ASSERT_NE(registry.find("null"), nullptr);
    EXPECT_EQ(NullDriver::registerWith(registry), EEXIST);
    EXPECT_TRUE(registry.open("null:,pool=32").ok());
}

}  // namespace
}  // namespace nexnet
