// SampleEthernet ("packet:IFNAME"), the tutorial driver, against the Linux kernel: one end of a
// veth pair in a namespace made by the test is the driver's "hardware", the other end is the
// kernel peer, reached through a packet socket of the test's own.
//
// The driver runs in-process (a driver is a library: its contract is what these tests call),
// with its socket created inside the namespace.
#include "framework/DriverRegistry.h"
#include "netif/netif.h"
#include "samples/ethernet/SampleEthernet.h"
#include "support/FrameBuilder.h"
#include "support/TestEnvironment.h"
#include "support/NetworkNamespace.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <memory>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <thread>

using namespace nexnet;
using namespace nexnet::test;
using Frame = FrameBuilder::Frame;

namespace {

constexpr std::uint16_t kTestEtherType = 0x88b5;  // IEEE 802 local experimental

class SampleEthernetTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        ns_ = std::make_unique<NetworkNamespace>("eth");
        ASSERT_TRUE(ns_->ok());
        ASSERT_EQ(ns_->run("ip link add nxsample mtu 1400 type veth peer name nxkernel mtu 1400").status, 0);
        ASSERT_EQ(ns_->run("ip link set nxsample up").status, 0);
        ASSERT_EQ(ns_->run("ip link set nxkernel up").status, 0);
        {
            NamespaceEntry inside(ns_->name());
            ASSERT_TRUE(inside.ok());
            auto driver = SampleEthernet::create({"nxsample", 256});
            ASSERT_TRUE(driver) << strerror(driver.error());
            driver_ = std::move(driver.value());
        }
        peer_ = ns_->openSocket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
        ASSERT_GE(peer_, 0);
        ifreq ifr{};
        std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "nxkernel");
        ASSERT_EQ(ioctl(peer_, SIOCGIFINDEX, &ifr), 0);
        peerIndex_ = ifr.ifr_ifindex;
        ASSERT_EQ(ioctl(peer_, SIOCGIFHWADDR, &ifr), 0);
        std::memcpy(peerMac_.data(), ifr.ifr_hwaddr.sa_data, 6);
        sockaddr_ll address{};
        address.sll_family = AF_PACKET;
        address.sll_protocol = htons(ETH_P_ALL);
        address.sll_ifindex = peerIndex_;
        ASSERT_EQ(bind(peer_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        timeval timeout{1, 0};
        setsockopt(peer_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    }

    void TearDown() override {
        if (peer_ >= 0) close(peer_);
        driver_.reset();  // before the namespace goes
    }

    int bringUp() {
        ifreq ifr{};
        ifr.ifr_flags = IFF_UP;
        return driver_->performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru);
    }

    FrameBuilder::Mac driverMac() const {
        FrameBuilder::Mac mac;
        std::memcpy(mac.data(), driver_->hardwareAddress().bytes.data(), 6);
        return mac;
    }

    // A test frame from the peer to @p to, numbered @p number.
    Frame frame(const FrameBuilder::Mac& to, std::uint8_t number, std::size_t size = 64) {
        return FrameBuilder::ethernet(to, peerMac_, kTestEtherType, Frame(size - 14, number));
    }

    void peerSend(const Frame& f) {
        ASSERT_EQ(send(peer_, f.data(), f.size(), 0), static_cast<ssize_t>(f.size())) << strerror(errno);
    }

    // Receives from the driver until @p count frames came or @p timeout passed.
    std::vector<Frame> driverReceive(unsigned count, std::chrono::milliseconds timeout = std::chrono::seconds(1)) {
        std::vector<Frame> frames;
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (frames.size() < count && std::chrono::steady_clock::now() < deadline) {
            Netbuf* burst[SampleEthernet::kBurst];
            unsigned n = driver_->receive(0, burst, SampleEthernet::kBurst);
            for (unsigned i = 0; i < n; ++i) {
                frames.emplace_back(burst[i]->data(), burst[i]->data() + burst[i]->size());
                burst[i]->free();
            }
            if (n == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return frames;
    }

    std::unique_ptr<NetworkNamespace> ns_;
    std::unique_ptr<SampleEthernet> driver_;
    int peer_ = -1;
    int peerIndex_ = 0;
    FrameBuilder::Mac peerMac_{};
};

TEST_F(SampleEthernetTest, TakesTheInterfacesMacAndMtuAndStartsStopped) {
    CommandResult link = ns_->run("cat /sys/class/net/nxsample/address");
    EXPECT_EQ(driver_->hardwareAddress().toString() + "\n", link.output);
    EXPECT_EQ(driver_->mtu(), 1400u);
    EXPECT_EQ(driver_->maxMtu(), 1400u);
    EXPECT_FALSE(driver_->isRunning());
    EXPECT_EQ(driver_->name(), "nxsample");
}

TEST_F(SampleEthernetTest, OpeningAMissingInterfaceFailsWithEnodev) {
    auto driver = SampleEthernet::create({"nxnosuch0", 16});
    ASSERT_FALSE(driver);
    EXPECT_EQ(driver.error(), ENODEV);
}

TEST_F(SampleEthernetTest, OpensByUriOnceRegistered) {
    DriverRegistry registry;
    ASSERT_EQ(SampleEthernet::registerWith(registry), 0);
    NamespaceEntry inside(ns_->name());
    auto driver = registry.open("packet:nxsample,pool=64");
    ASSERT_TRUE(driver) << strerror(driver.error());
    EXPECT_EQ(driver.value()->pool()->capacity(), 64u);
}

TEST_F(SampleEthernetTest, ReceivesWhatThePeerSendsInOrderAndInBursts) {
    ASSERT_EQ(bringUp(), 0);
    std::vector<Frame> sent;
    for (std::uint8_t i = 0; i < 40; ++i) sent.push_back(frame(driverMac(), i, 60 + i * 30));
    for (const Frame& f : sent) peerSend(f);
    EXPECT_EQ(driverReceive(40), sent);
    EXPECT_EQ(driver_->inputPackets(), 40u);
    EXPECT_LE(driver_->pool()->inUse(), SampleEthernet::kBurst);  // only the netbufs kept posted
}

TEST_F(SampleEthernetTest, ReceivesNothingWhileDownNorAfterwardsWhatCameMeanwhile) {
    peerSend(frame(driverMac(), 1));
    EXPECT_TRUE(driverReceive(1, std::chrono::milliseconds(200)).empty());
    ASSERT_EQ(bringUp(), 0);
    ifreq ifr{};
    ASSERT_EQ(driver_->performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru), 0);  // down again
    peerSend(frame(driverMac(), 2));
    ASSERT_EQ(bringUp(), 0);
    peerSend(frame(driverMac(), 3));
    auto frames = driverReceive(2, std::chrono::milliseconds(300));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0], frame(driverMac(), 3));
}

