// nexnet-fwd, the forwarding sample: what it forwards, what it prints, how it fails.
// Counts are asserted, never speed (bench/ measures that).
#include "support/TestEnvironment.h"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace {

const std::string kForwarder = std::string(NEXNET_BINARY_DIR) + "/samples/forward/nexnet-fwd";

struct ForwarderRun {
    int status = -1;
    std::string output;
};

// Runs nexnet-fwd with @p arguments (bounded by timeout) and collects stdout and stderr.
ForwarderRun forward(const std::string& arguments) {
    ForwarderRun run;
    std::string command = "timeout 30 " + kForwarder + " " + arguments + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return run;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) run.output.append(buffer, n);
    int status = pclose(pipe);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
}

class ForwardSampleTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE(std::filesystem::exists(kForwarder), "nexnet-fwd is not built (samples/forward)");
    }
};

TEST_F(ForwardSampleTest, ForwardsEveryFrameBothWaysAndCountsThem) {
    ForwarderRun run = forward("null:,limit=100000 null:,limit=70000 --duration 0.5 --stats");
    ASSERT_EQ(run.status, 0) << run.output;
    EXPECT_NE(run.output.find("total A->B forwarded 100000 dropped 0"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("total B->A forwarded 70000 dropped 0"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("A=null:,limit=100000 input 100000"), std::string::npos) << run.output;
}

TEST_F(ForwardSampleTest, InterruptModePollsADriverWithoutInterruptsAndSaysSo) {
    ForwarderRun run = forward("null:,limit=5000 null:,limit=5000 --duration 0.5 --interrupt");
    ASSERT_EQ(run.status, 0) << run.output;
    EXPECT_NE(run.output.find("has no interrupts: polling it"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("total A->B forwarded 5000 dropped 0"), std::string::npos) << run.output;
}

TEST_F(ForwardSampleTest, TwoThreadsForwardTheirOwnQueuePairsAndCountEachThreadsShare) {
    ForwarderRun run =
        forward("null:,queues=2,limit=50000 null:,queues=2,limit=20000 --threads 2 --duration 0.5 --stats");
    ASSERT_EQ(run.status, 0) << run.output;
    EXPECT_NE(run.output.find("poll mode, 2 threads"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("total A->B forwarded 100000 dropped 0"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("total B->A forwarded 40000 dropped 0"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("thread 0 (CPU -1) A->B 50000 B->A 20000"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("thread 1 (CPU -1) A->B 50000 B->A 20000"), std::string::npos) << run.output;
}

TEST_F(ForwardSampleTest, RefusesMoreThreadsThanADriverHasQueuePairs) {
    ForwarderRun run = forward("null:,queues=2 null: --threads 2 --duration 0.1");
    EXPECT_EQ(run.status, 1) << run.output;
    EXPECT_NE(run.output.find("null: has 1 queue pair; --threads 2 needs 2"), std::string::npos) << run.output;
}

TEST_F(ForwardSampleTest, RefusesABadCpuList) {
    ForwarderRun run = forward("null: null: --cpus 3-1 --duration 0.1");
    EXPECT_EQ(run.status, 2) << run.output;
    EXPECT_NE(run.output.find("--cpus: CPU list"), std::string::npos) << run.output;
}

TEST_F(ForwardSampleTest, ReportsTheMemoryItRunsOn) {
    ForwarderRun run = forward("null: null: --duration 0.1");
    ASSERT_EQ(run.status, 0) << run.output;
    EXPECT_NE(run.output.find("KiB pages"), std::string::npos) << run.output;
}

TEST_F(ForwardSampleTest, FailsClearlyOnAnUnknownDriver) {
    ForwarderRun run = forward("null: nosuchdriver:x --duration 0.1");
    EXPECT_EQ(run.status, 1) << run.output;
    EXPECT_NE(run.output.find("cannot open nosuchdriver:x"), std::string::npos) << run.output;
}

TEST_F(ForwardSampleTest, NeedsTwoUris) {
    ForwarderRun run = forward("null:");
    EXPECT_EQ(run.status, 2) << run.output;
    EXPECT_NE(run.output.find("usage: nexnet-fwd"), std::string::npos) << run.output;
}

}  // namespace
