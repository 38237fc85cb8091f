// TcpSendQueue: the kernel's bytes then the application's buffers, read at any sequence number,
// completed in order once acknowledged, drained at hand-back.
#include "toe/TcpSendQueue.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <numeric>
#include <vector>

namespace nexnet {
namespace {

constexpr std::uint32_t kStart = 0xffffff00u;  // across the wrap of sequence space

TEST(TcpSendQueueTest, ReadsAcrossTheKernelsBytesAndTheApplicationsBuffers) {
    std::vector<std::uint8_t> stream(1000);
    std::iota(stream.begin(), stream.end(), 0);
    TcpSendQueue queue(kStart);
    queue.adopt(std::vector<std::uint8_t>(stream.begin(), stream.begin() + 100));
    ASSERT_EQ(queue.post(stream.data() + 100, 400, 1), 0);
    ASSERT_EQ(queue.post(stream.data() + 500, 500, 2), 0);
    EXPECT_EQ(queue.size(), 1000u);
    EXPECT_EQ(queue.end(), kStart + 1000);
    EXPECT_EQ(queue.posted(), 2u);
    std::vector<std::uint8_t> out(1000);
    EXPECT_EQ(queue.copy(kStart + 50, out.data(), 600), 600u);  // spans all three
    EXPECT_TRUE(std::equal(out.begin(), out.begin() + 600, stream.begin() + 50));
    EXPECT_EQ(queue.copy(kStart + 900, out.data(), 600), 100u);  // the end
}

TEST(TcpSendQueueTest, CompletesApplicationBuffersOnceWhollyAcknowledged) {
    std::vector<std::uint8_t> bytes(300, 7);
    TcpSendQueue queue(kStart);
    queue.adopt(std::vector<std::uint8_t>(50, 1));
    queue.post(bytes.data(), 100, 10);
    queue.post(bytes.data() + 100, 200, 20);
    std::vector<std::uint64_t> done;
    auto record = [&](const TcpSendQueue::Buffer& buffer) { done.push_back(buffer.cookie); };
    queue.acknowledge(kStart + 149, record);
    EXPECT_TRUE(done.empty());  // the kernel's bytes complete nothing; the first buffer lacks a byte
    queue.acknowledge(kStart + 150, record);
    EXPECT_EQ(done, (std::vector<std::uint64_t>{10}));
    std::vector<std::uint8_t> out(10);
    EXPECT_EQ(queue.copy(kStart + 150, out.data(), 10), 10u);
    EXPECT_EQ(out[0], 7);
    queue.acknowledge(kStart + 351, record);  // past the end (a FIN): clamped
    EXPECT_EQ(done, (std::vector<std::uint64_t>{10, 20}));
    EXPECT_EQ(queue.size(), 0u);
    EXPECT_EQ(queue.start(), kStart + 350);
}

TEST(TcpSendQueueTest, RefusesEmptyBuffersAndMoreThanItHolds) {
    std::uint8_t byte = 0;
    TcpSendQueue queue(kStart);
    EXPECT_EQ(queue.post(&byte, 0, 0), EINVAL);
    EXPECT_EQ(queue.post(nullptr, 1, 0), EINVAL);
    for (unsigned i = 0; i < TcpSendQueue::kMaxPosted; ++i) ASSERT_EQ(queue.post(&byte, 1, i), 0);
    EXPECT_EQ(queue.post(&byte, 1, 0), ENOBUFS);
}

TEST(TcpSendQueueTest, DrainGivesEveryByteAndCompletesEveryBuffer) {
    std::vector<std::uint8_t> bytes(100);
    std::iota(bytes.begin(), bytes.end(), 0);
    TcpSendQueue queue(kStart);
    queue.adopt(std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + 10));
    queue.post(bytes.data() + 10, 90, 5);
    queue.acknowledge(kStart + 20, [](const TcpSendQueue::Buffer&) {});
    std::vector<std::uint8_t> out;
    unsigned completed = 0;
    queue.drain(out, [&](const TcpSendQueue::Buffer&) { ++completed; });
    EXPECT_EQ(out, std::vector<std::uint8_t>(bytes.begin() + 20, bytes.end()));
    EXPECT_EQ(completed, 1u);
    EXPECT_EQ(queue.size(), 0u);
    EXPECT_EQ(queue.start(), kStart + 100);
}

}  // namespace
}  // namespace nexnet
