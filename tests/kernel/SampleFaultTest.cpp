// nexnet-sample and nexnet-fwd when things go wrong under them, as a user runs them (child
// processes in a namespace made for the test): the tap deleted (said at once, the program keeps
// running and takes the tap again when it is created again, or exits 1 when it is not back), a
// frame longer than the receive buffer (counted in the sample's statistics), and --user (the
// program continues as that account, without capabilities, and still answers and forwards).
#include "kernel/SampleProcess.h"
#include "kernel/TapHarness.h"

#include <linux/if_packet.h>
#include <arpa/inet.h>
#include <pwd.h>
#include <sys/ioctl.h>

#include <fstream>
#include <sstream>

using namespace nexnet;
using namespace nexnet::test;

namespace {

const std::string kSampleTap = "nxsample0";

// The "Key:" line of /proc/@p pid/status, without the key ("65534\t65534\t65534\t65534").
std::string procStatus(pid_t pid, const std::string& key) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(file, line);) {
        if (line.rfind(key + ":", 0) == 0) {
            std::string value = line.substr(key.size() + 1);
            return value.substr(value.find_first_not_of(" \t"));
        }
    }
    return "";
}

// A packet socket on interface @p name inside @p ns, bound to it.
struct KernelEnd {
    int fd = -1;
    int ifindex = 0;
    KernelEnd(const NetworkNamespace& ns, const std::string& name) {
        fd = ns.openSocket(AF_PACKET, SOCK_RAW, htons(0x88b5));
        ifreq ifr{};
        std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name.c_str());
        if (fd < 0 || ioctl(fd, SIOCGIFINDEX, &ifr) != 0) return;
        ifindex = ifr.ifr_ifindex;
        sockaddr_ll at{};
        at.sll_family = AF_PACKET;
        at.sll_protocol = htons(0x88b5);
        at.sll_ifindex = ifindex;
        bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at);
        timeval timeout{0, 200000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    }
    ~KernelEnd() {
        if (fd >= 0) close(fd);
    }
    bool send(std::uint8_t mark) const {
        std::vector<std::uint8_t> frame(60, mark);
        std::memset(frame.data(), 0xff, 6);
        frame[12] = 0x88;
        frame[13] = 0xb5;
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = ifindex;
        to.sll_halen = 6;
        return sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == 60;
    }
    // True when a frame marked @p mark arrives within @p tries reads of 200 ms.
    bool receives(std::uint8_t mark, int tries = 10) const {
        std::uint8_t frame[2048];
        for (int i = 0; i < tries; ++i) {
            ssize_t n = recv(fd, frame, sizeof frame, 0);
            if (n >= 60 && frame[20] == mark) return true;
        }
        return false;
    }
};

class SampleFaultTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        ns_ = std::make_unique<NetworkNamespace>("sfault");
        ASSERT_TRUE(ns_->ok());
    }

    void startSample(const std::vector<std::string>& extra = {}) {
        std::vector<std::string> arguments = {"tap:" + kSampleTap, "--ip", "10.77.0.2/24", "--quiet"};
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        sample_ = std::make_unique<SampleProcess>(*ns_, arguments);
        ASSERT_TRUE(sample_->waitUntilRunning()) << sample_->output();
        configureKernelEnd();
    }
    void configureKernelEnd() {
        ASSERT_EQ(ns_->run("ip link set " + kSampleTap + " up").status, 0);
        ASSERT_EQ(ns_->run("ip addr replace 10.77.0.1/24 dev " + kSampleTap).status, 0);
    }
    bool pings(int count) {
        return ns_->run("ping -q -c " + std::to_string(count) + " -i 0.05 -W 2 10.77.0.2", 20).status == 0;
    }
    bool said(SampleProcess& process, const std::string& text,
              std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        return pollUntil([&] { return process.output().find(text) != std::string::npos; }, timeout);
    }

    std::unique_ptr<NetworkNamespace> ns_;  // destroyed last: the programs stop before it goes
    std::unique_ptr<SampleProcess> sample_;
    std::unique_ptr<SampleProcess> forwarder_;
};

TEST_F(SampleFaultTest, TheSampleSaysTheTapWasDeletedKeepsRunningAndTakesItAgain) {
    startSample();
    ASSERT_TRUE(pings(3));
    ASSERT_EQ(ns_->run("ip link del " + kSampleTap).status, 0);
    EXPECT_TRUE(said(
        *sample_,
        "tap:" + kSampleTap + ": link down: interface " + kSampleTap + " was deleted; waiting for it to come back"))
        << sample_->output();
    EXPECT_FALSE(sample_->waitForExit(std::chrono::milliseconds(300))) << "it must keep running";

    ASSERT_EQ(ns_->run("ip tuntap add mode tap name " + kSampleTap).status, 0);
    configureKernelEnd();
    EXPECT_TRUE(said(*sample_, "tap:" + kSampleTap + ": link up again")) << sample_->output();
    EXPECT_TRUE(pings(3)) << sample_->output();
    SampleProcess::Exit exit = sample_->stop();
    EXPECT_EQ(exit.status, 0) << exit.output;
    ns_->run("ip link del " + kSampleTap);  // persistent: it was made with ip tuntap
}

