// Two namespaces joined by nexnet-fwd over two taps: the kernel's TCP and UDP cross it.
// Completion and data received are asserted, never speed (bench/tap measures that).
#include "kernel/TapHarness.h"

#include <sys/stat.h>

using namespace nexnet;
using namespace nexnet::test;

namespace {

const std::string kForwarder = std::string(NEXNET_BINARY_DIR) + "/samples/forward/nexnet-fwd";

class TapForwardTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        NEXNET_REQUIRE(hasProgram("iperf3"), "iperf3 is not installed");
        struct stat info {};
        NEXNET_REQUIRE(stat(kForwarder.c_str(), &info) == 0, "samples/forward/nexnet-fwd is not built");
        a_ = std::make_unique<NetworkNamespace>("fwda");
        b_ = std::make_unique<NetworkNamespace>("fwdb");
        ASSERT_TRUE(a_->ok() && b_->ok());
    }

    // Starts nexnet-fwd on two new taps (@p mode: "" or "--interrupt") and moves their kernel
    // ends into the namespaces as 10.81.0.1 and 10.81.0.2.
    void startForwarder(const std::string& options, const std::string& mode) {
        std::string nameA = uniqueTapName("a"), nameB = uniqueTapName("b");
        std::vector<std::string> argv = {
            kForwarder, "tap:" + nameA + options, "tap:" + nameB + options, "--duration", "60", "--stats"};
        if (!mode.empty()) argv.push_back(mode);
        forwarder_ = std::make_unique<ChildProcess>(argv);
        ASSERT_TRUE(pollUntil([&] { return forwarder_->output().find("nexnet-fwd: A=") != std::string::npos; },
                              std::chrono::seconds(10)))
            << forwarder_->output();
        ASSERT_TRUE(moveIntoNamespace(nameA, *a_, "10.81.0.1/24"));
        ASSERT_TRUE(moveIntoNamespace(nameB, *b_, "10.81.0.2/24"));
    }

    // Runs iperf3 @p arguments from A to a one-shot server in B. @return the client's JSON.
    CommandResult iperf(const std::string& arguments) {
        ChildProcess server({"/usr/bin/ip", "netns", "exec", b_->name(), "iperf3", "-s", "-1", "-p", "5201"});
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return a_->run("iperf3 -c 10.81.0.2 -p 5201 -J " + arguments, 30);
    }

    std::unique_ptr<NetworkNamespace> a_, b_;
    std::unique_ptr<ChildProcess> forwarder_;  // declared last: stops before the namespaces go
};

TEST_F(TapForwardTest, CarriesAnIperf3TcpRunWithOffloads) {
    startForwarder(",vnet=1", "");
    CommandResult client = iperf("-t 2");
    EXPECT_EQ(client.status, 0) << client.output << forwarder_->output();
    EXPECT_GT(iperfReceivedBytes(client.output), 1u << 20) << client.output;
}

TEST_F(TapForwardTest, CarriesAnIperf3TcpRunWithoutOffloadsInInterruptMode) {
    startForwarder("", "--interrupt");
    CommandResult client = iperf("-t 2");
    EXPECT_EQ(client.status, 0) << client.output << forwarder_->output();
    EXPECT_GT(iperfReceivedBytes(client.output), 1u << 20) << client.output;
}

TEST_F(TapForwardTest, CarriesAnIperf3UdpRun) {
    startForwarder(",vnet=1", "--interrupt");
    CommandResult client = iperf("-u -b 20M -l 512 -t 2");
    EXPECT_EQ(client.status, 0) << client.output << forwarder_->output();
    EXPECT_GT(iperfReceivedBytes(client.output), 1u << 20) << client.output;
}

}  // namespace
