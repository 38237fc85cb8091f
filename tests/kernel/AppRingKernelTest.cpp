// App rings with the Linux kernel as the peer and as the network layer:
//   peer namespace (ping, 10.77.0.1) == wire tap == nexnet interface [AppRing] -- HostStackBridge
//   == host tap == host namespace (the network layer, 10.77.0.2)
// Applications run as separate processes (nexnet-appring).
#include "../unit/AppRingFixture.h"
#include "TapHarness.h"

#include "netif/HostStackBridge.h"

#include <sstream>

using namespace nexnet;
using namespace nexnet::test;

namespace {

// The wire, the bridge and the server on an event loop running in its own thread. Members are
// destroyed in reverse order: the loop stops first, the namespaces go last.
class KernelBench {
public:
    KernelBench() : peer("arp"), host("arh") {
        if (!peer.ok() || !host.ok()) return;
        path = "/tmp/nexnet-appring-k-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".sock";
        loop = std::move(EventLoop::create().value());
        std::string wireName = uniqueTapName("w");
        auto tap = openTap("tap:" + wireName);
        if (!tap) return;
        wire = std::make_unique<NetworkInterface>(std::move(tap));
        if (!moveIntoNamespace(wireName, peer, "10.77.0.1/24")) return;
        HostStackBridge::Options options;
        options.hostName = uniqueTapName("h");
        auto made = HostStackBridge::create(*wire, options);
        if (!made) return;
        bridge = std::move(made.value());
        if (!moveIntoNamespace(options.hostName, host, "10.77.0.2/24")) return;
        if (wire->setUp() != 0 || !wire->attach(*loop, NetworkInterface::Mode::interrupt)) return;
        if (bridge->attach(*loop) != 0) return;
        server = std::move(AppRingServer::create(*loop, path).value());
        server->addInterface(*wire);
        thread = std::thread([this] { loop->run(); });
        ok = true;
    }
    ~KernelBench() {
        if (thread.joinable()) {
            loop->stop();
            thread.join();
        }
        server.reset();
        bridge.reset();
        if (wire) wire->detach();
        wire.reset();
    }

    std::vector<std::string> app(const std::string& mode, const std::string& action,
                                 std::vector<std::string> extra = {}) {
        std::vector<std::string> arguments{path, wire->name(), mode, action};
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        return arguments;
    }
    bool ping(int count) {
        return peer.run("ping -c " + std::to_string(count) + " -i 0.2 -W 2 10.77.0.2", 20).status == 0;
    }
    // ICMP echo requests the host namespace's kernel answered (/proc/net/snmp Icmp InEchos).
    long hostEchoes() {
        std::istringstream lines(host.run("cat /proc/net/snmp").output);
        std::string names, values, line;
        while (std::getline(lines, line)) {
            if (line.rfind("Icmp:", 0) != 0) continue;
            if (names.empty()) names = line;
            else values = line;
        }
        std::istringstream n(names), v(values);
        std::string name, value;
        while (n >> name && v >> value) {
            if (name == "InEchos") return std::stol(value);
        }
        return -1;
    }

    static inline int counter = 0;
    NetworkNamespace peer;
    NetworkNamespace host;
    std::string path;
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<NetworkInterface> wire;
    std::unique_ptr<HostStackBridge> bridge;
    std::unique_ptr<AppRingServer> server;
    std::thread thread;
    bool ok = false;
};

bool waitFor(const std::function<bool()>& done, double seconds = 5) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
}

}  // namespace

TEST(AppRingKernelTest, WithoutRingsTheHostStackAnswersThroughTheBridge) {
    NEXNET_REQUIRE_KERNEL_PEER();
    KernelBench bench;
    ASSERT_TRUE(bench.ok);
    EXPECT_TRUE(bench.ping(3));
    EXPECT_GE(bench.hostEchoes(), 3);
}

TEST(AppRingKernelTest, RxInterceptApplicationCountsEchoRequestsAndPingsStillSucceed) {
    NEXNET_REQUIRE_KERNEL_PEER();
    KernelBench bench;
    ASSERT_TRUE(bench.ok);
    AppProcess app(bench.app("rx", "reinject"));
    ASSERT_TRUE(waitFor([&] { return app.printed("ready"); }));
    EXPECT_TRUE(bench.ping(5));
    EXPECT_EQ(app.stop(SIGTERM), 0);
    EXPECT_GE(app.value("requests"), 5);
    EXPECT_GE(bench.hostEchoes(), 5);
}

TEST(AppRingKernelTest, BypassApplicationAnswersPingsWhileTheKernelSeesNone) {
    NEXNET_REQUIRE_KERNEL_PEER();
    KernelBench bench;
    ASSERT_TRUE(bench.ok);
    AppProcess app(bench.app("bypass", "respond", {"--ip", "10.77.0.2", "--mac", "02:00:00:00:77:02"}));
    ASSERT_TRUE(waitFor([&] { return app.printed("ready"); }));
    EXPECT_TRUE(bench.ping(5));
    EXPECT_EQ(app.stop(SIGTERM), 0);
    EXPECT_GE(app.value("requests"), 5);
    EXPECT_EQ(bench.hostEchoes(), 0);
}

TEST(AppRingKernelTest, TxInterceptApplicationSeesTheKernelRepliesBeforeTheyLeave) {
    NEXNET_REQUIRE_KERNEL_PEER();
    KernelBench bench;
    ASSERT_TRUE(bench.ok);
    AppProcess app(bench.app("tx", "watch"));
    ASSERT_TRUE(waitFor([&] { return app.printed("ready"); }));
    EXPECT_TRUE(bench.ping(3));
    EXPECT_EQ(app.stop(SIGTERM), 0);
    EXPECT_GE(app.value("replies"), 3);
}

TEST(AppRingKernelTest, KilledInterceptingApplicationLeavesTheKernelPathWorking) {
    NEXNET_REQUIRE_KERNEL_PEER();
    KernelBench bench;
    ASSERT_TRUE(bench.ok);
    AppProcess app(bench.app("rx", "hold", {"--hold", "1000000"}));
    ASSERT_TRUE(waitFor([&] { return app.printed("ready"); }));
    EXPECT_FALSE(bench.peer.run("ping -c 2 -i 0.2 -W 1 10.77.0.2", 10).status == 0);  // held, never re-injected
    app.stop(SIGKILL);
    EXPECT_TRUE(waitFor([&] { return bench.ping(2); }, 10));  // rings gone: the host stack answers again
}
