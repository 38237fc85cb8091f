// IOEthernet: NeXT's Ethernet driver base, through small test drivers.
#include "framework/EventLoop.h"
#include "framework/IOEthernet.h"
#include "netif/netif.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <vector>

namespace nexnet {
namespace {

const EthernetAddress kOwn{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
const EthernetAddress kPeer{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
const EthernetAddress kGroup{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};

// Overrides transmitBurst and resetAndEnable, as a small driver does; records what it sends.
// `room` frames fit its ring; `refuse` makes it take frames but fail them (a frame the hardware
// refuses), as a driver reports with report(transmitError, queue, packet). Two queue pairs.
class TestEthernet : public IOEthernet {
public:
    TestEthernet() { attachToNetworkWithAddress(kOwn); }
    unsigned queueCount() const override { return 2; }
    std::vector<std::vector<std::uint8_t>> sent;
    unsigned room = 1000;
    bool refuse = false;
    int resets = 0;
    int timeouts = 0;
    int resetAndEnable(bool enable) override {
        ++resets;
        return IOEthernet::resetAndEnable(enable);
    }
    void timeoutOccurred() override { ++timeouts; }

protected:
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override {
        unsigned n = std::min(count, room);
        room -= n;
        for (unsigned i = 0; i < n; ++i) {
            if (refuse) report(QueueEvent::transmitError, queue, *packets[i]);
            else sent.emplace_back(packets[i]->data(), packets[i]->data() + packets[i]->size());
        }
        NetbufPool::freeToOwners(packets, n);
        return n;
    }
};

// Overrides nothing: cannot send.
class PlainEthernet : public IOEthernet {
public:
    PlainEthernet() { attachToNetworkWithAddress(kOwn); }
};

class RecordingSink : public IONetworkClient {
public:
    std::vector<std::vector<std::uint8_t>> frames;
    void inputBurst(IONetwork&, unsigned, Netbuf** netbufs, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            frames.emplace_back(netbufs[i]->data(), netbufs[i]->data() + netbufs[i]->size());
            netbufs[i]->free();
        }
    }
};

class IOEthernetTest : public ::testing::Test {
protected:
    void SetUp() override {
        NetbufPool::Options options;
        options.count = 64;
        options.hugepages = false;
        auto made = NetbufPool::create(options);
        ASSERT_TRUE(made.ok());
        pool = std::shared_ptr<NetbufPool>(std::move(made.value()));
        driver.setPool(pool);
        plain.setPool(pool);
    }
    void TearDown() override { EXPECT_EQ(pool->inUse(), 0u); }

    // A frame of @p size bytes whose header room is zeros and payload 0xab, tailroom dirty.
    Netbuf* frame(std::uint32_t size) {
        Netbuf* nb = pool->allocate();
        EXPECT_NE(nb, nullptr);
        std::memset(nb->data(), 0xee, nb->tailroom());
        EXPECT_EQ(nb->setSize(size), 0);
        std::memset(nb->data(), 0, std::min<std::uint32_t>(size, 14));
        if (size > 14) std::memset(nb->data() + 14, 0xab, size - 14);
        return nb;
    }
    int command(std::string_view name, void* data) { return driver.performCommand(name, data); }
    int ioctl(unsigned long request, ifreq* ifr) {
        if_ioctl_t call{request, ifr};
        return driver.performCommand(IFCONTROL_UNIXIOCTL, &call);
    }

    std::shared_ptr<NetbufPool> pool;
    TestEthernet driver;
    PlainEthernet plain;
};

// ---- addresses -----------------------------------------------------------------------------

TEST_F(IOEthernetTest, AttachToNetworkWithAddressSetsThePermanentAndCurrentAddress) {
    EXPECT_EQ(driver.permanentAddress(), kOwn);
    EXPECT_EQ(driver.hardwareAddress(), kOwn);
}

TEST_F(IOEthernetTest, AttachToNetworkWithAMulticastAddressIsEinval) {
    EXPECT_EQ(driver.attachToNetworkWithAddress(kGroup), EINVAL);
    EXPECT_EQ(driver.permanentAddress(), kOwn);
}

TEST_F(IOEthernetTest, SetHardwareAddressChangesOnlyTheCurrentAddress) {
    EXPECT_EQ(driver.setHardwareAddress(kPeer), 0);
    EXPECT_EQ(driver.hardwareAddress(), kPeer);
    EXPECT_EQ(driver.permanentAddress(), kOwn);
}

TEST_F(IOEthernetTest, SetHardwareAddressRejectsMulticastAndZero) {
    EXPECT_EQ(driver.setHardwareAddress(kGroup), EINVAL);
    EXPECT_EQ(driver.setHardwareAddress(EthernetAddress{}), EINVAL);
    EXPECT_EQ(driver.setHardwareAddress(EthernetAddress::broadcast()), EINVAL);
    EXPECT_EQ(driver.hardwareAddress(), kOwn);
}

// ---- up, down and finishInitialization -------------------------------------------------------

TEST_F(IOEthernetTest, ResetAndEnableOfTheBaseRecordsRunning) {
    EXPECT_EQ(plain.resetAndEnable(true), 0);
    EXPECT_TRUE(plain.isRunning());
    EXPECT_EQ(plain.resetAndEnable(false), 0);
    EXPECT_FALSE(plain.isRunning());
}

TEST_F(IOEthernetTest, FinishInitializationDoesNotTouchStoppedHardware) {
    EXPECT_EQ(driver.finishInitialization(), 0);
    EXPECT_EQ(driver.resets, 0);
    EXPECT_FALSE(driver.isRunning());
}

TEST_F(IOEthernetTest, GoingUpResetsTheHardwareOnceWithFinishInitialization) {
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    ASSERT_EQ(driver.performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru), 0);
    EXPECT_EQ(driver.finishInitialization(), 0);
    EXPECT_EQ(driver.resets, 1);
    EXPECT_TRUE(driver.isRunning());
}

// ---- outputPacket ----------------------------------------------------------------------------

TEST_F(IOEthernetTest, OutputPacketOnAStoppedDriverIsEnetdownAndFreesThePacket) {
    EXPECT_EQ(driver.outputPacket(frame(100), kPeer.bytes.data()), ENETDOWN);
    EXPECT_EQ(pool->inUse(), 0u);
    EXPECT_TRUE(driver.sent.empty());
    EXPECT_EQ(driver.outputDrops(), 1u);
}

TEST_F(IOEthernetTest, OutputPacketInsertsDestinationAndSource) {
    driver.setRunning(true);
    ASSERT_EQ(driver.outputPacket(frame(100), kPeer.bytes.data()), 0);
    ASSERT_EQ(driver.sent.size(), 1u);
    const auto& sent = driver.sent[0];
    EXPECT_EQ(std::memcmp(sent.data(), kPeer.bytes.data(), 6), 0);
    EXPECT_EQ(std::memcmp(sent.data() + 6, kOwn.bytes.data(), 6), 0);
    EXPECT_EQ(sent.size(), 100u);
    EXPECT_EQ(sent[14], 0xab);
}

TEST_F(IOEthernetTest, OutputPacketUsesTheCurrentAddressAsSource) {
    driver.setRunning(true);
    ASSERT_EQ(driver.setHardwareAddress(kPeer), 0);
    ASSERT_EQ(driver.outputPacket(frame(60), EthernetAddress::broadcast().bytes.data()), 0);
    EXPECT_EQ(std::memcmp(driver.sent[0].data() + 6, kPeer.bytes.data(), 6), 0);
}

TEST_F(IOEthernetTest, OutputPacketWithoutAnAddressKeepsTheFramesDestination) {
    driver.setRunning(true);
    Netbuf* nb = frame(60);
    std::memcpy(nb->data(), kPeer.bytes.data(), 6);
    ASSERT_EQ(driver.outputPacket(nb, nullptr), 0);
    EXPECT_EQ(std::memcmp(driver.sent[0].data(), kPeer.bytes.data(), 6), 0);
}

TEST_F(IOEthernetTest, OutputPacketPadsShortFramesWithZerosTo60Bytes) {
    driver.setRunning(true);
    ASSERT_EQ(driver.outputPacket(frame(42), kPeer.bytes.data()), 0);
    const auto& sent = driver.sent[0];
    ASSERT_EQ(sent.size(), 60u);
    for (unsigned i = 14; i < 42; ++i) EXPECT_EQ(sent[i], 0xab);
    for (unsigned i = 42; i < 60; ++i) EXPECT_EQ(sent[i], 0) << "byte " << i;
}

TEST_F(IOEthernetTest, OutputPacketOfAHeaderOnlyIsPadded) {
    driver.setRunning(true);
    ASSERT_EQ(driver.outputPacket(frame(14), kPeer.bytes.data()), 0);
    EXPECT_EQ(driver.sent[0].size(), 60u);
}

TEST_F(IOEthernetTest, OutputPacketLeavesLongFramesAlone) {
    driver.setRunning(true);
    ASSERT_EQ(driver.outputPacket(frame(61), kPeer.bytes.data()), 0);
    ASSERT_EQ(driver.outputPacket(frame(1514), kPeer.bytes.data()), 0);
    EXPECT_EQ(driver.sent[0].size(), 61u);
    EXPECT_EQ(driver.sent[1].size(), 1514u);
}

TEST_F(IOEthernetTest, OutputPacketOfNullIsEinval) {
    driver.setRunning(true);
    EXPECT_EQ(driver.outputPacket(nullptr, kPeer.bytes.data()), EINVAL);
}

TEST_F(IOEthernetTest, OutputPacketShorterThanAHeaderIsEinvalAndFreed) {
    driver.setRunning(true);
    EXPECT_EQ(driver.outputPacket(frame(13), kPeer.bytes.data()), EINVAL);
    EXPECT_TRUE(driver.sent.empty());
    EXPECT_EQ(driver.outputErrors(), 1u);
}

TEST_F(IOEthernetTest, OutputPacketLongerThanTheMtuIsEmsgsizeAndFreed) {
    driver.setRunning(true);
    EXPECT_EQ(driver.outputPacket(frame(1514 + 4 + 1), kPeer.bytes.data()), EMSGSIZE);
    ASSERT_EQ(driver.setMtu(1000), 0);
    EXPECT_EQ(driver.outputPacket(frame(1014 + 4 + 1), kPeer.bytes.data()), EMSGSIZE);
    EXPECT_EQ(driver.outputPacket(frame(1014 + 4), kPeer.bytes.data()), 0);  // an 802.1Q tag fits
    EXPECT_EQ(driver.sent.size(), 1u);
}

TEST_F(IOEthernetTest, OutputPacketThatCannotBePaddedIsEmsgsizeAndFreed) {
    driver.setRunning(true);
    static std::uint8_t memory[20];
    static int frees = 0;
    Netbuf* wrapped = Netbuf::wrapWithFreeCallback(
        memory, 20, [](void*, std::uint32_t, void*) { ++frees; }, nullptr);
    ASSERT_NE(wrapped, nullptr);
    EXPECT_EQ(driver.outputPacket(wrapped, kPeer.bytes.data()), EMSGSIZE);
    EXPECT_EQ(frees, 1);
}

TEST_F(IOEthernetTest, OutputPacketOfAFrameTheDriverFailsCountsAnErrorNotASentPacket) {
    driver.setRunning(true);
    driver.refuse = true;
    EXPECT_EQ(driver.outputPacket(frame(60), kPeer.bytes.data()), 0);  // taken: the driver owns it
    EXPECT_EQ(driver.outputErrors(), 1u);
    EXPECT_EQ(driver.outputPackets(), 0u);
    EXPECT_EQ(driver.transmitStatistics(0).bytes, 0u);
}

TEST_F(IOEthernetTest, OutputPacketIsCountedOnceByTheFramework) {
    driver.setRunning(true);
    ASSERT_EQ(driver.outputPacket(frame(100), kPeer.bytes.data()), 0);
    EXPECT_EQ(driver.outputPackets(), 1u);
    EXPECT_EQ(driver.transmitStatistics(0).packets, 1u);
    EXPECT_EQ(driver.transmitStatistics(0).bytes, 100u);
}

TEST_F(IOEthernetTest, OutputPacketWhenTheRingIsFullIsEnobufsAndCountedAsADrop) {
    driver.setRunning(true);
    driver.room = 0;
    EXPECT_EQ(driver.outputPacket(frame(100), kPeer.bytes.data()), ENOBUFS);
    EXPECT_EQ(driver.outputDrops(), 1u);
    EXPECT_EQ(driver.outputPackets(), 0u);
}

TEST_F(IOEthernetTest, OutputPacketWithNoTransmitPathIsEnobufsAndFreed) {
    plain.setRunning(true);
    EXPECT_EQ(plain.outputPacket(frame(100), kPeer.bytes.data()), ENOBUFS);
    EXPECT_EQ(plain.outputDrops(), 1u);
    EXPECT_EQ(plain.outputPackets(), 0u);
}

// ---- send: the framework's transmit entry point ------------------------------------------------

TEST_F(IOEthernetTest, SendCountsWhatTheDriverAcceptedOnItsQueue) {
    driver.setRunning(true);
    Netbuf* packets[3] = {frame(60), frame(70), frame(80)};
    EXPECT_EQ(driver.send(1, packets, 3), 3u);
    EXPECT_EQ(driver.sent.size(), 3u);
    EXPECT_EQ(driver.outputPackets(), 3u);
    EXPECT_EQ(driver.transmitStatistics(1).packets, 3u);
    EXPECT_EQ(driver.transmitStatistics(1).bytes, 210u);
    EXPECT_EQ(driver.transmitStatistics(0).packets, 0u);
}

TEST_F(IOEthernetTest, SendOnAQueueTheDriverLacksGoesOutOnTheQueueOfThatNumberModuloItsQueues) {
    driver.setRunning(true);
    EXPECT_EQ(driver.transmitQueue(3), 1u);
    Netbuf* packets[1] = {frame(60)};
    EXPECT_EQ(driver.send(3, packets, 1), 1u);
    EXPECT_EQ(driver.transmitStatistics(1).packets, 1u);  // one gate and one set of counters per real queue
    EXPECT_EQ(driver.transmitStatistics(3).packets, 0u);
}

TEST_F(IOEthernetTest, SendCountsOnlyTheFramesTheRingTookAndLeavesTheRest) {
    driver.setRunning(true);
    driver.room = 2;
    Netbuf* packets[3] = {frame(60), frame(70), frame(80)};
    EXPECT_EQ(driver.send(0, packets, 3), 2u);
    EXPECT_EQ(driver.transmitStatistics(0).packets, 2u);
    EXPECT_EQ(driver.transmitStatistics(0).bytes, 130u);
    packets[2]->free();  // the caller kept it
}

TEST_F(IOEthernetTest, SendCountsFramesTheDriverTookButFailedAsErrorsNotPackets) {
    driver.setRunning(true);
    driver.refuse = true;
    Netbuf* packets[2] = {frame(60), frame(60)};
    EXPECT_EQ(driver.send(1, packets, 2), 2u);  // taken and freed, not returned
    EXPECT_EQ(driver.outputErrors(), 2u);
    EXPECT_EQ(driver.transmitStatistics(1).errors, 2u);
    EXPECT_EQ(driver.transmitStatistics(1).packets, 0u);
    EXPECT_EQ(driver.transmitStatistics(1).bytes, 0u);
}

TEST_F(IOEthernetTest, WithoutATransmitBurstNothingIsTakenSentOrLeaked) {
    plain.setRunning(true);
    Netbuf* packets[2] = {frame(60), frame(60)};
    EXPECT_EQ(plain.send(0, packets, 2), 0u);
    EXPECT_EQ(plain.outputPackets(), 0u);
    NetbufPool::freeToOwners(packets, 2);
}

// ---- filters -----------------------------------------------------------------------------------

TEST_F(IOEthernetTest, PromiscuousAndAllMulticastModesAreRecorded) {
    EXPECT_EQ(driver.setPromiscuousMode(true), 0);
    EXPECT_TRUE(driver.isPromiscuous());
    EXPECT_EQ(driver.setPromiscuousMode(false), 0);
    EXPECT_FALSE(driver.isPromiscuous());
    EXPECT_EQ(driver.setMulticastMode(true), 0);
    EXPECT_TRUE(driver.isAllMulticast());
    EXPECT_EQ(driver.setMulticastMode(false), 0);
    EXPECT_FALSE(driver.isAllMulticast());
}

TEST_F(IOEthernetTest, MulticastGroupsAreJoinedOnceAndLeft) {
    EXPECT_EQ(driver.addMulticastAddress(kGroup), 0);
    EXPECT_EQ(driver.addMulticastAddress(kGroup), 0);
    EXPECT_EQ(driver.multicastAddresses().size(), 1u);
    EXPECT_EQ(driver.removeMulticastAddress(kGroup), 0);
    EXPECT_TRUE(driver.multicastAddresses().empty());
}

TEST_F(IOEthernetTest, JoiningAUnicastAddressIsEinval) {
    EXPECT_EQ(driver.addMulticastAddress(kPeer), EINVAL);
    EXPECT_TRUE(driver.multicastAddresses().empty());
}

TEST_F(IOEthernetTest, LeavingAGroupNotJoinedIsEnoent) { EXPECT_EQ(driver.removeMulticastAddress(kGroup), ENOENT); }

TEST_F(IOEthernetTest, TheMulticastListIsBoundedWithEnospc) {
    EthernetAddress group = kGroup;
    for (unsigned i = 0; i < IOEthernet::kMaxMulticastAddresses; ++i) {
        group.bytes[5] = static_cast<std::uint8_t>(i);
        ASSERT_EQ(driver.addMulticastAddress(group), 0);
    }
    group.bytes[4] = 1;
    EXPECT_EQ(driver.addMulticastAddress(group), ENOSPC);
    EXPECT_EQ(driver.multicastAddresses().size(), IOEthernet::kMaxMulticastAddresses);
}

TEST_F(IOEthernetTest, UnwantedMulticastIsAGroupNotJoinedWithoutPromiscuousOrAllMulticast) {
    std::uint8_t frame[14] = {};
    std::memcpy(frame, kGroup.bytes.data(), 6);
    EXPECT_TRUE(driver.isUnwantedMulticastPacket(frame));
    driver.addMulticastAddress(kGroup);
    EXPECT_FALSE(driver.isUnwantedMulticastPacket(frame));
    driver.removeMulticastAddress(kGroup);
    driver.setMulticastMode(true);
    EXPECT_FALSE(driver.isUnwantedMulticastPacket(frame));
    driver.setMulticastMode(false);
    driver.setPromiscuousMode(true);
    EXPECT_FALSE(driver.isUnwantedMulticastPacket(frame));
}

TEST_F(IOEthernetTest, BroadcastAndUnicastAreNeverUnwantedMulticast) {
    std::uint8_t frame[14] = {};
    std::memcpy(frame, EthernetAddress::broadcast().bytes.data(), 6);
    EXPECT_FALSE(driver.isUnwantedMulticastPacket(frame));
    std::memcpy(frame, kPeer.bytes.data(), 6);
    EXPECT_FALSE(driver.isUnwantedMulticastPacket(frame));
}

// ---- performCommand: the NeXT commands ---------------------------------------------------------

TEST_F(IOEthernetTest, SetflagsWithIffUpBringsTheHardwareUpAndWithoutItDown) {
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    EXPECT_EQ(command(IFCONTROL_SETFLAGS, &ifr.ifr_ifru), 0);
    EXPECT_TRUE(driver.isRunning());
    EXPECT_EQ(driver.resets, 1);
    ifr.ifr_flags = 0;
    EXPECT_EQ(command(IFCONTROL_SETFLAGS, &ifr.ifr_ifru), 0);
    EXPECT_FALSE(driver.isRunning());
}

TEST_F(IOEthernetTest, SetflagsSwitchesPromiscuousAndAllMulticast) {
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP | IFF_PROMISC | IFF_ALLMULTI;
    EXPECT_EQ(command(IFCONTROL_SETFLAGS, &ifr.ifr_ifru), 0);
    EXPECT_TRUE(driver.isPromiscuous());
    EXPECT_TRUE(driver.isAllMulticast());
    ifr.ifr_flags = IFF_UP;
    EXPECT_EQ(command(IFCONTROL_SETFLAGS, &ifr.ifr_ifru), 0);
    EXPECT_FALSE(driver.isPromiscuous());
    EXPECT_FALSE(driver.isAllMulticast());
    EXPECT_EQ(driver.resets, 1);  // already up: no second reset
}

TEST_F(IOEthernetTest, SetaddrAndGetaddrUseSixBytes) {
    std::uint8_t address[6];
    std::memcpy(address, kPeer.bytes.data(), 6);
    EXPECT_EQ(command(IFCONTROL_SETADDR, address), 0);
    std::uint8_t out[6] = {};
    EXPECT_EQ(command(IFCONTROL_GETADDR, out), 0);
    EXPECT_EQ(std::memcmp(out, kPeer.bytes.data(), 6), 0);
}

TEST_F(IOEthernetTest, SetaddrOfAMulticastAddressIsEinval) {
    std::uint8_t address[6];
    std::memcpy(address, kGroup.bytes.data(), 6);
    EXPECT_EQ(command(IFCONTROL_SETADDR, address), EINVAL);
    EXPECT_EQ(driver.hardwareAddress(), kOwn);
}

TEST_F(IOEthernetTest, AutoaddrGoesBackToThePermanentAddress) {
    ASSERT_EQ(driver.setHardwareAddress(kPeer), 0);
    std::uint8_t out[6] = {};
    EXPECT_EQ(command(IFCONTROL_AUTOADDR, out), 0);
    EXPECT_EQ(driver.hardwareAddress(), kOwn);
    EXPECT_EQ(std::memcmp(out, kOwn.bytes.data(), 6), 0);
    ASSERT_EQ(driver.setHardwareAddress(kPeer), 0);
    EXPECT_EQ(command(IFCONTROL_AUTOADDR, nullptr), 0);
    EXPECT_EQ(driver.hardwareAddress(), kOwn);
}

TEST_F(IOEthernetTest, PromiscuousCommandsNeedNoData) {
    EXPECT_EQ(command(IFCONTROL_RCVPROMISCUOUS, nullptr), 0);
    EXPECT_TRUE(driver.isPromiscuous());
    EXPECT_EQ(command(IFCONTROL_RCVPROMISCOFF, nullptr), 0);
    EXPECT_FALSE(driver.isPromiscuous());
}

TEST_F(IOEthernetTest, MulticastCommandsJoinAndLeave) {
    std::uint8_t group[6];
    std::memcpy(group, kGroup.bytes.data(), 6);
    EXPECT_EQ(command(IFCONTROL_ADDMULTICAST, group), 0);
    EXPECT_EQ(driver.multicastAddresses().size(), 1u);
    EXPECT_EQ(command(IFCONTROL_RMVMULTICAST, group), 0);
    EXPECT_TRUE(driver.multicastAddresses().empty());
    std::uint8_t unicast[6];
    std::memcpy(unicast, kPeer.bytes.data(), 6);
    EXPECT_EQ(command(IFCONTROL_ADDMULTICAST, unicast), EINVAL);
}

TEST_F(IOEthernetTest, UnknownCommandIsEinval) {
    int data = 0;
    EXPECT_EQ(command("frobnicate", &data), EINVAL);
    EXPECT_EQ(command("", nullptr), EINVAL);
    EXPECT_EQ(command("SETFLAGS", &data), EINVAL);  // the strings are exact
}

TEST_F(IOEthernetTest, CommandsThatNeedDataRefuseNullWithEinval) {
    for (const char* name : {IFCONTROL_SETFLAGS, IFCONTROL_SETADDR, IFCONTROL_GETADDR, IFCONTROL_ADDMULTICAST,
                             IFCONTROL_RMVMULTICAST, IFCONTROL_UNIXIOCTL})
        EXPECT_EQ(command(name, nullptr), EINVAL) << name;
    EXPECT_FALSE(driver.isRunning());
    EXPECT_EQ(driver.hardwareAddress(), kOwn);
}

// ---- performCommand: UNIX ioctls ---------------------------------------------------------------

TEST_F(IOEthernetTest, SiocgifflagsReportsUpRunningAndModes) {
    ifreq ifr{};
    ASSERT_EQ(ioctl(SIOCGIFFLAGS, &ifr), 0);
    EXPECT_EQ(ifr.ifr_flags & IFF_UP, 0);
    EXPECT_NE(ifr.ifr_flags & IFF_BROADCAST, 0);
    EXPECT_NE(ifr.ifr_flags & IFF_MULTICAST, 0);
    driver.resetAndEnable(true);
    driver.setPromiscuousMode(true);
    ASSERT_EQ(ioctl(SIOCGIFFLAGS, &ifr), 0);
    EXPECT_NE(ifr.ifr_flags & IFF_UP, 0);
    EXPECT_NE(ifr.ifr_flags & IFF_RUNNING, 0);
    EXPECT_NE(ifr.ifr_flags & IFF_PROMISC, 0);
    EXPECT_EQ(static_cast<unsigned short>(ifr.ifr_flags), driver.interfaceFlags());
}

TEST_F(IOEthernetTest, InterfaceFlagsLoseRunningWhenTheLinkIsDown) {
    driver.resetAndEnable(true);
    driver.setLinkStatus(LinkStatus::down);
    EXPECT_NE(driver.interfaceFlags() & IFF_UP, 0u);
    EXPECT_EQ(driver.interfaceFlags() & IFF_RUNNING, 0u);
}

TEST_F(IOEthernetTest, SiocsifflagsBringsTheHardwareUp) {
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP | IFF_ALLMULTI;
    ASSERT_EQ(ioctl(SIOCSIFFLAGS, &ifr), 0);
    EXPECT_TRUE(driver.isRunning());
    EXPECT_TRUE(driver.isAllMulticast());
}

TEST_F(IOEthernetTest, SiocgifhwaddrReportsAnEthernetAddress) {
    ifreq ifr{};
    ASSERT_EQ(ioctl(SIOCGIFHWADDR, &ifr), 0);
    EXPECT_EQ(ifr.ifr_hwaddr.sa_family, ARPHRD_ETHER);
    EXPECT_EQ(std::memcmp(ifr.ifr_hwaddr.sa_data, kOwn.bytes.data(), 6), 0);
}

TEST_F(IOEthernetTest, SiocsifhwaddrSetsTheAddress) {
    ifreq ifr{};
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    std::memcpy(ifr.ifr_hwaddr.sa_data, kPeer.bytes.data(), 6);
    ASSERT_EQ(ioctl(SIOCSIFHWADDR, &ifr), 0);
    EXPECT_EQ(driver.hardwareAddress(), kPeer);
}

TEST_F(IOEthernetTest, SiocsifhwaddrWithTheWrongFamilyIsEinval) {
    ifreq ifr{};
    ifr.ifr_hwaddr.sa_family = AF_INET;
    std::memcpy(ifr.ifr_hwaddr.sa_data, kPeer.bytes.data(), 6);
    EXPECT_EQ(ioctl(SIOCSIFHWADDR, &ifr), EINVAL);
    EXPECT_EQ(driver.hardwareAddress(), kOwn);
}

TEST_F(IOEthernetTest, SiocsifhwaddrOfAMulticastAddressIsEinval) {
    ifreq ifr{};
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    std::memcpy(ifr.ifr_hwaddr.sa_data, kGroup.bytes.data(), 6);
    EXPECT_EQ(ioctl(SIOCSIFHWADDR, &ifr), EINVAL);
    EXPECT_EQ(driver.hardwareAddress(), kOwn);
}

TEST_F(IOEthernetTest, SiocgifmtuAndSiocsifmtu) {
    ifreq ifr{};
    ASSERT_EQ(ioctl(SIOCGIFMTU, &ifr), 0);
    EXPECT_EQ(ifr.ifr_mtu, 1500);
    ifr.ifr_mtu = 1280;
    ASSERT_EQ(ioctl(SIOCSIFMTU, &ifr), 0);
    EXPECT_EQ(driver.mtu(), 1280u);
}

TEST_F(IOEthernetTest, SiocsifmtuOutOfRangeIsEinvalAndChangesNothing) {
    ifreq ifr{};
    for (int bad : {-1, 0, 67, 1501, 65536}) {
        ifr.ifr_mtu = bad;
        EXPECT_EQ(ioctl(SIOCSIFMTU, &ifr), EINVAL) << bad;
    }
    EXPECT_EQ(driver.mtu(), 1500u);
}

TEST_F(IOEthernetTest, SiocaddmultiAndSiocdelmulti) {
    ifreq ifr{};
    ifr.ifr_hwaddr.sa_family = AF_UNSPEC;
    std::memcpy(ifr.ifr_hwaddr.sa_data, kGroup.bytes.data(), 6);
    ASSERT_EQ(ioctl(SIOCADDMULTI, &ifr), 0);
    EXPECT_EQ(driver.multicastAddresses().size(), 1u);
    ASSERT_EQ(ioctl(SIOCDELMULTI, &ifr), 0);
    EXPECT_TRUE(driver.multicastAddresses().empty());
    EXPECT_EQ(ioctl(SIOCDELMULTI, &ifr), ENOENT);
}

TEST_F(IOEthernetTest, SiocaddmultiOfAUnicastAddressIsEinval) {
    ifreq ifr{};
    ifr.ifr_hwaddr.sa_family = AF_UNSPEC;
    std::memcpy(ifr.ifr_hwaddr.sa_data, kPeer.bytes.data(), 6);
    EXPECT_EQ(ioctl(SIOCADDMULTI, &ifr), EINVAL);
    EXPECT_TRUE(driver.multicastAddresses().empty());
}

TEST_F(IOEthernetTest, SiocaddmultiWithTheWrongFamilyIsEinval) {
    ifreq ifr{};
    ifr.ifr_hwaddr.sa_family = AF_INET;
    std::memcpy(ifr.ifr_hwaddr.sa_data, kGroup.bytes.data(), 6);
    EXPECT_EQ(ioctl(SIOCADDMULTI, &ifr), EINVAL);
    EXPECT_EQ(ioctl(SIOCDELMULTI, &ifr), EINVAL);
    EXPECT_TRUE(driver.multicastAddresses().empty());
}

TEST_F(IOEthernetTest, IoctlWithNullDataIsEinval) {
    for (unsigned long request :
         {SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFHWADDR, SIOCSIFHWADDR, SIOCGIFMTU, SIOCSIFMTU, SIOCADDMULTI, SIOCDELMULTI})
        EXPECT_EQ(ioctl(request, nullptr), EINVAL) << request;
}

TEST_F(IOEthernetTest, OtherIoctlsAreEopnotsupp) {
    ifreq ifr{};
    EXPECT_EQ(ioctl(SIOCGIFINDEX, &ifr), EOPNOTSUPP);
    EXPECT_EQ(ioctl(SIOCSIFTXQLEN, &ifr), EOPNOTSUPP);
    EXPECT_EQ(ioctl(0x12345678, &ifr), EOPNOTSUPP);
}

// ---- timeouts --------------------------------------------------------------------------------

TEST_F(IOEthernetTest, SetRelativeTimeoutWithoutAnEventLoopIsEnxio) {
    EXPECT_EQ(driver.setRelativeTimeout(std::chrono::milliseconds(1)), ENXIO);
}

TEST_F(IOEthernetTest, RelativeTimeoutCallsTimeoutOccurredOnce) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    driver.attachToEventLoop(loop.value().get());
    ASSERT_EQ(driver.setRelativeTimeout(std::chrono::milliseconds(5)), 0);
    for (int i = 0; i < 50 && driver.timeouts == 0; ++i) loop.value()->runOnce(std::chrono::milliseconds(20));
    EXPECT_EQ(driver.timeouts, 1);
    loop.value()->runOnce(std::chrono::milliseconds(20));
    EXPECT_EQ(driver.timeouts, 1);
    driver.attachToEventLoop(nullptr);
}

TEST_F(IOEthernetTest, ClearTimeoutCancelsIt) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    driver.attachToEventLoop(loop.value().get());
    ASSERT_EQ(driver.setRelativeTimeout(std::chrono::milliseconds(1)), 0);
    driver.clearTimeout();
    for (int i = 0; i < 5; ++i) loop.value()->runOnce(std::chrono::milliseconds(5));
    EXPECT_EQ(driver.timeouts, 0);
    driver.attachToEventLoop(nullptr);
}

TEST_F(IOEthernetTest, ANewTimeoutReplacesThePendingOne) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    driver.attachToEventLoop(loop.value().get());
    ASSERT_EQ(driver.setRelativeTimeout(std::chrono::milliseconds(1)), 0);
    ASSERT_EQ(driver.setRelativeTimeout(std::chrono::milliseconds(2)), 0);
    for (int i = 0; i < 10; ++i) loop.value()->runOnce(std::chrono::milliseconds(5));
    EXPECT_EQ(driver.timeouts, 1);
    driver.attachToEventLoop(nullptr);
}

TEST_F(IOEthernetTest, DestroyingADriverCancelsItsTimeout) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    {
        TestEthernet shortLived;
        shortLived.attachToEventLoop(loop.value().get());
        ASSERT_EQ(shortLived.setRelativeTimeout(std::chrono::milliseconds(1)), 0);
    }
    for (int i = 0; i < 5; ++i) loop.value()->runOnce(std::chrono::milliseconds(5));  // ASan: no use after free
}

}  // namespace
}  // namespace nexnet
