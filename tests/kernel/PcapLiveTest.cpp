// pcap-live:IFNAME against the Linux kernel: one end of a veth pair in a namespace the test makes
// is the driver's interface, the other end has an address and answers or sends like any host.
#include "drivers/BuiltinDrivers.h"
#include "drivers/pcap/PcapLiveDriver.h"
#include "framework/EventLoop.h"
#include "netif/NetworkInterface.h"
#include "inet/InetStack.h"
#include "support/NetworkNamespace.h"
#include "support/TestEnvironment.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <ctime>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <thread>

using namespace nexnet;
using namespace nexnet::test;

namespace {

class PcapLiveTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        ns_ = std::make_unique<NetworkNamespace>("pcap");
        ASSERT_TRUE(ns_->ok());
        ASSERT_EQ(ns_->run("ip link add nxpcap type veth peer name nxpeer").status, 0);
        ASSERT_EQ(ns_->run("ip link set nxpcap up").status, 0);
        ASSERT_EQ(ns_->run("ip addr add 10.78.0.1/24 dev nxpeer").status, 0);
        ASSERT_EQ(ns_->run("ip link set nxpeer up").status, 0);
        NamespaceEntry inside(ns_->name());
        ASSERT_TRUE(inside.ok());
        auto driver = builtinDrivers().open("pcap-live:nxpcap,pool=512");
        ASSERT_TRUE(driver) << std::strerror(driver.error());
        interface_ = std::make_unique<NetworkInterface>(std::move(driver.value()));
        ASSERT_EQ(interface_->setUp(), 0);
    }
    void TearDown() override { interface_.reset(); }  // before the namespace goes

    PcapLiveDriver& driver() { return static_cast<PcapLiveDriver&>(interface_->driver()); }

    std::unique_ptr<NetworkNamespace> ns_;
    std::unique_ptr<NetworkInterface> interface_;
};

std::uint64_t nowNanoseconds() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

TEST_F(PcapLiveTest, TakesTheInterfacesHardwareAddress) {
    auto shown = ns_->run("cat /sys/class/net/nxpcap/address");
    EXPECT_EQ(driver().hardwareAddress().toString() + "\n", shown.output);
}

TEST_F(PcapLiveTest, AnswersKernelPingsInInterruptMode) {
    auto stack = InetStack::create(*interface_, InetStack::Options{});
    ASSERT_TRUE(stack);
    ASSERT_EQ(stack.value()->setAddress(in_addr{htonl(0x0a4e0002)}, in_addr{htonl(0xffffff00)}), 0);
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    auto mode = interface_->attach(*loop.value(), NetworkInterface::Mode::interrupt);
    ASSERT_TRUE(mode);
    EXPECT_EQ(mode.value(), NetworkInterface::Mode::interrupt);  // pcap_get_selectable_fd
    std::atomic<bool> stop{false};
    std::thread runner([&] {
        while (!stop) loop.value()->runOnce(std::chrono::milliseconds(20));
    });
    auto ping = ns_->run("ping -c 5 -i 0.2 -W 2 10.78.0.2");
    stop = true;
    runner.join();
    interface_->detach();
    EXPECT_EQ(ping.status, 0) << ping.output;
    EXPECT_NE(ping.output.find(" 0% packet loss"), std::string::npos) << ping.output;
    EXPECT_GE(stack.value()->statistics().echoAnswered, 5u);
    EXPECT_GE(stack.value()->statistics().arpAnswered, 1u);
}

TEST_F(PcapLiveTest, ReceivesWhatTheKernelSendsWithNanosecondTimestamps) {
    const std::uint64_t before = nowNanoseconds();
    ns_->run("ping -c 1 -W 1 10.78.0.2");  // unanswered: the kernel sends ARP requests
    Netbuf* burst[32];
    unsigned n = 0;
    for (int i = 0; i < 100 && n == 0; ++i) {
        n = driver().receive(0, burst, 32);
        if (n == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GT(n, 0u);
    for (unsigned i = 0; i < n; ++i) {
        EXPECT_GE(burst[i]->size(), 42u);
        EXPECT_GE(burst[i]->timestamp(), before - 1000000000ull);
        EXPECT_LE(burst[i]->timestamp(), nowNanoseconds());
    }
    NetbufPool::freeToOwners(burst, n);
}

TEST_F(PcapLiveTest, SendsFramesTheKernelReceivesUnchanged) {
    int peer = ns_->openSocket(AF_PACKET, SOCK_RAW, htons(0x88b5));
    ASSERT_GE(peer, 0);
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "nxpeer");
    ASSERT_EQ(ioctl(peer, SIOCGIFINDEX, &ifr), 0);
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(0x88b5);
    address.sll_ifindex = ifr.ifr_ifindex;
    ASSERT_EQ(bind(peer, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    timeval timeout{2, 0};
    setsockopt(peer, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

    Netbuf* burst[8];
    ASSERT_EQ(driver().pool()->allocateBulk(burst, 8), 0);
    for (unsigned i = 0; i < 8; ++i) {
        std::uint8_t frame[100];
        std::memset(frame, 0xff, 6);
        std::memcpy(frame + 6, driver().hardwareAddress().bytes.data(), 6);
        frame[12] = 0x88;
        frame[13] = 0xb5;
        for (unsigned b = 14; b < sizeof frame; ++b) frame[b] = static_cast<std::uint8_t>(i * 3 + b);
        burst[i]->append(frame, sizeof frame);
    }
    std::vector<std::vector<std::uint8_t>> sent;
    for (auto* nb : burst) sent.emplace_back(nb->data(), nb->data() + nb->size());
    ASSERT_EQ(driver().send(0, burst, 8), 8u);
    for (unsigned i = 0; i < 8; ++i) {
        std::uint8_t got[2048];
        ssize_t n = recv(peer, got, sizeof got, 0);
        ASSERT_EQ(n, 100) << "frame " << i;
        EXPECT_EQ(std::vector<std::uint8_t>(got, got + n), sent[i]) << "frame " << i;
    }
    EXPECT_EQ(driver().outputPackets(), 8u);
    close(peer);
}

TEST(PcapLive, MissingInterfaceIsEnodev) {
    NEXNET_REQUIRE_KERNEL_PEER();
    auto driver = builtinDrivers().open("pcap-live:nxnosuch0");
    ASSERT_FALSE(driver);
    EXPECT_EQ(driver.error(), ENODEV);
}
