// Driver plug-ins: a driver built outside nexnet (samples/vxlan, the guide's smallest driver)
// loaded by a program with -d, against the Linux kernel's own VXLAN as the peer.
#include "kernel/SampleProcess.h"
#include "support/NetworkNamespace.h"
#include "support/ShellCommand.h"
#include "support/TestEnvironment.h"

#include <gtest/gtest.h>

#include <string>

namespace nexnet::test {
namespace {

const std::string kPlugin = std::string(NEXNET_BINARY_DIR) + "/samples/vxlan/nexnet-vxlan.so";
const std::string kNexnetctl = std::string(NEXNET_BINARY_DIR) + "/samples/nexnetctl/nexnetctl";

TEST(DriverPlugin, NexnetctlListsTheDriversAPluginRegisters) {
    CommandResult listed = runCommand(kNexnetctl + " -d " + kPlugin + " drivers");
    EXPECT_EQ(listed.status, 0) << listed.output;
    EXPECT_NE(listed.output.find("vxlan:REMOTE"), std::string::npos) << listed.output;
    EXPECT_NE(listed.output.find("[" + kPlugin + "]"), std::string::npos) << listed.output;
}

TEST(DriverPlugin, PluginsNamedByTheEnvironmentAreLoadedToo) {
    CommandResult listed = runCommand("NEXNET_DRIVER_PATH=" + std::string(NEXNET_BINARY_DIR) + "/samples/vxlan " +
                                      kNexnetctl + " drivers");
    EXPECT_EQ(listed.status, 0) << listed.output;
    EXPECT_NE(listed.output.find("vxlan:REMOTE"), std::string::npos) << listed.output;
}

TEST(DriverPlugin, AFileThatIsNotAPluginIsRefusedWithTheReason) {
    CommandResult missing = runCommand(kNexnetctl + " -d /nonexistent/x.so drivers");
    EXPECT_NE(missing.status, 0);
    EXPECT_NE(missing.output.find("/nonexistent/x.so: No such file"), std::string::npos) << missing.output;
    // A shared object with no entry point: nexnet's own test support library is not a plug-in.
    CommandResult notPlugin = runCommand(kNexnetctl + " -d /lib/x86_64-linux-gnu/libpcap.so.0.8 drivers");
    EXPECT_NE(notPlugin.status, 0);
    EXPECT_NE(notPlugin.output.find("not a nexnet driver plug-in"), std::string::npos) << notPlugin.output;
}

TEST(DriverPlugin, AnUnknownSchemeSaysWhichAreKnownAndHowToLoadMore) {
    CommandResult result =
        runCommand(std::string(NEXNET_BINARY_DIR) + "/samples/ethernet/nexnet-sample vxlan:10.0.0.1");
    EXPECT_NE(result.status, 0);
    EXPECT_NE(result.output.find("no driver for 'vxlan:'"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("-d PLUGIN"), std::string::npos) << result.output;
}

// The kernel's vxlan interface in one namespace, nexnet-sample on the plug-in in another; a veth
// pair between them carries the UDP.
TEST(DriverPlugin, TheSmallestDriverAnswersTheKernelsPingsThroughAPlugin) {
    NEXNET_REQUIRE_KERNEL_PEER();
    NEXNET_REQUIRE(
        runCommand("ip link add nxvxprobe type vxlan id 1 dstport 4789 2>&1 && ip link del nxvxprobe").status == 0,
        "the kernel has no vxlan support");
    NetworkNamespace nexnetSide("vxa"), kernelSide("vxb");
    ASSERT_TRUE(nexnetSide.ok() && kernelSide.ok());
    ASSERT_EQ(nexnetSide.run("ip link add nxvx0 type veth peer name nxvx1").status, 0);
    ASSERT_EQ(nexnetSide.run("ip link set nxvx1 netns " + kernelSide.name()).status, 0);
    ASSERT_EQ(nexnetSide.run("ip addr add 192.0.2.1/24 dev nxvx0").status, 0);
    ASSERT_EQ(nexnetSide.run("ip link set nxvx0 up").status, 0);
    ASSERT_EQ(kernelSide.run("ip addr add 192.0.2.2/24 dev nxvx1").status, 0);
    ASSERT_EQ(kernelSide.run("ip link set nxvx1 up").status, 0);
    ASSERT_EQ(kernelSide.run("ip link add vx42 type vxlan id 42 remote 192.0.2.1 local 192.0.2.2 dstport 4789").status,
              0);
    ASSERT_EQ(kernelSide.run("ip addr add 10.91.0.1/24 dev vx42").status, 0);
    ASSERT_EQ(kernelSide.run("ip link set vx42 up").status, 0);

    SampleProcess sample(nexnetSide, {"-d", kPlugin, "vxlan:192.0.2.2,vni=42", "--ip", "10.91.0.2/24"});
    ASSERT_TRUE(sample.waitUntilRunning()) << sample.output();
    CommandResult ping = kernelSide.run("ping -c 5 -i 0.1 -W 2 10.91.0.2", 20);
    EXPECT_EQ(ping.status, 0) << ping.output << sample.output();
    EXPECT_NE(ping.output.find("5 received"), std::string::npos) << ping.output;
    SampleProcess::Exit exit = sample.stop();
    EXPECT_EQ(exit.status, 0) << exit.output;
}

}  // namespace
}  // namespace nexnet::test
