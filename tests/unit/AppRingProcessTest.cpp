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

// Once the others are gone, the honest re-injecting application @p honest (the last one mapped)
// passes every new frame on, and when it ends every buffer is back (@p available of them).
void expectRingsFlowAgain(AppRingBench& bench, AppProcess& honest, std::uint32_t available) {
    ASSERT_TRUE(bench.pumpUntil([&] { return bench.server->applicationCount() == 1; }));
    bench.pumpUntil([] { return false; }, 0.5);  // what it still had in hand
    unsigned before = bench.layer.frames;
    ASSERT_EQ(bench.feed(64), 64u);
    // Every new frame, and perhaps a few from before that a scribbler had made the framework
    // record as the honest one's (it re-injects them when a scribbled tail brings them round).
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames >= before + 64 * 32; }, 20))
        << bench.layer.frames - before << " of " << 64 * 32 << " frames got through";
    EXPECT_EQ(honest.stop(SIGTERM), 0);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
    EXPECT_EQ(bench.pool().available(), available);
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

// The helper runs as another user from a copy it can reach (the checkout may be private: exit
// status 127 would then look like a refusal). 126: it could not become that user.
TEST(AppRingProcessTest, ProcessOfAnotherUserIsRefused) {
    NEXNET_REQUIRE(isRoot(), "needs root to run the application as another user");
    AppRingBench bench;
    ProgramCopy helper(appRingProgram());
    ASSERT_FALSE(helper.path().empty());
    chmod(bench.path.c_str(), 0777);  // the socket lets it connect: SO_PEERCRED must refuse it
    int status = runAs(65534, 65534, helper.path(), {bench.path, "null0", "rx", "reinject", "--seconds", "1"}, bench);
    EXPECT_EQ(status, 1);  // EACCES from the server
    EXPECT_EQ(bench.server->refused(), 1u);
    EXPECT_EQ(bench.server->ring("null0"), nullptr);
}

TEST(AppRingProcessTest, BypassNeedsSupervisorPrivileges) {
    NEXNET_REQUIRE(isRoot(), "needs root to run the application as another user");
    AppRingBench bench;
    ProgramCopy helper(appRingProgram());
    ASSERT_FALSE(helper.path().empty());
    bench.server->allowUser(65534);
    chmod(bench.path.c_str(), 0777);
    int status =
        runAs(65534, 65534, helper.path(), {bench.path, "null0", "bypass", "respond", "--seconds", "1"}, bench);
    EXPECT_EQ(status, 1);  // EPERM
    EXPECT_EQ(bench.server->refused(), 1u);
    EXPECT_EQ(bench.server->ring("null0"), nullptr);
}

// A garbage-writing application killed with -9 while an honest one re-injects: afterwards every
// frame gets through again, and once the honest one ends every buffer is back.
TEST(AppRingProcessTest, GarbageWritingProcessKilledLeavesTheRingsWorkingForOthers) {
    AppRingBench bench;
    std::uint32_t available = bench.pool().available();
    AppProcess honest(appArguments(bench, "rx", "reinject"));
    ASSERT_TRUE(bench.pumpUntil([&] { return honest.printed("ready"); }));
    AppProcess hostile(appArguments(bench, "join", "garbage"));
    ASSERT_TRUE(bench.pumpUntil([&] { return hostile.printed("ready"); }));
    bench.feedFor(1.5);  // while it scribbles
    const AppRing::Statistics& stats = bench.server->ring("null0")->statistics();
    EXPECT_GT(stats.invalid + stats.refused + stats.abandoned, 0u);
    hostile.stop(SIGKILL);
    expectRingsFlowAgain(bench, honest, available);
}

// The same with a pool of 4096 and a scribbler that ends by itself: the honest one never stays
// blocked in a wait.
TEST(AppRingProcessTest, GarbageWritingProcessThatEndsLeavesNobodyBlocked) {
    AppRingBench bench(4096);
    std::uint32_t available = bench.pool().available();
    AppProcess honest(appArguments(bench, "rx", "reinject"));
    ASSERT_TRUE(bench.pumpUntil([&] { return honest.printed("ready"); }));
    AppProcess hostile(appArguments(bench, "join", "garbage", {"--seconds", "1"}));
    ASSERT_TRUE(bench.pumpUntil([&] { return hostile.printed("ready"); }));
    bench.feedFor(1.5);
    ASSERT_TRUE(bench.pumpUntil([&] { return hostile.ended(); }, 10));
    expectRingsFlowAgain(bench, honest, available);
}

