// Soak: forwarding between two taps under a steady load while faults come at random: either link
// flapping, the pool running dry (a consumer that stops freeing, then frees everything), and
// app-ring applications (nexnet-appring: re-injecting, holding, scribbling garbage) joining the
// receiving interface and being killed with -9 mid-burst. Afterwards nothing is lost: every
// netbuf is back in its pool, and what the forwarder handed each transmit queue is what that
// queue counted (sent, failed or dropped). Under the ASan build LeakSanitizer checks the rest.
//
// CI runs it for 3 s; `NEXNET_SOAK_SECONDS=300 build-asan/tests/SoakTest` (scripts/soak.sh) is the
// long run. NEXNET_SOAK_SEED repeats a run (the seed is printed).
#include "../unit/AppRingFixture.h"
#include "TapHarness.h"

#include "framework/EventLoop.h"
#include "netif/NetworkInterface.h"

#include <cstdio>
#include <random>

using namespace nexnet;
using namespace nexnet::test;

namespace {

// One direction of the forwarder: what its interface receives goes to the other's driver. While
// holding, it keeps every netbuf instead (the pool runs dry), and frees them when told.
struct Forwarder final : InputConsumer {
    IONetwork* to = nullptr;
    std::uint64_t received = 0, forwarded = 0, dropped = 0, released = 0;
    bool holding = false;
    std::vector<Netbuf*> held;

    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        takeRemaining(packets, count, [this](Netbuf** burst, unsigned n) {
            received += n;
            if (holding) {
                held.insert(held.end(), burst, burst + n);
                return;
            }
            unsigned sent = to->send(0, burst, n);
            if (sent < n) {
                NetbufPool::freeToOwners(burst + sent, n - sent);
                to->report(QueueEvent::transmitDrop, 0, n - sent);
            }
            forwarded += sent;
            dropped += n - sent;
        });
    }
    void release() {
        holding = false;
        released += held.size();
        NetbufPool::freeToOwners(held.data(), static_cast<unsigned>(held.size()));
        held.clear();
    }
};

double soakSeconds() {
    const char* text = std::getenv("NEXNET_SOAK_SECONDS");
    return text != nullptr && std::atof(text) > 0 ? std::atof(text) : 3.0;
}

unsigned soakSeed() {
    const char* text = std::getenv("NEXNET_SOAK_SEED");
    return text != nullptr ? static_cast<unsigned>(std::strtoul(text, nullptr, 10)) : std::random_device{}();
}

class SoakTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        NEXNET_REQUIRE(std::filesystem::exists(appRingProgram()), "nexnet-appring is not built");
        ns_ = std::make_unique<NetworkNamespace>("soak");
        ASSERT_TRUE(ns_->ok());
        loop_ = std::move(EventLoop::create().value());
        const char* addresses[2] = {"10.83.0.1/24", "10.83.1.1/24"};
        for (int i = 0; i < 2; ++i) {
            names_[i] = uniqueTapName(i == 0 ? "sa" : "sb");
            auto tap = openTap("tap:" + names_[i] + ",pool=512");
            ASSERT_NE(tap, nullptr);
            interfaces_[i] = std::make_unique<NetworkInterface>(std::move(tap));
            ASSERT_TRUE(moveIntoNamespace(names_[i], *ns_, addresses[i]));
            ASSERT_EQ(interfaces_[i]->setUp(), 0);
        }
        for (int i = 0; i < 2; ++i) {
            forwarders_[i].to = &interfaces_[1 - i]->driver();
            interfaces_[i]->addInputConsumer(&forwarders_[i], 100);
            ASSERT_TRUE(interfaces_[i]->attach(*loop_, NetworkInterface::Mode::interrupt));
        }
        path_ = appRingSocketPath();
        server_ = std::move(AppRingServer::create(*loop_, path_).value());
        ASSERT_EQ(server_->addInterface(*interfaces_[0]), 0);
    }
    void TearDown() override {
        applications_.clear();  // killed and reaped
        if (loop_ != nullptr) runFor(std::chrono::milliseconds(50));
        server_.reset();
        for (int i = 0; i < 2; ++i) {
            forwarders_[i].release();
            if (interfaces_[i] == nullptr) continue;
            interfaces_[i]->detach();
            interfaces_[i]->removeInputConsumer(&forwarders_[i]);
            interfaces_[i].reset();
        }
        if (ns_ != nullptr)
            for (const std::string& name : names_) ns_->run("ip link del " + name + " 2>/dev/null");
    }

    void runFor(std::chrono::milliseconds time) {
        auto end = std::chrono::steady_clock::now() + time;
        while (std::chrono::steady_clock::now() < end) loop_->runOnce(std::chrono::milliseconds(5));
    }
    TapDriver& tap(int i) { return static_cast<TapDriver&>(interfaces_[i]->driver()); }

    std::unique_ptr<NetworkNamespace> ns_;
    std::string names_[2];
    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<NetworkInterface> interfaces_[2];
    Forwarder forwarders_[2];
    std::string path_;
    std::unique_ptr<AppRingServer> server_;
    std::vector<std::unique_ptr<AppProcess>> applications_;
};

