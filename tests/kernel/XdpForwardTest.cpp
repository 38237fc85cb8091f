// Two namespaces joined by nexnet-fwd on two xdp: veths, in a third namespace: the kernel's ping,
// TCP and UDP cross it, in native and generic XDP. Completion and data received are asserted,
// never speed (bench/xdp measures that).
#include "kernel/TapHarness.h"
#include "kernel/XdpHarness.h"

#include <sys/stat.h>

using namespace nexnet;
using namespace nexnet::test;

namespace {

const std::string kForwarder = std::string(NEXNET_BINARY_DIR) + "/samples/forward/nexnet-fwd";

class XdpForwardTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_XDP();
        NEXNET_REQUIRE(hasProgram("iperf3"), "iperf3 is not installed");
        struct stat info {};
        NEXNET_REQUIRE(stat(kForwarder.c_str(), &info) == 0, "samples/forward/nexnet-fwd is not built");
        a_ = std::make_unique<NetworkNamespace>("xfa");
        b_ = std::make_unique<NetworkNamespace>("xfb");
        f_ = std::make_unique<NetworkNamespace>("xff");
        ASSERT_TRUE(a_->ok() && b_->ok() && f_->ok());
        // A's ka (10.81.0.1) - va in F - nexnet-fwd - vb in F - B's kb (10.81.0.2). The ends compute
        // their checksums (tx off): AF_XDP carries no checksum state across.
        for (auto [ns, inner, outer, address] :
             {std::tuple{a_.get(), "va", "ka", "10.81.0.1/24"}, std::tuple{b_.get(), "vb", "kb", "10.81.0.2/24"}}) {
            ASSERT_EQ(
                f_->run(std::string("ip link add ") + inner + " type veth peer name " + outer + " netns " + ns->name())
                    .status,
                0);
            ASSERT_EQ(f_->run(std::string("ip link set ") + inner + " up").status, 0);
            ASSERT_EQ(ns->run(std::string("ethtool -K ") + outer + " tx off").status, 0);
            ASSERT_EQ(ns->run(std::string("ip addr add ") + address + " dev " + outer).status, 0);
            ASSERT_EQ(ns->run(std::string("ip link set ") + outer + " up").status, 0);
        }
        std::string options = ",mode=" + GetParam();
        forwarder_ = std::make_unique<ChildProcess>(
            std::vector<std::string>{"/usr/bin/ip", "netns", "exec", f_->name(), kForwarder, "xdp:va" + options,
                                     "xdp:vb" + options, "--duration", "60", "--interrupt"});
        // "A=... B=..." is printed once both sides are open (each side's own line says its mode).
        ASSERT_TRUE(pollUntil([&] { return forwarder_->output().find("nexnet-fwd: A=") != std::string::npos; },
                              std::chrono::seconds(10)))
            << forwarder_->output();
    }

    // iperf3 @p arguments from A to a one-shot server in B. @return the client's JSON.
    CommandResult iperf(const std::string& arguments) {
        ChildProcess server({"/usr/bin/ip", "netns", "exec", b_->name(), "iperf3", "-s", "-1", "-p", "5201"});
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return a_->run("iperf3 -c 10.81.0.2 -p 5201 -J " + arguments, 30);
    }

    std::unique_ptr<NetworkNamespace> a_, b_, f_;
    std::unique_ptr<ChildProcess> forwarder_;  // last: stops before the namespaces go
};

TEST_P(XdpForwardTest, SaysWhichModeEachSideRuns) {
    std::string output = forwarder_->output();
    EXPECT_NE(output.find("xdp:va (veth) queue 0: " + GetParam() + " XDP"), std::string::npos) << output;
    EXPECT_NE(output.find("xdp:vb (veth) queue 0: " + GetParam() + " XDP"), std::string::npos) << output;
}

TEST_P(XdpForwardTest, CarriesPings) {
    CommandResult ping = a_->run("ping -q -c 20 -i 0.01 -W 2 10.81.0.2", 30);
    EXPECT_NE(ping.output.find("20 received"), std::string::npos) << ping.output << forwarder_->output();
}

TEST_P(XdpForwardTest, CarriesAnIperf3TcpRun) {
    CommandResult client = iperf("-t 1");
    EXPECT_EQ(client.status, 0) << client.output << forwarder_->output();
    EXPECT_GT(iperfReceivedBytes(client.output), 1u << 20) << client.output;
}

TEST_P(XdpForwardTest, CarriesAnIperf3UdpRun) {
    CommandResult client = iperf("-u -b 20M -l 512 -t 1");
    EXPECT_EQ(client.status, 0) << client.output << forwarder_->output();
    EXPECT_GT(iperfReceivedBytes(client.output), 1u << 20) << client.output;
}

INSTANTIATE_TEST_SUITE_P(Modes, XdpForwardTest, ::testing::Values("native", "generic"));

}  // namespace