TEST_F(SampleEthernetTest, CountsFramesLongerThanANetbufAsErrorsAndKeepsReceiving) {
    ASSERT_EQ(bringUp(), 0);
    ASSERT_EQ(ns_->run("ip link set nxsample mtu 9000").status, 0);
    ASSERT_EQ(ns_->run("ip link set nxkernel mtu 9000").status, 0);
    peerSend(frame(driverMac(), 1, 3000));  // a netbuf holds 2048 bytes
    peerSend(frame(driverMac(), 2));
    auto frames = driverReceive(2, std::chrono::milliseconds(300));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0], frame(driverMac(), 2));
    EXPECT_EQ(driver_->inputErrors(), 1u);
    EXPECT_EQ(driver_->receiveStatistics(0).errors, 1u);
}

TEST_F(SampleEthernetTest, TransmitsABurstThePeerReceivesAndFreesTheNetbufs) {
    ASSERT_EQ(bringUp(), 0);
    Netbuf* burst[8];
    ASSERT_EQ(driver_->pool()->allocateBulk(burst, 8), 0);
    std::vector<Frame> sent;
    for (std::uint8_t i = 0; i < 8; ++i) {
        sent.push_back(FrameBuilder::ethernet(peerMac_, driverMac(), kTestEtherType, Frame(100, i)));
        ASSERT_EQ(burst[i]->append(sent.back().data(), static_cast<std::uint32_t>(sent.back().size())), 0);
    }
    EXPECT_EQ(driver_->send(0, burst, 8), 8u);
    EXPECT_EQ(driver_->outputPackets(), 8u);
    std::vector<Frame> received;
    Frame buffer(2048);
    while (received.size() < 8) {
        ssize_t n = recv(peer_, buffer.data(), buffer.size(), 0);
        if (n < 0) break;
        Frame f(buffer.begin(), buffer.begin() + n);
        if (FrameBuilder::get16(f, 12) == kTestEtherType) received.push_back(f);
    }
    EXPECT_EQ(received, sent);
    EXPECT_EQ(driver_->pool()->inUse(), 0u);
}