// Fault: applications killed with -9 at random points of their bursts while traffic flows.
TEST(AppRingProcessTest, ApplicationsKilledMidBurstLoseOnlyTheirOwn) {
    AppRingBench bench;
    std::uint32_t available = bench.pool().available();
    AppProcess honest(appArguments(bench, "rx", "reinject"));
    ASSERT_TRUE(bench.pumpUntil([&] { return honest.printed("ready"); }));
    for (int round = 0; round < 5; ++round) {
        AppProcess victim(appArguments(bench, "join", "reinject"));
        ASSERT_TRUE(bench.pumpUntil([&] { return victim.printed("ready"); }));
        bench.feedFor(0.05 * (round + 1));
        victim.stop(SIGKILL);
        ASSERT_TRUE(bench.pumpUntil([&] { return bench.server->applicationCount() == 1; }));
    }
    expectRingsFlowAgain(bench, honest, available);
}

// Fault: the framework's process is killed with -9 while an application maps its rings: the
// application hears of it at once (its waits return EPIPE), says so and exits.
TEST(AppRingProcessTest, ApplicationLearnsAtOnceThatTheFrameworkWasKilled) {
    std::string path = appRingSocketPath();
    pid_t framework = fork();
    if (framework == 0) {
        AppRingBench served(1024, path);
        for (;;) {
            served.interface->poll();
            served.loop->runOnce(std::chrono::milliseconds(20));
        }
    }
    AppRingBench bench;  // only for its loop helpers
    bench.pumpUntil([&] { return access(path.c_str(), F_OK) == 0; });
    AppProcess app({path, "null0", "rx", "reinject", "--seconds", "60"});
    ASSERT_TRUE(bench.pumpUntil([&] { return app.printed("ready"); }));
    kill(framework, SIGKILL);
    waitpid(framework, nullptr, 0);
    unlink(path.c_str());
    EXPECT_TRUE(bench.pumpUntil([&] { return app.ended(); }, 5)) << "still running 5 s after the framework died";
    EXPECT_EQ(app.exitStatus(), 3);
}

// Who may map: the socket file's permissions first (the kernel refuses to connect), then
// SO_PEERCRED against the allowed users and groups.
TEST(AppRingProcessTest, MembersOfAnAllowedGroupMayMapAndOthersCannotConnect) {
    NEXNET_REQUIRE(isRoot(), "needs root to run the application as other users");
    AppRingServer::Options options;
    options.socketGroup = 65534;  // nogroup
    options.socketMode = 0660;
    std::string path = appRingSocketPath();
    AppRingBench bench(1024, path);
    bench.server.reset();
    bench.server = std::move(AppRingServer::create(*bench.loop, path, options).value());
    bench.server->addInterface(*bench.interface);
    bench.server->allowGroup(65534);
    struct stat status {};
    ASSERT_EQ(stat(path.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 0777, 0660u);
    EXPECT_EQ(status.st_gid, 65534u);
    ProgramCopy helper(appRingProgram());
    ASSERT_FALSE(helper.path().empty());
    std::vector<std::string> arguments{path, "null0", "rx", "reinject", "--seconds", "0.2"};
    EXPECT_EQ(runAs(65534, 65534, helper.path(), arguments, bench), 0);  // in the group: maps, runs, ends
    EXPECT_EQ(bench.server->refused(), 0u);
    EXPECT_EQ(runAs(65534, 4242, helper.path(), arguments, bench), 1);  // not in it: connect refused
    EXPECT_EQ(bench.server->refused(), 0u);                             // by the kernel, before us
}

TEST(AppRingProcessTest, SocketIsOnlyForTheFrameworksUserByDefault) {
    AppRingBench bench;
    struct stat status {};
    ASSERT_EQ(stat(bench.path.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 0777, 0600u);
}
