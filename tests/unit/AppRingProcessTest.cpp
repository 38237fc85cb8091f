// App rings with the application in another process (nexnet-appring, fork/exec): re-injection,
// kill -9 reclaim, several applications, a process scribbling garbage, credentials.
#include "AppRingFixture.h"

#include "support/TestEnvironment.h"

using namespace nexnet;
using namespace nexnet::test;

namespace {

std::vector<std::string> appArguments(const AppRingBench& bench, const std::string& mode, const std::string& action,
                                      std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments{bench.path, "null0", mode, action};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return arguments;
}

}  // namespace

TEST(AppRingProcessTest, ApplicationProcessReinjectsWhatItReceives) {
    AppRingBench bench;
    AppProcess app(appArguments(bench, "rx", "reinject"));
    ASSERT_TRUE(bench.pumpUntil([&] { return app.printed("ready"); }));
    for (int i = 0; i < 4; ++i) bench.interface->poll();
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames == 128; }));
    EXPECT_EQ(app.stop(SIGTERM), 0);
    EXPECT_EQ(app.value("received"), 128);
    EXPECT_EQ(app.value("sent"), 128);
}

TEST(AppRingProcessTest, KillNineReturnsAllBuffersOfTheApplication) {
    AppRingBench bench;
    std::uint32_t available = bench.pool().available();
    AppProcess app(appArguments(bench, "rx", "hold", {"--hold", "96"}));
    ASSERT_TRUE(bench.pumpUntil([&] { return app.printed("ready"); }));
    ASSERT_TRUE(bench.pumpUntil([&] { return app.printed("held 96"); }, 5, true));
    bench.server->ring("null0")->service();
    EXPECT_LE(bench.pool().available(), available - 96);
    app.stop(SIGKILL);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
    EXPECT_EQ(bench.pool().available(), available);
}

TEST(AppRingProcessTest, RingsLastUntilTheLastApplicationProcessEnds) {
    AppRingBench bench;
    AppProcess first(appArguments(bench, "rx", "hold", {"--hold", "32"}));
    ASSERT_TRUE(bench.pumpUntil([&] { return first.printed("ready"); }));
    AppProcess second(appArguments(bench, "join", "hold", {"--hold", "32"}));
    ASSERT_TRUE(bench.pumpUntil([&] { return second.printed("ready"); }));
    ASSERT_TRUE(bench.pumpUntil([&] { return first.printed("held 32") && second.printed("held 32"); }, 5, true));
    first.stop(SIGKILL);
    ASSERT_TRUE(bench.pumpUntil([&] { return bench.server->applicationCount() == 1; }));
    EXPECT_NE(bench.server->ring("null0"), nullptr);
    second.stop(SIGTERM);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
}

// The rings go from one consumer to two while frames flow: nothing is lost or refused.
TEST(AppRingProcessTest, SecondReinjectingProcessJoinsWithoutLosingFrames) {
    AppRingBench bench;
    AppProcess first(appArguments(bench, "rx", "reinject"));
    ASSERT_TRUE(bench.pumpUntil([&] { return first.printed("ready"); }));
    AppRing& ring = *bench.server->ring("null0");
    auto feed = [&](unsigned bursts) {
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        for (unsigned fed = 0; fed < bursts && std::chrono::steady_clock::now() < end;) {
            if (ring.ring1Pending() < 512) {
                bench.interface->poll();
                ++fed;
            }
            bench.loop->runOnce(std::chrono::milliseconds(1));
        }
    };
    feed(16);
    AppProcess second(appArguments(bench, "join", "reinject"));
    ASSERT_TRUE(bench.pumpUntil([&] { return second.printed("ready"); }));
    feed(48);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames == 64 * 32; }, 20));
    EXPECT_TRUE(ring.sharedConsumers());
    EXPECT_EQ(ring.statistics().ring1Full, 0u);
    EXPECT_EQ(ring.statistics().refused, 0u);
    EXPECT_EQ(ring.statistics().invalid, 0u);
    EXPECT_EQ(first.stop(SIGTERM), 0);
    EXPECT_EQ(second.stop(SIGTERM), 0);
    EXPECT_EQ(first.value("sent") + second.value("sent"), 64 * 32);
}

TEST(AppRingProcessTest, GarbageWritingProcessCannotCrashStealOrLeak) {
    AppRingBench bench;
    std::uint32_t available = bench.pool().available();
    AppProcess honest(appArguments(bench, "rx", "reinject"));
    ASSERT_TRUE(bench.pumpUntil([&] { return honest.printed("ready"); }));
    AppProcess hostile(appArguments(bench, "join", "garbage", {"--seconds", "1.5"}));
    ASSERT_TRUE(bench.pumpUntil([&] { return hostile.printed("ready"); }));
    bench.pumpUntil([&] { return hostile.ended(); }, 10, true);
    ASSERT_TRUE(hostile.ended());
    EXPECT_EQ(hostile.exitStatus(), 0);
    const AppRing::Statistics& stats = bench.server->ring("null0")->statistics();
    EXPECT_GT(stats.invalid + stats.refused, 0u);
    honest.stop(SIGKILL);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
    EXPECT_EQ(bench.pool().available(), available);
    // And the interface still works: no rings, the network layer gets everything.
    unsigned before = bench.layer.frames;
    bench.interface->poll();
    EXPECT_EQ(bench.layer.frames, before + 32);
}

TEST(AppRingProcessTest, ProcessOfAnotherUserIsRefused) {
    NEXNET_REQUIRE(isRoot(), "needs root to run the application as another user");
    AppRingBench bench;
    chmod(bench.path.c_str(), 0777);
    pid_t child = fork();
    if (child == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
        std::string program = std::string(NEXNET_BINARY_DIR) + "/samples/appring/nexnet-appring";
        execl(program.c_str(), program.c_str(), bench.path.c_str(), "null0", "rx", "reinject", "--seconds", "1", nullptr);
        _exit(127);
    }
    int status = -1;
    bench.pumpUntil([&] { return waitpid(child, &status, WNOHANG) == child; });
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1);
    EXPECT_EQ(bench.server->refused(), 1u);
    EXPECT_EQ(bench.server->ring("null0"), nullptr);
}

TEST(AppRingProcessTest, BypassNeedsSupervisorPrivileges) {
    NEXNET_REQUIRE(isRoot(), "needs root to run the application as another user");
    AppRingBench bench;
    bench.server->allowUser(65534);
    chmod(bench.path.c_str(), 0777);
    pid_t child = fork();
    if (child == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
        std::string program = std::string(NEXNET_BINARY_DIR) + "/samples/appring/nexnet-appring";
        execl(program.c_str(), program.c_str(), bench.path.c_str(), "null0", "bypass", "respond", "--seconds", "1", nullptr);
        _exit(127);
    }
    int status = -1;
    bench.pumpUntil([&] { return waitpid(child, &status, WNOHANG) == child; });
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1);  // EPERM
    EXPECT_EQ(bench.server->ring("null0"), nullptr);
}
