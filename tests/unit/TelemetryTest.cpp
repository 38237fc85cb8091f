// Telemetry: a process's interfaces described, changed and captured through its socket, with the
// replies checked against docs/telemetry.schema.json, and nothing done on the data path's thread
// but what the control loop runs.
#include "drivers/BuiltinDrivers.h"
#include "framework/EventLoop.h"
#include "netif/LowResourceBuffer.h"
#include "netif/NetworkInterface.h"
#include "netif/Telemetry.h"
#include "netif/TelemetryClient.h"
#include "support/ShellCommand.h"
#include "support/TelemetrySchema.h"
#include "support/TestEnvironment.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace nexnet;
using namespace nexnet::test;

namespace {

// A null-driver interface, its telemetry and the event loop that runs both on a thread of its
// own (the control thread); the test is the client.
class Served {
public:
    explicit Served(const std::string& uri, bool lowResource = false) {
        static std::atomic<int> counter{0};
        directory = "/tmp/nexnet-telemetry-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
        std::filesystem::create_directories(directory);
        loop = std::move(EventLoop::create().value());
        auto driver = builtinDrivers().open(uri);
        EXPECT_TRUE(driver) << driver.describe();
        if (!driver) return;
        interface = std::make_unique<NetworkInterface>(std::move(driver.value()));
        if (lowResource) {
            LowResourceBuffer::Config config;
            config.lowWater = 16;
            config.reserveCount = 64;
            buffer = std::move(LowResourceBuffer::create(interface->driver().sharedPool(), config).value());
            buffer->insert(interface->driver());
        }
        interface->setUp();
        Telemetry::Options options;
        options.path = directory + "/test.sock";
        auto opened = Telemetry::open(*loop, options);
        EXPECT_TRUE(opened) << opened.describe();
        if (!opened) return;
        telemetry = std::move(opened.value());
        telemetry->addInterface(*interface, {uri, nullptr, buffer.get()});
        EXPECT_TRUE(interface->attach(*loop, NetworkInterface::Mode::poll));
        thread = std::thread([this] { loop->run(); });
    }
    ~Served() {
        if (thread.joinable()) {
            loop->stop();
            thread.join();
        }
        telemetry.reset();
        if (interface) interface->detach();
        if (buffer) buffer->remove();
        buffer.reset();
        interface.reset();
        std::filesystem::remove_all(directory);
    }
    std::unique_ptr<TelemetryClient> connect() {
        auto client = TelemetryClient::connect(telemetry->path());
        EXPECT_TRUE(client) << client.describe();
        return client ? std::move(client.value()) : nullptr;
    }
    // Sends @p line as it is (a request a client might get wrong) and returns the reply line.
    std::string raw(const std::string& line) {
        auto client = connect();
        std::string text = line + "\n";
        EXPECT_EQ(::send(client->fd(), text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
        std::string reply;
        char c;
        while (::recv(client->fd(), &c, 1, 0) == 1 && c != '\n') reply += c;
        return reply;
    }

    std::string directory;
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<NetworkInterface> interface;
    std::unique_ptr<LowResourceBuffer> buffer;
    std::unique_ptr<Telemetry> telemetry;
    std::thread thread;
};

// Waits until @p done holds (counters that a poll loop raises), at most 10 s.
template <typename F>
bool eventually(F done) {
    for (int i = 0; i < 1000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
}

}  // namespace

TEST(Telemetry, DescribeReportsTheDriversOwnCountersAndValidatesAgainstTheSchema) {
    Served served("null:,limit=100", true);
    ASSERT_NE(served.telemetry, nullptr);
    auto client = served.connect();
    ASSERT_TRUE(eventually([&] { return served.interface->driver().inputPackets() == 100; }));
    auto reply = client->request(TelemetryRequest{});
    ASSERT_TRUE(reply) << reply.describe();
    EXPECT_EQ(schemaViolations(reply.value()), "") << reply.value();
    auto report = TelemetryReport::fromJson(reply.value());
    ASSERT_TRUE(report) << report.describe();
    EXPECT_EQ(report->pid, getpid());
    const TelemetryReport::Interface* null = report->find(served.interface->name());
    ASSERT_NE(null, nullptr);
    EXPECT_EQ(null->uri, "null:,limit=100");
    EXPECT_EQ(null->receiveTotals().packets, 100u);
    EXPECT_EQ(null->receiveTotals().bytes, 6400u);
    EXPECT_EQ(null->receiveTotals().drops, 100u);  // nobody took them
    ASSERT_TRUE(null->pool);
    EXPECT_EQ(null->pool->capacity, served.interface->driver().pool()->capacity());
    ASSERT_TRUE(null->lowResource);
    EXPECT_EQ(null->lowResource->lowWater, 16u);
    EXPECT_TRUE(null->controllable);
}

TEST(Telemetry, SetChangesTheInterfaceThroughPerformCommand) {
    Served served("null:,limit=1");
    ASSERT_NE(served.telemetry, nullptr);
    auto client = served.connect();
    TelemetrySetting mtu;
    mtu.kind = TelemetrySetting::Kind::mtu;
    mtu.mtu = 1280;
    EXPECT_TRUE(client->set(served.interface->name(), mtu).ok());
    EXPECT_EQ(served.interface->mtu(), 1280u);
    mtu.mtu = 60000;
    Status tooLarge = client->set(served.interface->name(), mtu);
    EXPECT_EQ(tooLarge.error(), EINVAL);
    EXPECT_NE(tooLarge.message().find("MTU 60000 is outside"), std::string::npos) << tooLarge.message();
    TelemetrySetting promiscuous;
    promiscuous.kind = TelemetrySetting::Kind::promiscuous;
    promiscuous.on = true;
    EXPECT_TRUE(client->set(served.interface->name(), promiscuous).ok());
    auto report = client->describe(served.interface->name());
    ASSERT_TRUE(report) << report.describe();
    EXPECT_NE(report->interfaces.at(0).flags & IFF_PROMISC, 0u);
    TelemetrySetting down;
    down.kind = TelemetrySetting::Kind::down;
    EXPECT_TRUE(client->set(served.interface->name(), down).ok());
    EXPECT_FALSE(served.interface->driver().isRunning());
    EXPECT_EQ(client->set("nothing", down).error(), ENODEV);
}

TEST(Telemetry, MalformedRequestsGetAnErrorAndTheConnectionStaysUsable) {
    Served served("null:,limit=1");
    ASSERT_NE(served.telemetry, nullptr);
    for (const char* bad : {"not json", "[1,2]", R"({"command":"reboot"})", R"({"command":"describe","verbose":true})",
                            R"({"command":"set","interface":"x"})", R"({"command":"set","interface":"x","mtu":-1})",
                            R"({"command":"capture"})", R"({"command":"capture","interface":"x","snaplen":0})"}) {
        std::string reply = served.raw(bad);
        EXPECT_EQ(schemaViolations(reply), "") << bad << " -> " << reply;
        EXPECT_NE(reply.find(R"("ok":false)"), std::string::npos) << bad << " -> " << reply;
    }
    EXPECT_NE(served.raw(R"({"command":"describe","verbose":true})").find("unknown member \\\"verbose\\\""),
              std::string::npos);
    EXPECT_GE(served.telemetry->refused(), 8u);
    auto client = served.connect();
    EXPECT_TRUE(client->describe());
}

TEST(Telemetry, ACaptureStreamsPcapngWithDirectionsAndEndsAtItsCount) {
    NEXNET_REQUIRE(hasProgram("tshark"), "tshark is not installed");
    Served served("null:,size=100,fill=1");
    ASSERT_NE(served.telemetry, nullptr);
    auto client = served.connect();
    TelemetryRequest capture;
    capture.command = TelemetryRequest::Command::capture;
    capture.interface = served.interface->name();
    capture.count = 5;
    capture.filter = "ether broadcast";
    ASSERT_TRUE(client->startCapture(capture).ok());
    std::string file = served.directory + "/capture.pcapng";
    std::ofstream out(file, std::ios::binary);
    char buffer[4096];
    for (;;) {
        auto got = client->readStream(buffer, sizeof buffer, std::chrono::seconds(10));
        ASSERT_TRUE(got) << got.describe();
        if (got.value() == 0) break;
        out.write(buffer, static_cast<std::streamsize>(got.value()));
    }
    out.close();
    auto fields = runCommand("tshark -r " + file +
                             " -T fields -e frame.interface_name -e frame.packet_flags_direction -e frame.len");
    ASSERT_EQ(fields.status, 0) << fields.output;
    std::string expected = served.interface->name() + "\t0x00000001\t100\n";
    std::size_t count = 0;
    for (std::size_t at = fields.output.find(expected); at != std::string::npos;
         at = fields.output.find(expected, at + 1))
        ++count;
    EXPECT_EQ(count, 5u) << fields.output;
    EXPECT_TRUE(eventually(
        [&] { return served.raw(R"({"command":"describe"})").find(R"("captures":0)") != std::string::npos; }));
}

TEST(Telemetry, ABadFilterIsRefusedWithLibpcapsReason) {
    Served served("null:,limit=1");
    ASSERT_NE(served.telemetry, nullptr);
    auto client = served.connect();
    TelemetryRequest capture;
    capture.command = TelemetryRequest::Command::capture;
    capture.interface = served.interface->name();
    capture.filter = "port 99999999";
    Status status = client->startCapture(capture);
    EXPECT_EQ(status.error(), EINVAL);
    EXPECT_NE(status.message().find("filter"), std::string::npos) << status.message();
}

TEST(Telemetry, ASecondProcessCannotTakeALiveSocketButReplacesAStaleOne) {
    Served served("null:,limit=1");
    ASSERT_NE(served.telemetry, nullptr);
    Telemetry::Options options;
    options.path = served.telemetry->path();
    auto second = Telemetry::open(options);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error(), EADDRINUSE);
    EXPECT_NE(second.message().find(options.path), std::string::npos);
    options.path = served.directory + "/stale.sock";
    { std::ofstream stale(options.path); }  // a file left behind by a process that died
    auto third = Telemetry::open(options);
    EXPECT_TRUE(third) << third.describe();
}
