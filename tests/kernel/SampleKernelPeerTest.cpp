// nexnet-sample against the Linux kernel: the kernel pings, arpings and UDP-echoes the sample
// through a tap (tap:, without and with offloads) or a veth (packet:, the SampleEthernet
// tutorial driver), and writes malformed frames at it, all inside a network namespace the test
// makes and removes.
//
// The sample runs as a child process, as a user runs it: the test covers the program itself
// (arguments, performCommand configuration, signals, the statistics it prints), and a crash on
// a malformed frame shows up as an exit status instead of taking the test runner down with it.
#include "drivers/BuiltinDrivers.h"
#include "support/FrameBuilder.h"
#include "support/TestEnvironment.h"
#include "kernel/SampleProcess.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <memory>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

using namespace nexnet::test;
using Frame = FrameBuilder::Frame;

namespace {

const char kSampleMac[] = "02:00:00:77:00:02";
const FrameBuilder::Mac kSampleMacBytes = {0x02, 0x00, 0x00, 0x77, 0x00, 0x02};
const FrameBuilder::Ip kSampleIp = {10, 77, 0, 2};
const FrameBuilder::Ip kKernelIp = {10, 77, 0, 1};

/// Closes a file descriptor when it goes out of scope.
struct FileDescriptor {
    int fd;
    explicit FileDescriptor(int value) : fd(value) {}
    ~FileDescriptor() {
        if (fd >= 0) close(fd);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
};

class SampleKernelPeerTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        NEXNET_REQUIRE(nexnet::builtinDrivers().find("tap") != nullptr || GetParam() == "packet",
                       "the tap driver is not built in");
        ns_ = std::make_unique<NetworkNamespace>("smp");
        ASSERT_TRUE(ns_->ok()) << "cannot create a network namespace";
        if (GetParam() == "packet") {
            ASSERT_EQ(ns_->run("ip link add nxsample type veth peer name nxkernel").status, 0);
            ASSERT_EQ(ns_->run("ip link set nxsample up").status, 0);
            uri_ = "packet:nxsample";
            kernelEnd_ = "nxkernel";
        } else {
            // tapvnet: the kernel hands over UDP with its checksum left to finish, and the
            // sample's replies ask the kernel to finish theirs (Netbuf::offload()).
            uri_ = GetParam() == "tapvnet" ? "tap:nxsample0,vnet=1" : "tap:nxsample0";
            kernelEnd_ = "nxsample0";
        }
        startSample({});
    }

    // (Re)starts the sample with @p extra arguments and configures the kernel's end of the link.
    void startSample(const std::vector<std::string>& extra) {
        sample_.reset();
        std::vector<std::string> arguments = {uri_, "--ip", "10.77.0.2/24", "--mac", kSampleMac, "--quiet"};
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        sample_ = std::make_unique<SampleProcess>(*ns_, arguments);
        ASSERT_TRUE(sample_->waitUntilRunning()) << sample_->output();
        ASSERT_EQ(ns_->run("ip link set " + kernelEnd_ + " up").status, 0);
        CommandResult address = ns_->run("ip addr replace 10.77.0.1/24 dev " + kernelEnd_);
        ASSERT_EQ(address.status, 0) << address.output;
    }

    // Pings the sample @p count times, 10 ms apart. @return ping's output; status in @p status.
    CommandResult ping(int count) {
        return ns_->run("ping -q -c " + std::to_string(count) + " -i 0.01 -W 2 10.77.0.2", 30);
    }

    // Stops the sample and returns how it ended (expects a clean exit).
    SampleProcess::Exit stopSample() {
        SampleProcess::Exit exit = sample_->stop();
        EXPECT_EQ(exit.status, 0) << exit.output;
        return exit;
    }

