// nexnet-sample on "xdp:" against the Linux kernel, as a user runs it: a child process in the
// driver's namespace answering the kernel at the other end of a veth pair, in native and generic
// XDP; its filter mode sharing one address with the kernel; and what a SIGKILL leaves behind.
#include "kernel/SampleProcess.h"
#include "kernel/XdpHarness.h"

#include <netinet/in.h>

using namespace nexnet;
using namespace nexnet::test;

namespace {

class XdpSampleTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_XDP();
        pair_ = std::make_unique<XdpVethPair>("xsm");
        ASSERT_TRUE(pair_->ok());
    }

    // Starts nexnet-sample on xdp:nx@p options with 10.77.0.2/24.
    void startSample(const std::string& options) {
        sample_.reset();  // the old one first: its log file has the same name
        sample_ = std::make_unique<SampleProcess>(pair_->driverSide(),
                                                  std::vector<std::string>{"xdp:nx" + options, "--ip", "10.77.0.2/24"});
        ASSERT_TRUE(sample_->waitUntilRunning()) << sample_->output();
    }

    // Sends @p count datagrams to 10.77.0.2 port @p port from the peer. @return how many came back.
    int udpEchoes(std::uint16_t port, int count) {
        int fd = pair_->peerSide().openSocket(AF_INET, SOCK_DGRAM, 0);
        timeval timeout{2, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(0x0a4d0002);
        int echoed = 0;
        for (int i = 0; i < count; ++i) {
            std::string text = "echo " + std::to_string(i);
            char back[64] = {};
            sendto(fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
            if (recv(fd, back, sizeof back, 0) == static_cast<ssize_t>(text.size()) && text == back) echoed++;
        }
        close(fd);
        return echoed;
    }

    std::unique_ptr<XdpVethPair> pair_;
    std::unique_ptr<SampleProcess> sample_;  // last: stops before the namespaces go
};

TEST_P(XdpSampleTest, AnswersPingAndUdpEcho) {
    startSample(",mode=" + GetParam());
    EXPECT_NE(sample_->output().find(GetParam() + " XDP"), std::string::npos) << sample_->output();
    CommandResult ping = pair_->peerSide().run("ping -q -c 20 -i 0.01 -W 2 10.77.0.2", 30);
    EXPECT_NE(ping.output.find("20 received"), std::string::npos) << ping.output;
    EXPECT_EQ(udpEchoes(7, 10), 10);
    auto counters = sample_->stop().finalCounters();
    EXPECT_EQ(counters["icmp"], 20u);
    EXPECT_EQ(counters["udp"], 10u);
    EXPECT_EQ(counters["drops"], 0u);
}

TEST_P(XdpSampleTest, LeavesNoProgramBehindWhenKilled) {
    ASSERT_EQ(pair_->driverSide().run("ip addr add 10.77.0.3/24 dev nx").status, 0);
    startSample(",mode=" + GetParam());
    ASSERT_TRUE(pair_->programAttached());
    EXPECT_NE(pair_->peerSide().run("ping -c 1 -W 1 10.77.0.3").status, 0) << "the queue is nexnet's";
    sample_->stop(SIGKILL);
    EXPECT_FALSE(pair_->programAttached()) << pair_->driverSide().run("ip -d link show nx").output;
    EXPECT_EQ(pair_->peerSide().run("ping -c 1 -W 2 10.77.0.3").status, 0) << "the kernel has its interface back";
    startSample(",mode=" + GetParam());  // and the next start finds the hook free
    EXPECT_TRUE(pair_->programAttached());
}

INSTANTIATE_TEST_SUITE_P(Modes, XdpSampleTest, ::testing::Values("native", "generic"));

TEST(XdpSampleFilterTest, SharesOneAddressWithTheKernel) {
    NEXNET_REQUIRE_XDP();
    XdpVethPair pair("xsf");
    ASSERT_TRUE(pair.ok());
    ASSERT_EQ(pair.driverSide().run("ip addr add 10.77.0.2/24 dev nx").status, 0);
    SampleProcess sample(pair.driverSide(), {"xdp:nx,filter=udp:7", "--ip", "10.77.0.2/24", "--beside-kernel", "nx"});
    ASSERT_TRUE(sample.waitUntilRunning()) << sample.output();
    // The kernel answers ARP and ping for 10.77.0.2; the sample answers UDP port 7 for it.
    EXPECT_EQ(pair.peerSide().run("ping -q -c 5 -i 0.01 -W 2 10.77.0.2").status, 0);
    CommandResult echo = pair.peerSide().run(
        "python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); "
        "s.sendto(b'filtered', ('10.77.0.2', 7)); print(s.recv(64))\"");
    EXPECT_NE(echo.output.find("filtered"), std::string::npos) << echo.output;
    auto counters = sample.stop().finalCounters();
    EXPECT_EQ(counters["icmp"], 0u) << "ping is the kernel's";
    EXPECT_EQ(counters["arp"], 0u) << "ARP is the kernel's";
    EXPECT_EQ(counters["udp"], 1u);
}

}  // namespace
