// nexnetd as a user runs it, with the Linux kernel on both sides:
//   peer namespace (ping, 10.78.0.1) == wire tap == nexnetd [app rings, telemetry] -- HostStackBridge
//   == kernel tap (10.78.0.2) in nexnetd's own namespace
// and nexnetctl, nexnet-appring and tshark as separate processes.
#include "support/ChildProcess.h"
#include "support/NetworkNamespace.h"
#include "support/TelemetrySchema.h"
#include "support/TestEnvironment.h"

#include "netif/TelemetryClient.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <regex>

using namespace nexnet;
using namespace nexnet::test;

namespace {

const std::string kBuild = NEXNET_BINARY_DIR;

std::string uniqueName(const std::string& tag) {
    static std::atomic<int> counter{0};
    return "nx" + tag + std::to_string(getpid() % 100000) + "x" + std::to_string(counter++);
}

// nexnetd in a namespace of its own, its wire tap's kernel end moved into a peer namespace.
class Daemon {
public:
    explicit Daemon(const std::vector<std::string>& extra = {}) : host("ndh"), peer("ndp") {
        runtime = "/tmp/nexnet-nexnetd-test-" + std::to_string(getpid()) + "-" + wire;
        std::filesystem::create_directories(runtime);
        chmod(runtime.c_str(), 0755);
        if (!host.ok() || !peer.ok()) return;
        std::vector<std::string> arguments = {"--appring-socket", runtime + "/appring.sock",
                                              "--interface",      "tap:" + wire,
                                              "--bridge",         bridge,
                                              "--bridge-address", "10.78.0.2/24"};
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        process = std::make_unique<ChildProcess>(kBuild + "/samples/nexnetd/nexnetd", arguments,
                                                 ChildProcess::Options{host.name(), {"NEXNET_RUNTIME_DIR=" + runtime}});
        if (!process->waitForOutput("nexnetd: running")) return;
        ok = runCommand("ip -n " + host.name() + " link set " + wire + " netns " + peer.name()).status == 0 &&
            peer.run("ip addr add 10.78.0.1/24 dev " + wire).status == 0 &&
            peer.run("ip link set " + wire + " up").status == 0;
    }
    ~Daemon() {
        process.reset();
        std::filesystem::remove_all(runtime);
    }

    // nexnetctl ARGUMENTS as @p uid, with the daemon's runtime directory.
    CommandResult control(const std::string& arguments,
                          const std::string& binary = kBuild + "/samples/nexnetctl/nexnetctl") const {
        return runCommand("NEXNET_RUNTIME_DIR=" + runtime + " timeout 20 " + binary + " " + arguments);
    }
    bool ping(int count) const {
        return peer.run("ping -c " + std::to_string(count) + " -i 0.2 -W 1 10.78.0.2", 20).status == 0;
    }
    // Packets the wire interface received, read from `nexnetctl stats`.
    std::uint64_t receivedPackets() const {
        auto stats = control("stats " + wire + " --interval 0");
        std::smatch match;
        if (!std::regex_search(stats.output, match, std::regex(R"(RX:\s+\d+ bytes\s+(\d+) packets)")))
            return UINT64_MAX;
        return std::stoull(match[1]);
    }
    std::string socketPath() const { return runtime + "/" + std::to_string(process->pid()) + ".sock"; }

    NetworkNamespace host;
    NetworkNamespace peer;
    std::string wire = uniqueName("w");
    std::string bridge = uniqueName("k");
    std::string runtime;
    std::unique_ptr<ChildProcess> process;
    bool ok = false;
};

#define REQUIRE_DAEMON(daemon)                                   \
    NEXNET_REQUIRE_KERNEL_PEER();                                \
    NEXNET_REQUIRE(hasProgram("ping"), "ping is not installed"); \
    ASSERT_TRUE((daemon).ok) << ((daemon).process ? (daemon).process->output() : "namespaces failed")

}  // namespace

TEST(Nexnetd, TheKernelPingsThroughItsBridgeAndStatsRise) {
    Daemon daemon;
    REQUIRE_DAEMON(daemon);
    std::uint64_t before = daemon.receivedPackets();
    ASSERT_NE(before, UINT64_MAX) << daemon.control("stats " + daemon.wire + " --interval 0").output;
    EXPECT_TRUE(daemon.ping(3)) << daemon.process->output();
    std::uint64_t after = daemon.receivedPackets();
    EXPECT_GE(after, before + 3);  // three echo requests at least (ARP too)
    auto list = daemon.control("list");
    EXPECT_EQ(list.status, 0);
    EXPECT_NE(list.output.find("tap:" + daemon.wire), std::string::npos) << list.output;
    EXPECT_NE(list.output.find(daemon.bridge), std::string::npos) << list.output;
}