    // A packet socket on the kernel's end of the link, inside the namespace.
    int kernelPacketSocket(FrameBuilder::Mac& kernelMac, int& ifindex) {
        int fd = ns_->openSocket(AF_PACKET, SOCK_RAW, 0);
        if (fd < 0) return -1;
        ifreq ifr{};
        std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", kernelEnd_.c_str());
        if (ioctl(fd, SIOCGIFINDEX, &ifr) != 0) return fd;
        ifindex = ifr.ifr_ifindex;
        if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) std::memcpy(kernelMac.data(), ifr.ifr_hwaddr.sa_data, 6);
        return fd;
    }

    // Declared first, destroyed last: the sample stops before its namespace goes.
    std::unique_ptr<NetworkNamespace> ns_;
    std::unique_ptr<SampleProcess> sample_;
    std::string uri_;
    std::string kernelEnd_;
};

TEST_P(SampleKernelPeerTest, AnswersAHundredKernelPingsWithoutLoss) {
    CommandResult result = ping(100);
    EXPECT_EQ(result.status, 0) << result.output;
    EXPECT_NE(result.output.find("100 packets transmitted, 100 received, 0% packet loss"), std::string::npos)
        << result.output;
    auto counters = stopSample().finalCounters();
    EXPECT_EQ(counters["icmp"], 100u);
    EXPECT_EQ(counters["drops"], 0u);
}

TEST_P(SampleKernelPeerTest, AnswersArpingWithItsAddress) {
    CommandResult result = ns_->run("arping -c 2 -w 5 -I " + kernelEnd_ + " 10.77.0.2", 10);
    EXPECT_EQ(result.status, 0) << result.output;
    std::string upper = kSampleMac;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    EXPECT_NE(result.output.find(upper), std::string::npos) << result.output;
    EXPECT_GE(stopSample().finalCounters()["arp"], 2u);
}

TEST_P(SampleKernelPeerTest, EchoesUdpPayloadsFromOneByteToTheMtuByteForByte) {
    FileDescriptor udp(ns_->openSocket(AF_INET, SOCK_DGRAM, 0));
    ASSERT_GE(udp.fd, 0);
    timeval timeout{2, 0};
    setsockopt(udp.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in sample{};
    sample.sin_family = AF_INET;
    sample.sin_port = htons(7);
    std::memcpy(&sample.sin_addr, kSampleIp.data(), 4);
    ASSERT_EQ(connect(udp.fd, reinterpret_cast<sockaddr*>(&sample), sizeof sample), 0) << strerror(errno);
    for (std::size_t size : {1u, 2u, 100u, 1000u, 1500u - 28u}) {
        Frame payload(size);
        for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<std::uint8_t>(i * 13 + size);
        ASSERT_EQ(send(udp.fd, payload.data(), size, 0), static_cast<ssize_t>(size)) << strerror(errno);
        Frame echo(2048);
        ssize_t got = recv(udp.fd, echo.data(), echo.size(), 0);
        ASSERT_EQ(got, static_cast<ssize_t>(size)) << "payload of " << size << ": " << strerror(errno);
        echo.resize(static_cast<std::size_t>(got));
        EXPECT_EQ(echo, payload) << "payload of " << size;
    }
    EXPECT_EQ(stopSample().finalCounters()["udp"], 5u);
}

TEST_P(SampleKernelPeerTest, DropsAndCountsMalformedFramesThenKeepsAnswering) {
    FrameBuilder::Mac kernelMac{};
    int ifindex = 0;
    FileDescriptor raw(kernelPacketSocket(kernelMac, ifindex));
    ASSERT_GE(raw.fd, 0);
    ASSERT_GT(ifindex, 0);
    const auto& to = kSampleMacBytes;
    Frame ping = FrameBuilder::icmpEcho(to, kernelMac, kKernelIp, kSampleIp, 1, 1, Frame(56, 0xab));

    // The kernel will not send a frame shorter than an Ethernet header (dev_validate_header);
    // runts are covered by the unit tests.
    std::vector<Frame> malformed;
    malformed.push_back(FrameBuilder::ethernet(to, kernelMac, 0x88b5, Frame(46, 1)));  // not IP: left, if-rx-drops
    malformed.push_back(FrameBuilder::ethernet(to, kernelMac, 46, Frame(46, 2)));      // 802.3 length: if-rx-drops
    malformed.push_back(FrameBuilder::ethernet(to, kernelMac, 0x0800, Frame()));       // ip-truncated
    Frame arp = FrameBuilder::arpRequest(kernelMac, kKernelIp, kSampleIp);
    arp.resize(14 + 20);
    malformed.push_back(arp);  // arp-truncated
    Frame badIpChecksum = ping;
    badIpChecksum[FrameBuilder::kIpChecksum] ^= 0x10;
    malformed.push_back(badIpChecksum);  // ip-checksum
    Frame badIcmpChecksum = ping;
    badIcmpChecksum.back() ^= 0x01;
    malformed.push_back(badIcmpChecksum);  // icmp-checksum
    Frame tooLong = ping;
    FrameBuilder::set16(tooLong, FrameBuilder::kIpTotalLength, 1400);
    FrameBuilder::set16(tooLong, FrameBuilder::kIpChecksum, 0);
    FrameBuilder::set16(tooLong, FrameBuilder::kIpChecksum, FrameBuilder::checksum(tooLong.data() + 14, 20));
    malformed.push_back(tooLong);  // ip-total-length
    Frame badUdp = FrameBuilder::udp(to, kernelMac, kKernelIp, kSampleIp, 5000, 7, Frame(10, 3));
    badUdp.back() ^= 0x01;
    malformed.push_back(badUdp);  // udp-checksum

    sockaddr_ll link{};
    link.sll_family = AF_PACKET;
    link.sll_ifindex = ifindex;
    link.sll_halen = 6;
    std::memcpy(link.sll_addr, to.data(), 6);
    for (const Frame& frame : malformed) {
        ASSERT_EQ(sendto(raw.fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&link), sizeof link),
                  static_cast<ssize_t>(frame.size()))
            << strerror(errno);
    }

    CommandResult after = this->ping(10);
    EXPECT_NE(after.output.find("10 received"), std::string::npos) << after.output;
    auto counters = stopSample().finalCounters();
    EXPECT_EQ(counters["if-rx-drops"], 2u);  // no consumer speaks those EtherTypes
    EXPECT_EQ(counters["ip-truncated"], 1u);
    EXPECT_EQ(counters["arp-truncated"], 1u);
    EXPECT_EQ(counters["ip-checksum"], 1u);
    EXPECT_EQ(counters["icmp-checksum"], 1u);
    EXPECT_EQ(counters["ip-total-length"], 1u);
    EXPECT_EQ(counters["udp-checksum"], 1u);
    EXPECT_EQ(counters["drops"], malformed.size() - 2);
    EXPECT_EQ(counters["icmp"], 10u);
}

