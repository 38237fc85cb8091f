// Malformed frames written into the tap from the kernel side (a packet socket on the kernel end,
// in the test's namespace) never crash the driver; those it can tell are malformed (longer than
// its MTU or its netbufs) are dropped and counted, the rest are delivered as they are for the
// layers above to judge. A malformed offload request on transmit is dropped and counted alone.
#include "kernel/TapHarness.h"

#include "support/FrameBuilder.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/ioctl.h>

using namespace nexnet;
using namespace nexnet::test;

namespace {

using Frame = std::vector<std::uint8_t>;

// Ethernet header to @p to from a fixed local address, type @p type, then @p length - 14 bytes;
// a @p length under 14 cuts the header short (a runt).
Frame frame(const EthernetAddress& to, std::uint16_t type, std::size_t length, std::uint8_t fill = 0x5a) {
    Frame f(std::max<std::size_t>(length, 14), fill);
    std::memcpy(f.data(), to.bytes.data(), 6);
    const std::uint8_t from[6] = {0x02, 0, 0, 0, 0, 0x77};
    std::memcpy(f.data() + 6, from, 6);
    f[12] = static_cast<std::uint8_t>(type >> 8);
    f[13] = static_cast<std::uint8_t>(type);
    f.resize(length);
    return f;
}

class TapMalformedFrameTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        ns_ = std::make_unique<NetworkNamespace>("bad");
        ASSERT_TRUE(ns_->ok());
        name_ = uniqueTapName("m");
        driver_ = openTap("tap:" + name_ + GetParam());
        ASSERT_NE(driver_, nullptr);
        ASSERT_TRUE(moveIntoNamespace(name_, *ns_, ""));
        ASSERT_EQ(setFlags(*driver_, IFF_UP), 0);
        // The kernel end takes frames larger than the driver's MTU (1500) and its 2 KB netbufs.
        ASSERT_EQ(ns_->run("ip link set " + name_ + " mtu 9000").status, 0);
        socket_ = ns_->openSocket(AF_PACKET, SOCK_RAW, 0);
        ASSERT_GE(socket_, 0);
        ifreq ifr{};
        std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name_.c_str());
        ASSERT_EQ(ioctl(socket_, SIOCGIFINDEX, &ifr), 0);
        ifindex_ = ifr.ifr_ifindex;
    }
    void TearDown() override {
        if (socket_ >= 0) close(socket_);
    }

    // Sends @p f on the kernel end. @return sendto's result.
    ssize_t send(const Frame& f) {
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = ifindex_;
        to.sll_halen = 6;
        return sendto(socket_, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }

    // Receives until the sentinel frame (EtherType 0x88b5) arrives; counts what came before it.
    bool receiveSentinel(unsigned& before) {
        return receiveUntil(
            *driver_,
            [&](Netbuf* f) {
                bool sentinel = f->size() >= 14 && f->data()[12] == 0x88 && f->data()[13] == 0xb5;
                if (!sentinel) ++before;
                return sentinel;
            },
            std::chrono::seconds(5));
    }

    std::unique_ptr<NetworkNamespace> ns_;
    std::string name_;
    std::unique_ptr<TapDriver> driver_;
    int socket_ = -1;
    int ifindex_ = 0;
};

TEST_P(TapMalformedFrameTest, OversizeFramesAreDroppedAndCountedOthersDelivered) {
    EthernetAddress to = driver_->hardwareAddress();
    Frame truncatedArp = frame(to, 0x0806, 20);
    Frame truncatedIp = frame(to, 0x0800, 40);
    truncatedIp[14] = 0x45;
    truncatedIp[16] = 0x03;  // total length 1000, far beyond the frame
    truncatedIp[17] = 0xe8;
    const std::vector<Frame> delivered = {frame(to, 0x0800, 14), frame(to, 0x1234, 60), truncatedArp, truncatedIp,
                                          frame(EthernetAddress::broadcast(), 0xffff, 1514)};
    for (const Frame& f : delivered) ASSERT_EQ(send(f), static_cast<ssize_t>(f.size()));
    ASSERT_EQ(send(frame(to, 0x0800, 1800)), 1800);  // over the MTU, inside a netbuf
    // Over a netbuf (2 KB with vnet=0); with vnet=1's 66 KB netbufs, one more oversize frame.
    std::uint32_t room = driver_->pool()->bufferSize() - driver_->pool()->headroom();
    std::size_t big = std::min<std::size_t>(room + 100, 8900);
    bool truncates = big > room;
    ASSERT_EQ(send(frame(to, 0x0800, big)), static_cast<ssize_t>(big));
    EXPECT_LT(send(frame(to, 0x0800, 10)), 0) << "the kernel refuses frames shorter than a header";
    ASSERT_EQ(send(frame(to, 0x88b5, 60)), 60);

    unsigned before = 0;
    ASSERT_TRUE(receiveSentinel(before));
    EXPECT_EQ(before, delivered.size());
    EXPECT_EQ(driver_->oversizeFrames(), truncates ? 1u : 2u);
    EXPECT_EQ(driver_->truncatedFrames(), truncates ? 1u : 0u);
    EXPECT_EQ(driver_->runtFrames(), 0u);
    EXPECT_EQ(driver_->inputErrors(), 2u);
    EXPECT_EQ(driver_->receiveStatistics(0).errors, 2u);
}

TEST_P(TapMalformedFrameTest, RandomGarbageNeverCrashesTheDriver) {
    std::uint32_t seed = 12345;
    auto next = [&seed] { return seed = seed * 1103515245u + 12345u; };
    for (int i = 0; i < 300; ++i) {
        Frame f(14 + next() % 8900);
        for (auto& byte : f) byte = static_cast<std::uint8_t>(next() >> 16);
        send(f);
    }
    ASSERT_EQ(send(frame(driver_->hardwareAddress(), 0x88b5, 60)), 60);
    unsigned before = 0;
    ASSERT_TRUE(receiveSentinel(before));
    EXPECT_EQ(before + driver_->inputErrors(), 300u) << "every frame is delivered or counted";
}

TEST_P(TapMalformedFrameTest, AMalformedOffloadRequestOnTransmitIsDroppedAloneAndCounted) {
    std::uint32_t inUse = driver_->pool()->inUse();
    Netbuf* burst[3];
    for (Netbuf*& netbuf : burst) {
        netbuf = driver_->allocateNetbuf();
        ASSERT_NE(netbuf, nullptr);
        Frame f = frame(EthernetAddress::broadcast(), 0x0800, 100);
        ASSERT_EQ(netbuf->append(f.data(), static_cast<std::uint32_t>(f.size())), 0);
    }
    // A checksum to finish beyond the end of the frame: the kernel refuses it.
    burst[1]->offload().flags = 1;
    burst[1]->offload().csumStart = 4000;
    burst[1]->offload().csumOffset = 16;
    EXPECT_EQ(driver_->send(0, burst, 3), 3u);
    EXPECT_EQ(driver_->outputErrors(), 1u);
    EXPECT_EQ(driver_->outputPackets(), 2u);
    EXPECT_EQ(driver_->pool()->inUse(), inUse) << "every netbuf went back to the pool";
}

INSTANTIATE_TEST_SUITE_P(Vnet, TapMalformedFrameTest, ::testing::Values("", ",vnet=1"),
                         [](const auto& param) { return param.param.empty() ? "Plain" : "Offloads"; });

}  // namespace