TEST(Nexnetd, AnAppRingApplicationInRxInterceptSeesThePings) {
    Daemon daemon;
    REQUIRE_DAEMON(daemon);
    ChildProcess app(kBuild + "/samples/appring/nexnet-appring",
                     {daemon.runtime + "/appring.sock", daemon.wire, "rx", "reinject"});
    ASSERT_TRUE(app.waitForOutput("ready")) << app.output();
    auto stats = daemon.control("stats " + daemon.wire + " --interval 0");
    EXPECT_NE(stats.output.find("app rings: rx-intercept"), std::string::npos) << stats.output;
    EXPECT_NE(stats.output.find("pid " + std::to_string(app.pid())), std::string::npos) << stats.output;
    EXPECT_TRUE(daemon.ping(3)) << daemon.process->output();  // re-injected: the kernel still answers
    auto exit = app.stop();
    std::smatch match;
    ASSERT_TRUE(std::regex_search(exit.output, match, std::regex(R"(requests (\d+))"))) << exit.output;
    EXPECT_GE(std::stoull(match[1]), 3u);
}

TEST(Nexnetd, SetDownStopsTheRepliesAndSetUpBringsThemBack) {
    Daemon daemon;
    REQUIRE_DAEMON(daemon);
    ASSERT_TRUE(daemon.ping(1));
    auto down = daemon.control("set " + daemon.wire + " down");
    ASSERT_EQ(down.status, 0) << down.output;
    EXPECT_FALSE(daemon.ping(2));
    auto list = daemon.control("list");
    std::smatch wireLine;
    ASSERT_TRUE(std::regex_search(list.output, wireLine, std::regex(daemon.wire + R"(\s+tap:.*)"))) << list.output;
    EXPECT_EQ(wireLine.str().find("UP,"), std::string::npos) << list.output;
    auto up = daemon.control("set " + daemon.wire + " up");
    ASSERT_EQ(up.status, 0) << up.output;
    EXPECT_TRUE(daemon.ping(2)) << daemon.process->output();
}

TEST(Nexnetd, ACaptureDuringPingsHasBothDirectionsMarked) {
    NEXNET_REQUIRE(hasProgram("tshark"), "tshark is not installed");
    Daemon daemon;
    REQUIRE_DAEMON(daemon);
    std::string file = daemon.runtime + "/pings.pcapng";
    ChildProcess capture(kBuild + "/samples/nexnetctl/nexnetctl",
                         {"capture", daemon.wire, "-w", file, "--count", "6", "icmp"},
                         ChildProcess::Options{"", {"NEXNET_RUNTIME_DIR=" + daemon.runtime}});
    ASSERT_TRUE(capture.waitForOutput("capturing")) << capture.output();
    // The tap is attached by a job the daemon queued before it answered; this request waits behind it.
    auto stats = daemon.control("stats " + daemon.wire + " --interval 0");
    EXPECT_NE(stats.output.find("captures running: 1"), std::string::npos) << stats.output;
    EXPECT_TRUE(daemon.ping(3));
    ASSERT_TRUE(capture.waitForExit(std::chrono::seconds(10))) << capture.output();
    auto exit = capture.exit();
    EXPECT_EQ(exit.status, 0) << exit.output;
    auto fields = runCommand("tshark -r " + file +
                             " -T fields -e frame.interface_name -e frame.packet_flags_direction -e icmp.type");
    ASSERT_EQ(fields.status, 0) << fields.output;
    std::istringstream lines(fields.output);
    std::string line;
    unsigned inbound = 0, outbound = 0, frames = 0;
    while (std::getline(lines, line)) {
        if (line.find('\t') == std::string::npos) continue;  // tshark's own remarks ("Running as user root")
        ++frames;
        EXPECT_EQ(line.substr(0, line.find('\t')), daemon.wire) << line;
        // Direction 0x1 inbound (echo requests from the peer), 0x2 outbound (the kernel's replies).
        if (line.find("\t0x00000001\t8") != std::string::npos || line.find("\t1\t8") != std::string::npos) ++inbound;
        if (line.find("\t0x00000002\t0") != std::string::npos || line.find("\t2\t0") != std::string::npos) ++outbound;
    }
    EXPECT_EQ(frames, 6u) << fields.output;
    EXPECT_EQ(inbound, 3u) << fields.output;
    EXPECT_EQ(outbound, 3u) << fields.output;
}