TEST_P(SampleKernelPeerTest, StopsByItselfAfterCountReplies) {
    startSample({"--count", "5"});
    ns_->run("ping -q -c 10 -i 0.05 -W 1 10.77.0.2", 10);
    ASSERT_TRUE(sample_->waitForExit(std::chrono::seconds(5))) << sample_->output();
    auto exit = sample_->stop();
    EXPECT_EQ(exit.status, 0) << exit.output;
    EXPECT_EQ(exit.finalCounters()["replies"], 5u) << exit.output;
}

TEST_P(SampleKernelPeerTest, StopsByItselfAfterItsDuration) {
    startSample({"--duration", "0.5"});
    ASSERT_TRUE(sample_->waitForExit(std::chrono::seconds(5))) << sample_->output();
    auto exit = sample_->stop();
    EXPECT_EQ(exit.status, 0) << exit.output;
    EXPECT_NE(exit.output.find("nexnet-sample: final "), std::string::npos) << exit.output;
}

TEST_P(SampleKernelPeerTest, SigintStopsItCleanlyWithFinalStatistics) {
    ping(3);
    auto exit = sample_->stop(SIGINT);
    EXPECT_EQ(exit.status, 0) << exit.output;
    EXPECT_EQ(exit.finalCounters()["icmp"], 3u) << exit.output;
}

INSTANTIATE_TEST_SUITE_P(Drivers, SampleKernelPeerTest, ::testing::Values("tap", "tapvnet", "packet"),
                         [](const ::testing::TestParamInfo<std::string>& driver) { return driver.param; });

}  // namespace
