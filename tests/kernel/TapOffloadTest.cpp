// Offloads through the tap driver: with vnet=1 a kernel TCP sender's super-packets reach the driver
// whole, described by Netbuf::offload(), and pass through another tap untouched; a tap without
// offloads still carries them (the kernel takes them as they are described).
#include "kernel/TapHarness.h"

using namespace nexnet;
using namespace nexnet::test;

namespace {

/// Two namespaces, each holding the kernel end of one tap, joined by a forwarding loop in the
/// test that looks at every frame on its way.
class TapOffloadTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        NEXNET_REQUIRE(hasProgram("iperf3"), "iperf3 is not installed");
        a_ = std::make_unique<NetworkNamespace>("offa");
        b_ = std::make_unique<NetworkNamespace>("offb");
        ASSERT_TRUE(a_->ok() && b_->ok());
    }

    void join(const std::string& optionsA, const std::string& optionsB) {
        std::string nameA = uniqueTapName("a"), nameB = uniqueTapName("b");
        tapA_ = openTap("tap:" + nameA + optionsA);
        tapB_ = openTap("tap:" + nameB + optionsB);
        ASSERT_TRUE(tapA_ && tapB_);
        ASSERT_TRUE(moveIntoNamespace(nameA, *a_, "10.79.0.1/24"));
        ASSERT_TRUE(moveIntoNamespace(nameB, *b_, "10.79.0.2/24"));
        ASSERT_EQ(setFlags(*tapA_, IFF_UP), 0);
        ASSERT_EQ(setFlags(*tapB_, IFF_UP), 0);
    }

    // Runs an iperf3 TCP transfer from A to B while forwarding both ways. @return iperf3's JSON.
    CommandResult transferAtoB() {
        ChildProcess server({"/usr/bin/ip", "netns", "exec", b_->name(), "iperf3", "-s", "-1", "-p", "5201"});
        std::atomic<bool> finished{false};
        CommandResult client;
        std::thread sender([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            client = a_->run("iperf3 -c 10.79.0.2 -p 5201 -n 16M -J", 20);
            finished = true;
        });
        pollUntil(
            [&] {
                forward(*tapA_, *tapB_, true);
                forward(*tapB_, *tapA_, false);
                return finished.load();
            },
            std::chrono::seconds(25));
        sender.join();
        return client;
    }

    void forward(TapDriver& from, TapDriver& to, bool inspect) {
        for (int turn = 0; turn < 64; ++turn) {
            Netbuf* burst[TapDriver::kBurst];
            unsigned n = from.receive(0, burst, TapDriver::kBurst);
            if (n == 0) return;
            for (unsigned i = 0; inspect && i < n; ++i) {
                const NetbufOffload& offload = burst[i]->offload();
                largest_ = std::max(largest_, burst[i]->size());
                if (burst[i]->size() > 1514 &&
                    (offload.gsoType & ~NetbufOffload::kGsoEcn) == NetbufOffload::kGsoTcpV4 &&
                    offload.needsChecksum() && offload.gsoSize > 0 && offload.gsoSize <= 1500)
                    ++superPackets_;
            }
            unsigned sent = to.send(0, burst, n);
            NetbufPool::freeToOwners(burst + sent, n - sent);
        }
    }

    std::unique_ptr<NetworkNamespace> a_, b_;
    std::unique_ptr<TapDriver> tapA_, tapB_;
    std::uint32_t largest_ = 0;
    std::uint64_t superPackets_ = 0;
};

TEST_F(TapOffloadTest, KernelTcpArrivesAsSuperPacketsWithOffloadInfoAndPassesThrough) {
    join(",vnet=1", ",vnet=1");
    ASSERT_TRUE(tapA_->receivesOffloads());
    CommandResult client = transferAtoB();
    EXPECT_EQ(client.status, 0) << client.output;
    EXPECT_GT(iperfReceivedBytes(client.output), 8u << 20) << client.output;
    EXPECT_GT(superPackets_, 0u) << "largest frame " << largest_;
    EXPECT_GT(largest_, 1514u);
    EXPECT_EQ(tapA_->inputErrors() + tapB_->outputErrors(), 0u);
}

TEST_F(TapOffloadTest, WithoutVnetTheKernelSendsOnlyCompleteMtuSizedFrames) {
    join("", "");
    EXPECT_FALSE(tapA_->receivesOffloads());
    CommandResult client = transferAtoB();
    EXPECT_EQ(client.status, 0) << client.output;
    EXPECT_GT(iperfReceivedBytes(client.output), 8u << 20) << client.output;
    EXPECT_LE(largest_, 1514u);
    EXPECT_EQ(superPackets_, 0u);
}

TEST_F(TapOffloadTest, SuperPacketsGoThroughATapWithoutOffloads) {
    join(",vnet=1", ",vnet=0");
    CommandResult client = transferAtoB();
    EXPECT_EQ(client.status, 0) << client.output;
    EXPECT_GT(iperfReceivedBytes(client.output), 8u << 20) << client.output;
    EXPECT_GT(superPackets_, 0u);
    EXPECT_EQ(tapB_->outputErrors(), 0u);
}

}  // namespace