TEST_F(SampleFaultTest, TheSampleExitsWithStatusOneWhileTheTapIsStillGone) {
    startSample();
    ASSERT_EQ(ns_->run("ip link del " + kSampleTap).status, 0);
    ASSERT_TRUE(said(*sample_, "was deleted")) << sample_->output();
    SampleProcess::Exit exit = sample_->stop();
    EXPECT_EQ(exit.status, 1) << exit.output;
    EXPECT_NE(exit.output.find("stopping with a fault: interface " + kSampleTap + " was deleted"), std::string::npos)
        << exit.output;
}

TEST_F(SampleFaultTest, TheForwarderSaysATapWasDeletedAndExitsWithStatusOne) {
    forwarder_ = std::make_unique<SampleProcess>(
        *ns_, std::vector<std::string>{"tap:nxfa", "tap:nxfb", "--duration", "60"}, "samples/forward/nexnet-fwd");
    ASSERT_TRUE(forwarder_->waitUntilRunning()) << forwarder_->output();
    ASSERT_EQ(ns_->run("ip link del nxfa").status, 0);
    EXPECT_TRUE(said(*forwarder_, "tap:nxfa: link down: interface nxfa was deleted")) << forwarder_->output();
    SampleProcess::Exit exit = forwarder_->stop();
    EXPECT_EQ(exit.status, 1) << exit.output;
    EXPECT_NE(exit.output.find("tap:nxfa: stopping with a fault"), std::string::npos) << exit.output;
}

// tun hands the driver what fits in a netbuf; a longer frame is counted as a receive error and
// reaches the sample's statistics (if-rx-errors), not the responder.
TEST_F(SampleFaultTest, AFrameLongerThanTheReceiveBufferIsCountedInTheSamplesStatistics) {
    startSample();
    ASSERT_EQ(ns_->run("ip link set " + kSampleTap + " mtu 9000").status, 0);
    KernelEnd kernel(*ns_, kSampleTap);
    ASSERT_GT(kernel.ifindex, 0);
    std::vector<std::uint8_t> big(3000, 0x42);
    std::memset(big.data(), 0xff, 6);
    big[12] = 0x88;
    big[13] = 0xb5;
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = kernel.ifindex;
    to.sll_halen = 6;
    ASSERT_EQ(sendto(kernel.fd, big.data(), big.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 3000);
    ASSERT_TRUE(pings(1));  // after the big frame: once answered, the big one was seen
    SampleProcess::Exit exit = sample_->stop();
    EXPECT_EQ(exit.status, 0) << exit.output;
    auto counters = exit.finalCounters();
    EXPECT_EQ(counters["if-rx-errors"], 1u) << exit.output;
}

TEST_F(SampleFaultTest, WithUserTheSampleRunsAsThatAccountWithoutCapabilitiesAndStillAnswers) {
    passwd* nobody = getpwnam("nobody");
    NEXNET_REQUIRE(nobody != nullptr, "no account 'nobody'");
    startSample({"--user", "nobody"});
    ASSERT_TRUE(said(*sample_, "continuing as nobody")) << sample_->output();
    std::string uid = std::to_string(nobody->pw_uid), gid = std::to_string(nobody->pw_gid);
    EXPECT_EQ(procStatus(sample_->pid(), "Uid"), uid + "\t" + uid + "\t" + uid + "\t" + uid);
    EXPECT_EQ(procStatus(sample_->pid(), "Gid"), gid + "\t" + gid + "\t" + gid + "\t" + gid);
    EXPECT_EQ(procStatus(sample_->pid(), "CapEff"), "0000000000000000");
    EXPECT_EQ(procStatus(sample_->pid(), "CapPrm"), "0000000000000000");
    EXPECT_TRUE(pings(5)) << sample_->output();
    SampleProcess::Exit exit = sample_->stop();
    EXPECT_EQ(exit.status, 0) << exit.output;
    EXPECT_GE(exit.finalCounters()["icmp"], 5u) << exit.output;
}

TEST_F(SampleFaultTest, WithUserTheForwarderRunsAsThatAccountAndStillForwards) {
    passwd* nobody = getpwnam("nobody");
    NEXNET_REQUIRE(nobody != nullptr, "no account 'nobody'");
    forwarder_ = std::make_unique<SampleProcess>(
        *ns_, std::vector<std::string>{"tap:nxua", "tap:nxub", "--duration", "60", "--user", "nobody"},
        "samples/forward/nexnet-fwd");
    ASSERT_TRUE(forwarder_->waitUntilRunning()) << forwarder_->output();
    ASSERT_TRUE(said(*forwarder_, "continuing as nobody")) << forwarder_->output();
    EXPECT_EQ(procStatus(forwarder_->pid(), "CapEff"), "0000000000000000");
    EXPECT_EQ(procStatus(forwarder_->pid(), "Uid").substr(0, std::to_string(nobody->pw_uid).size()),
              std::to_string(nobody->pw_uid));
    ASSERT_EQ(ns_->run("ip link set nxua up").status, 0);
    ASSERT_EQ(ns_->run("ip link set nxub up").status, 0);
    KernelEnd a(*ns_, "nxua"), b(*ns_, "nxub");
    ASSERT_TRUE(a.ifindex > 0 && b.ifindex > 0);
    bool crossed = false;
    for (int attempt = 0; attempt < 10 && !crossed; ++attempt) crossed = a.send(0x71) && b.receives(0x71, 2);
    EXPECT_TRUE(crossed) << "a frame sent on one tap did not come out of the other\n" << forwarder_->output();
    SampleProcess::Exit exit = forwarder_->stop();
    EXPECT_EQ(exit.status, 0) << exit.output;
}

}  // namespace