TEST(Nexnetd, ExportGivesEveryCounterInPrometheusTextFormat) {
    NEXNET_REQUIRE(runCommand("/usr/bin/python3 -c 'import prometheus_client'").status == 0,
                   "python3-prometheus-client is not installed");
    Daemon daemon;
    REQUIRE_DAEMON(daemon);
    ASSERT_TRUE(daemon.ping(3));
    auto exported = daemon.control("export --prometheus > " + daemon.runtime + "/metrics.txt");
    ASSERT_EQ(exported.status, 0) << exported.output;
    // Prometheus' own parser reads it back; it prints "family sample {labels} value" per sample.
    auto parsed = runCommand(
        "/usr/bin/python3 -c '"
        "import sys\n"
        "from prometheus_client.parser import text_string_to_metric_families as parse\n"
        "for f in parse(open(sys.argv[1]).read()):\n"
        "    for s in f.samples: print(f.type, s.name, s.labels.get(\"interface\"), int(s.value))\n"
        "' " +
        daemon.runtime + "/metrics.txt");
    ASSERT_EQ(parsed.status, 0) << parsed.output << runCommand("cat " + daemon.runtime + "/metrics.txt").output;
    std::smatch match;
    ASSERT_TRUE(std::regex_search(parsed.output, match,
                                  std::regex("counter nexnet_receive_packets_total " + daemon.wire + R"( (\d+))")))
        << parsed.output;
    EXPECT_GE(std::stoull(match[1]), 3u);  // the echo requests at least
    EXPECT_NE(parsed.output.find("gauge nexnet_link_up " + daemon.wire + " 1"), std::string::npos) << parsed.output;
    EXPECT_NE(parsed.output.find("gauge nexnet_mtu_bytes " + daemon.bridge + " 1500"), std::string::npos)
        << parsed.output;
    EXPECT_NE(parsed.output.find("gauge nexnet_pool_high_water " + daemon.wire), std::string::npos) << parsed.output;
}

TEST(Nexnetd, TopShowsEveryInterfaceOfEveryProcess) {
    Daemon daemon;
    REQUIRE_DAEMON(daemon);
    auto top = daemon.control("top --iterations 2");
    ASSERT_EQ(top.status, 0) << top.output;
    std::string pid = std::to_string(daemon.process->pid());
    for (const std::string& name : {daemon.wire, daemon.bridge}) {
        EXPECT_TRUE(std::regex_search(top.output, std::regex(pid + R"(\s+nexnetd\s+)" + name + R"(\s+up\s+)")))
            << name << " missing:\n"
            << top.output;
    }
    EXPECT_NE(top.output.find("1 processes, 2 interfaces"), std::string::npos) << top.output;
}

// A copy of nexnetctl that another user can execute (the checkout may be in a 0700 directory).
class CopiedProgram {
public:
    explicit CopiedProgram(const std::string& binary) {
        char pattern[] = "/tmp/nexnet-nobody-XXXXXX";
        directory = mkdtemp(pattern) != nullptr ? pattern : "";
        path = directory + "/nexnetctl";
        ok = !directory.empty() && chmod(directory.c_str(), 0755) == 0 && std::filesystem::copy_file(binary, path) &&
            chmod(path.c_str(), 0755) == 0;
    }
    ~CopiedProgram() {
        if (!directory.empty()) std::filesystem::remove_all(directory);
    }
    std::string directory, path;
    bool ok = false;
};

// nexnetctl ARGUMENTS run by nobody (group nogroup, no other groups) against @p daemon.
class Nobody {
public:
    explicit Nobody(const Daemon& daemon) : daemon_(daemon), nexnetctl_(kBuild + "/samples/nexnetctl/nexnetctl") {}
    bool ok() const { return nexnetctl_.ok; }
    CommandResult control(const std::string& arguments) const {
        return daemon_.control(arguments, "setpriv --reuid=nobody --regid=nogroup --clear-groups " + nexnetctl_.path);
    }

private:
    const Daemon& daemon_;
    CopiedProgram nexnetctl_;
};

