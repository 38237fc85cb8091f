// The stack's side of TCP offload with kernel peers: the engine's capabilities recorded in the
// interface's structure (seed claim 11), and the policy that offloads a connection once its
// heuristic says it is worth it (claim 7). Topology: TcpOffloadHarness.h.
#include "TcpOffloadHarness.h"

#include "toe/TcpOffloadPolicy.h"

#include <cerrno>

using namespace nexnet;
using namespace nexnet::test;

namespace {

class TcpOffloadStackTest : public TcpOffloadHarness {
protected:
    std::unique_ptr<TcpOffloadPolicy> makePolicy(bool enabled) {
        TcpOffloadPolicy::Options options;
        options.enabled = enabled;
        options.bulkBytes = 512 * 1024;
        auto policy = TcpOffloadPolicy::create(*wire_, *engine_, *loop_, options);
        EXPECT_TRUE(policy) << policy.describe();
        return policy ? std::move(policy.value()) : nullptr;
    }
    // Reads the kernel socket (checking the stream from @p at) until @p done; returns the bytes read.
    std::uint64_t readKernelUntil(std::uint64_t at, const std::function<bool(std::uint64_t)>& done) {
        std::vector<std::uint8_t> buffer(64 * 1024);
        std::uint64_t got = 0;
        pump([&] {
            if (kernel_ >= 0) {
                ssize_t n = recv(kernel_, buffer.data(), buffer.size(), 0);
                if (n > 0) {
                    EXPECT_EQ(firstWrongByte(buffer.data(), static_cast<std::size_t>(n), at + got),
                              static_cast<std::size_t>(n));
                    got += static_cast<std::uint64_t>(n);
                }
            }
            return done(got);
        });
        return got;
    }
};

TEST_F(TcpOffloadStackTest, TheInterfaceRecordsTheEnginesCapabilitiesWhileItRuns) {
    const TcpOffloadCapabilities* recorded = wire_->tcpOffload();
    ASSERT_NE(recorded, nullptr);
    TcpOffloadCapabilities asked = engine_->capabilities();
    EXPECT_EQ(recorded->maxConnections, asked.maxConnections);
    EXPECT_EQ(recorded->maxPostedBuffers, asked.maxPostedBuffers);
    EXPECT_EQ(recorded->maxMss, asked.maxMss);
    EXPECT_EQ(recorded->receivePlacement, asked.receivePlacement);
    EXPECT_EQ(recorded->send, asked.send);
    EXPECT_EQ(bridge_->host().tcpOffload(), nullptr);  // the kernel's side carries no engine
    ::close(kernel_);                                  // the engine resets what it carries when it goes: nothing here
    kernel_ = -1;
    engine_.reset();
    EXPECT_EQ(wire_->tcpOffload(), nullptr);
}

TEST_F(TcpOffloadStackTest, ThePolicyIsOffByDefaultAndWatchesNothing) {
    auto policy = makePolicy(false);
    ASSERT_NE(policy, nullptr);
    EXPECT_EQ(policy->watch(kernel_, nullptr), EPERM);
    peerSends(0, 2u << 20, true);
    EXPECT_EQ(readKernelUntil(0, [](std::uint64_t got) { return got == 2u << 20; }), 2u << 20);
    EXPECT_EQ(engine_->statistics().offloaded, 0u);
    EXPECT_EQ(policy->statistics().considered, 0u);
}

TEST_F(TcpOffloadStackTest, ThePolicyOffloadsABulkTransferByItself) {
    constexpr std::size_t kTotal = 16u << 20;
    auto policy = makePolicy(true);
    ASSERT_NE(policy, nullptr);
    TcpOffloadHandle offloaded;
    ASSERT_EQ(policy->watch(kernel_,
                            [&](int fd, TcpOffloadHandle handle) {
                                EXPECT_EQ(fd, kernel_);
                                offloaded = handle;
                            }),
              0);
    EXPECT_EQ(policy->watch(kernel_, nullptr), EALREADY);
    peerSends(0, kTotal, true);
    // The application reads through the kernel until the policy takes the connection over.
    std::uint64_t inKernel = readKernelUntil(0, [&](std::uint64_t) { return static_cast<bool>(offloaded); });
    ASSERT_TRUE(offloaded);
    kernel_ = -1;  // the engine's placeholder now
    EXPECT_EQ(policy->statistics().considered, 1u);
    EXPECT_EQ(policy->statistics().offloaded, 1u);
    EXPECT_EQ(policy->watching(), 0u);
    EXPECT_EQ(engine_->statistics().offloaded, 1u);
    Received received = receiveThroughEngine(offloaded, inKernel, 8, 1u << 20,
                                             [](const Received& r) { return r.endOfStream || r.error != 0; });
    EXPECT_FALSE(received.corrupt);
    EXPECT_TRUE(received.endOfStream);
    EXPECT_EQ(inKernel + received.bytes, kTotal);  // the kernel's unread bytes came first, nothing lost
    EXPECT_GT(received.bytes, kTotal / 2);         // most of the bulk went through the engine
    EXPECT_EQ(engine_->close(offloaded), 0);
}

TEST_F(TcpOffloadStackTest, ThePolicyLeavesAShortExchangeToTheKernel) {
    auto policy = makePolicy(true);
    ASSERT_NE(policy, nullptr);
    bool offloaded = false;
    ASSERT_EQ(policy->watch(kernel_, [&](int, TcpOffloadHandle) { offloaded = true; }), 0);
    peerSends(0, 20000, false);
    EXPECT_EQ(readKernelUntil(0, [](std::uint64_t got) { return got == 20000; }), 20000u);
    pump([] { return false; }, std::chrono::milliseconds(50));  // a decision would be due by now
    EXPECT_FALSE(offloaded);
    EXPECT_EQ(policy->statistics().considered, 0u);
    EXPECT_EQ(policy->unwatch(kernel_), 0);
    EXPECT_EQ(policy->unwatch(kernel_), ENOENT);
    EXPECT_EQ(policy->statistics().belowThreshold, 1u);
    EXPECT_EQ(policy->statistics().offloaded, 0u);
    EXPECT_EQ(engine_->statistics().offloaded, 0u);
}

TEST_F(TcpOffloadStackTest, ThePolicyRefusesAPlaceOutsideTheStackAndTheBridge) {
    TcpOffloadPolicy::Options options;
    options.priority = 100;
    EXPECT_FALSE(TcpOffloadPolicy::create(*wire_, *engine_, *loop_, options));
    options.priority = 60;
    options.bulkBytes = 0;
    EXPECT_FALSE(TcpOffloadPolicy::create(*wire_, *engine_, *loop_, options));
}

}  // namespace