TEST_F(SampleEthernetTest, AFrameTheKernelRefusesIsCountedAndDoesNotBlockTheOnesBehind) {
    ASSERT_EQ(bringUp(), 0);
    Netbuf* burst[2];
    ASSERT_EQ(driver_->pool()->allocateBulk(burst, 2), 0);
    Frame tooLong = FrameBuilder::ethernet(peerMac_, driverMac(), kTestEtherType, Frame(1600, 1));  // MTU 1400
    Frame fine = FrameBuilder::ethernet(peerMac_, driverMac(), kTestEtherType, Frame(100, 2));
    ASSERT_EQ(burst[0]->append(tooLong.data(), static_cast<std::uint32_t>(tooLong.size())), 0);
    ASSERT_EQ(burst[1]->append(fine.data(), static_cast<std::uint32_t>(fine.size())), 0);
    unsigned accepted = driver_->send(0, burst, 2);
    ASSERT_EQ(accepted, 1u);  // the refused frame, consumed
    EXPECT_EQ(driver_->outputErrors(), 1u);
    EXPECT_EQ(driver_->send(0, burst + 1, 1), 1u);
    EXPECT_EQ(driver_->outputPackets(), 1u);
    EXPECT_EQ(driver_->pool()->inUse(), 0u);
}

TEST_F(SampleEthernetTest, FiltersUnicastForOtherStationsUnlessPromiscuous) {
    ASSERT_EQ(bringUp(), 0);
    FrameBuilder::Mac other = {0x02, 0x99, 0x99, 0x99, 0x99, 0x99};
    peerSend(frame(other, 1));
    EXPECT_TRUE(driverReceive(1, std::chrono::milliseconds(200)).empty());
    ASSERT_EQ(driver_->performCommand(IFCONTROL_RCVPROMISCUOUS, nullptr), 0);
    EXPECT_TRUE(driver_->isPromiscuous());
    peerSend(frame(other, 2));
    auto frames = driverReceive(1);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0], frame(other, 2));
}

TEST_F(SampleEthernetTest, AnAddressSetWithSetaddrReceivesItsFrames) {
    ASSERT_EQ(bringUp(), 0);
    std::uint8_t address[6] = {0x02, 0x00, 0x00, 0x77, 0x00, 0x09};
    ASSERT_EQ(driver_->performCommand(IFCONTROL_SETADDR, address), 0);
    FrameBuilder::Mac to = {0x02, 0x00, 0x00, 0x77, 0x00, 0x09};
    peerSend(frame(to, 5));
    auto frames = driverReceive(1);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0], frame(to, 5));
}

TEST_F(SampleEthernetTest, ItsSocketIsReadableWhenFramesWait) {
    ASSERT_EQ(bringUp(), 0);
    int fd = driver_->interruptEventFd(0);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(driver_->setInterruptsEnabled(0, true), 0);
    pollfd idle{fd, POLLIN, 0};
    EXPECT_EQ(poll(&idle, 1, 0), 0);
    peerSend(frame(driverMac(), 1));
    pollfd ready{fd, POLLIN, 0};
    EXPECT_EQ(poll(&ready, 1, 1000), 1);
    EXPECT_EQ(driverReceive(1).size(), 1u);
}

TEST_F(SampleEthernetTest, ReportsPartialChecksumsOfTheHostsUdpInTheNetbufOffload) {
    ASSERT_EQ(bringUp(), 0);
    ASSERT_EQ(ns_->run("ip addr add 10.78.0.1/24 dev nxkernel").status, 0);
    std::string mac = driver_->hardwareAddress().toString();
    ASSERT_EQ(ns_->run("ip neigh add 10.78.0.2 lladdr " + mac + " dev nxkernel").status, 0);
    int udp = ns_->openSocket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(udp, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(7);
    inet_pton(AF_INET, "10.78.0.2", &to.sin_addr);
    EXPECT_EQ(sendto(udp, "abc", 3, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 3);
    close(udp);
    Netbuf* burst[SampleEthernet::kBurst];
    unsigned n = 0;
    for (int tries = 0; tries < 1000 && n == 0; ++tries) {
        n = driver_->receive(0, burst, SampleEthernet::kBurst);
        if (n == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(n, 1u);
    // A veth leaves the UDP checksum to the "hardware": start at the UDP header, store at +6.
    EXPECT_EQ(burst[0]->offload().flags & 1, 1);
    EXPECT_EQ(burst[0]->offload().csumStart, 34);
    EXPECT_EQ(burst[0]->offload().csumOffset, 6);
    burst[0]->free();
}

}  // namespace