TEST(Nexnetd, AUserWithoutRightsIsRefused) {
    NEXNET_REQUIRE(hasProgram("setpriv"), "setpriv (util-linux) is not installed");
    Daemon daemon;
    REQUIRE_DAEMON(daemon);
    Nobody nobody(daemon);
    ASSERT_TRUE(nobody.ok());
    auto stats = nobody.control("stats " + daemon.wire + " --interval 0");
    EXPECT_EQ(stats.status, 1) << stats.output;
    EXPECT_NE(stats.output.find("permission denied"), std::string::npos) << stats.output;
    auto set = nobody.control("set " + daemon.wire + " down");
    EXPECT_EQ(set.status, 1) << set.output;
    EXPECT_TRUE(daemon.ping(1));  // still up
}

TEST(Nexnetd, ItsGroupMayReadButNotChange) {
    NEXNET_REQUIRE(hasProgram("setpriv"), "setpriv (util-linux) is not installed");
    Daemon daemon({"--group", "nogroup"});
    REQUIRE_DAEMON(daemon);
    Nobody nobody(daemon);
    ASSERT_TRUE(nobody.ok());
    auto stats = nobody.control("stats " + daemon.wire + " --interval 0");
    EXPECT_EQ(stats.status, 0) << stats.output;
    EXPECT_NE(stats.output.find("RX:"), std::string::npos) << stats.output;
    auto set = nobody.control("set " + daemon.wire + " down");
    EXPECT_EQ(set.status, 1) << set.output;
    EXPECT_NE(set.output.find("permission denied"), std::string::npos) << set.output;
    auto capture = nobody.control("capture " + daemon.wire + " -w /dev/null --count 1");
    EXPECT_EQ(capture.status, 1) << capture.output;
    EXPECT_TRUE(daemon.ping(1));
}

TEST(Nexnetd, SigtermLeavesNoTapSocketOrHugepageFileBehind) {
    Daemon daemon;
    REQUIRE_DAEMON(daemon);
    ASSERT_TRUE(daemon.ping(1));
    ChildProcess app(kBuild + "/samples/appring/nexnet-appring",
                     {daemon.runtime + "/appring.sock", daemon.wire, "rx", "reinject"});
    ASSERT_TRUE(app.waitForOutput("ready")) << app.output();
    auto stopping = std::chrono::steady_clock::now();
    auto exit = daemon.process->stop(SIGTERM, std::chrono::seconds(10));
    std::printf("nexnetd stopped in %.0f ms\n",
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - stopping).count());
    EXPECT_EQ(exit.status, 0) << exit.output;
    EXPECT_NE(exit.output.find("nexnetd: stopped"), std::string::npos) << exit.output;
    EXPECT_FALSE(std::filesystem::exists(daemon.runtime + "/appring.sock"));
    EXPECT_TRUE(std::filesystem::is_empty(daemon.runtime)) << "left in " << daemon.runtime;
    EXPECT_NE(runCommand("ip -n " + daemon.host.name() + " link show " + daemon.bridge).status, 0) << "bridge tap left";
    EXPECT_NE(runCommand("ip -n " + daemon.peer.name() + " link show " + daemon.wire).status, 0) << "wire tap left";
    if (std::filesystem::exists("/dev/hugepages")) {
        for (auto& entry : std::filesystem::directory_iterator("/dev/hugepages"))
            EXPECT_EQ(entry.path().filename().string().find("nexnet"), std::string::npos) << entry.path();
    }
}

TEST(Nexnetd, ItsTelemetryValidatesAgainstTheSchema) {
    Daemon daemon;
    REQUIRE_DAEMON(daemon);
    ChildProcess app(kBuild + "/samples/appring/nexnet-appring",
                     {daemon.runtime + "/appring.sock", daemon.wire, "rx", "reinject"});
    ASSERT_TRUE(app.waitForOutput("ready")) << app.output();
    ASSERT_TRUE(daemon.ping(1));
    auto client = TelemetryClient::connect(daemon.socketPath());
    ASSERT_TRUE(client) << client.describe();
    auto reply = client.value()->request(TelemetryRequest{});
    ASSERT_TRUE(reply) << reply.describe();
    EXPECT_EQ(schemaViolations(reply.value()), "") << reply.value();
    EXPECT_NE(reply.value().find("\"appRings\":{"), std::string::npos) << reply.value();
    EXPECT_NE(reply.value().find("\"bridge\":{"), std::string::npos) << reply.value();
    TelemetryRequest unknown;
    unknown.interface = "no-such-interface";
    auto error = client.value()->request(unknown);
    ASSERT_TRUE(error) << error.describe();
    EXPECT_EQ(schemaViolations(error.value()), "") << error.value();
    EXPECT_NE(error.value().find("ENODEV"), std::string::npos) << error.value();
}