TEST_F(SoakTest, ForwardingThroughFlapsDryPoolsAndDyingApplicationsLosesNothing) {
    const unsigned seed = soakSeed();
    std::printf("soak: %.0f s, NEXNET_SOAK_SEED=%u\n", soakSeconds(), seed);
    std::mt19937 random(seed);
    KernelFlood flood(*ns_, names_[0]);
    runFor(std::chrono::milliseconds(300));
    ASSERT_GT(forwarders_[0].forwarded, 0u) << "traffic does not flow";

    unsigned flaps = 0, droughts = 0, joined = 0, killed = 0, refused = 0;
    const AppProcess* creator = nullptr;  // the application whose rx intercept made the rings
    // Applications that ended by themselves leave the list: a garbage writer done, or one refused
    // (counted: the rings may be going with their creator as it joins).
    auto reap = [&] {
        std::erase_if(applications_, [&](const std::unique_ptr<AppProcess>& a) {
            if (!a->ended()) return false;
            if (a->exitStatus() != 0) ++refused;
            if (a.get() == creator) creator = nullptr;
            return true;
        });
    };
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(soakSeconds());
    while (std::chrono::steady_clock::now() < end) {
        switch (random() % 5) {
        case 0: {  // a link flaps on the kernel's side
            const std::string& name = names_[random() % 2];
            ns_->run("ip link set " + name + " down");
            runFor(std::chrono::milliseconds(20 + random() % 80));
            ns_->run("ip link set " + name + " up");
            ++flaps;
            break;
        }
        case 1: {  // the pool runs dry for a while
            Forwarder& forwarder = forwarders_[0];
            forwarder.holding = true;
            runFor(std::chrono::milliseconds(50 + random() % 150));
            forwarder.release();
            ++droughts;
            break;
        }
        case 2:
        case 3: {  // an application joins
            reap();
            if (applications_.size() >= 3) break;
            static const std::vector<std::vector<std::string>> kinds = {
                {"reinject"}, {"hold", "--hold", "64"}, {"garbage", "--seconds", "0.3"}};
            const auto& kind = kinds[random() % kinds.size()];
            // One makes the rings (rx intercept) while none has them, the others join them.
            std::vector<std::string> arguments{path_, interfaces_[0]->name(), creator == nullptr ? "rx" : "join"};
            arguments.insert(arguments.end(), kind.begin(), kind.end());
            applications_.push_back(std::make_unique<AppProcess>(arguments));
            if (creator == nullptr) creator = applications_.back().get();
            ++joined;
            break;
        }
        default:  // one dies mid-burst
            if (applications_.empty()) break;
            std::size_t victim = random() % applications_.size();
            if (applications_[victim].get() == creator) creator = nullptr;
            applications_[victim]->stop(SIGKILL);
            applications_.erase(applications_.begin() + static_cast<std::ptrdiff_t>(victim));
            ++killed;
            break;
        }
        runFor(std::chrono::milliseconds(20 + random() % 100));
    }
    applications_.clear();
    runFor(std::chrono::milliseconds(300));  // the server reclaims what the dead held (pidfd)
    std::printf(
        "soak: %u flaps, %u dry pools, %u applications started (%u refused), %u killed; A->B received %llu "
        "forwarded %llu\n",
        flaps, droughts, joined, refused, killed, static_cast<unsigned long long>(forwarders_[0].received),
        static_cast<unsigned long long>(forwarders_[0].forwarded));

    // Traffic still flows once the faults stop.
    std::uint64_t before = forwarders_[0].forwarded;
    for (int i = 0; i < 100 && forwarders_[0].forwarded < before + 50; ++i) runFor(std::chrono::milliseconds(50));
    EXPECT_GE(forwarders_[0].forwarded, before + 50) << "forwarding did not resume";

    // Every frame a forwarder took is accounted for: forwarded, dropped or released.
    for (int i = 0; i < 2; ++i) {
        const Forwarder& f = forwarders_[i];
        EXPECT_EQ(f.received, f.forwarded + f.dropped + f.released + f.held.size()) << "direction " << i;
        const IONetwork& out = interfaces_[1 - i]->driver();
        EXPECT_EQ(out.outputPackets() + out.outputErrors(), f.forwarded) << "direction " << i;
        EXPECT_EQ(out.outputDrops(), f.dropped) << "direction " << i;
    }
    // Every netbuf back in its pool once the rings, the forwarders and the drivers are gone.
    std::shared_ptr<NetbufPool> pools[2] = {tap(0).sharedPool(), tap(1).sharedPool()};
    server_.reset();
    for (int i = 0; i < 2; ++i) {
        interfaces_[i]->detach();
        interfaces_[i]->removeInputConsumer(&forwarders_[i]);
        forwarders_[i].release();
        interfaces_[i].reset();
    }
    EXPECT_EQ(pools[0]->inUse(), 0u) << "netbufs of A lost";
    EXPECT_EQ(pools[1]->inUse(), 0u) << "netbufs of B lost";
}

}  // namespace
