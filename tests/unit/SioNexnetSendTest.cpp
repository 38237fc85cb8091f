// Sends on a nexnet endpoint (sio/nexnet.h) over the null driver, which needs no privileges: the
// driver transmits the very netbuf sio_reserve handed out (its data, its device address), the
// netbuf comes back to the program when the driver is done, a second send of a buffer in flight
// goes out in a counted copy, a release during a send takes effect when the driver frees it, and
// memory from elsewhere is refused. (No allocation per send: DataPathAllocationTest.)
#include "netbuf/NetbufPool.h"
#include "netif/NetworkInterface.h"
#include "netif/OutputObserver.h"
#include "sio/core/Sockets.h"
#include "sio/nexnet.h"
#include "sio/nexnet/NexnetEndpoint.h"
#include "sio/nexnet/NexnetSocket.h"
#include "sio/nexnet/PoolMemory.h"
#include "sio/sio.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

using namespace nexnet;
using namespace nexnet::sio;

namespace {

constexpr unsigned kHeaders = 14 + 20 + 8;  // Ethernet, IPv4, UDP in front of the payload

/// Every frame the interface sends, seen before the driver takes it (the interface's thread).
/// With hold(), the first frame seen after it waits in observeOutput until release(): its netbuf
/// stays in flight meanwhile.
struct SentFrames : OutputObserver {
    std::mutex lock;
    std::condition_variable changed;
    std::vector<std::pair<const Netbuf*, const std::uint8_t*>> frames;
    bool holding = false, held = false;

    void observeOutput(NetworkInterface&, unsigned, Netbuf* const* packets, unsigned count) override {
        std::unique_lock<std::mutex> guard(lock);
        for (unsigned i = 0; i < count; ++i) {
            const std::uint8_t* f = packets[i]->data();  // UDP over IPv4 only: not the stack's ARP
            if (packets[i]->size() >= kHeaders && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17)
                frames.emplace_back(packets[i], f);
        }
        changed.notify_all();
        if (!holding) return;
        held = true;
        changed.notify_all();
        changed.wait(guard, [&] { return !holding; });
    }
    void hold() {
        std::lock_guard<std::mutex> guard(lock);
        holding = true;
    }
    bool waitHeld() {
        std::unique_lock<std::mutex> guard(lock);
        return changed.wait_for(guard, std::chrono::seconds(10), [&] { return held; });
    }
    void release() {
        std::lock_guard<std::mutex> guard(lock);
        holding = false;
        changed.notify_all();
    }
    std::size_t count() {
        std::lock_guard<std::mutex> guard(lock);
        return frames.size();
    }
    bool waitFor(std::size_t n) {
        std::unique_lock<std::mutex> guard(lock);
        return changed.wait_for(guard, std::chrono::seconds(10), [&] { return frames.size() >= n; });
    }
};

class SioNexnetSendTest : public ::testing::Test {
protected:
    void SetUp() override {
        // limit=0: the null driver receives nothing; it frees every frame it is given to send.
        fd_ = sio_nexnet_open("null:,limit=0", "10.82.0.2/24", 7300, &mem_);
        ASSERT_GE(fd_, 0) << sio_last_error();
        socket_ = Sockets::instance().acquire(fd_, false);
        ASSERT_TRUE(socket_);
        endpoint_ = dynamic_cast<NexnetSocket*>(&*socket_);
        ASSERT_NE(endpoint_, nullptr);
        endpoint_->endpoint().interface().addOutputObserver(&sent_);
        // The subnet's broadcast: sent at once, no ARP answer to wait for from the null driver.
        to_.sin_family = AF_INET;
        to_.sin_port = htons(9);
        inet_pton(AF_INET, "10.82.0.255", &to_.sin_addr);
    }
    void TearDown() override {
        sent_.release();
        if (endpoint_ != nullptr) endpoint_->endpoint().interface().removeOutputObserver(&sent_);
        socket_ = {};
        if (fd_ >= 0) {
            EXPECT_EQ(sio_close(fd_), 0) << sio_last_error();
        }
    }
    ssize_t sendTo(const void* data, std::size_t size) {
        return sio_sendto(fd_, data, size, 0, reinterpret_cast<const sockaddr*>(&to_), sizeof to_);
    }
    NetbufPool& pool() { return endpoint_->memory().driverPool(); }
    // Waits until the driver gave every lent netbuf back.
    bool allReturned() {
        for (int i = 0; i < 10000 && pool().lent() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return pool().lent() == 0;
    }

    int fd_ = -1;
    dma_mem_t mem_ = nullptr;
    HandleTable<SioSocket>::Ref socket_;
    NexnetSocket* endpoint_ = nullptr;
    SentFrames sent_;
    sockaddr_in to_{};
};

TEST_F(SioNexnetSendTest, TheDriverSendsTheReservedNetbufItselfAndGivesItBack) {
    constexpr int kBuffers = 8, kRounds = 4;
    void* buffers[kBuffers];
    for (int i = 0; i < kBuffers; ++i) {
        ASSERT_EQ(sio_reserve(mem_, &buffers[i], 256), 0) << sio_last_error();
        std::memset(buffers[i], 'a' + i, 256);
    }
    const std::uint32_t inUse = pool().inUse();
    for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kBuffers; ++i) ASSERT_EQ(sendTo(buffers[i], 100 + i), 100 + i) << sio_last_error();
        ASSERT_TRUE(sent_.waitFor(static_cast<std::size_t>((round + 1) * kBuffers)));
        ASSERT_TRUE(allReturned()) << pool().lent() << " netbufs still lent";
    }
    ASSERT_EQ(sent_.count(), static_cast<std::size_t>(kRounds * kBuffers));
    for (int k = 0; k < kRounds * kBuffers; ++k) {
        const auto& [netbuf, frame] = sent_.frames[static_cast<std::size_t>(k)];
        auto* payload = static_cast<std::uint8_t*>(buffers[k % kBuffers]);
        // The very netbuf sio_reserve handed out (so its device address: the VM test checks a VFIO
        // NIC's), the headers right in front of the program's bytes.
        EXPECT_EQ(netbuf, pool().netbufContaining(payload)) << "frame " << k;
        EXPECT_EQ(frame + kHeaders, payload) << "frame " << k;
        EXPECT_EQ(netbuf->size(), kHeaders + 100 + k % kBuffers);
    }
    EXPECT_EQ(endpoint_->memory().copiedSends(), 0u);
    // Sending took no netbuf: the reserved ones are still the program's, nothing else is in use.
    EXPECT_EQ(pool().inUse(), inUse);
    EXPECT_EQ(static_cast<std::uint8_t*>(buffers[3])[0], 'a' + 3);  // and they still hold the program's data
    for (void* buffer : buffers) EXPECT_EQ(sio_release(mem_, buffer, 256), 0) << sio_last_error();
    EXPECT_EQ(pool().inUse(), inUse - kBuffers);
}

TEST_F(SioNexnetSendTest, ASecondSendInFlightIsCopiedAndAReleaseWaitsForTheDriver) {
    void* buffer;
    ASSERT_EQ(sio_reserve(mem_, &buffer, 64), 0) << sio_last_error();
    std::memset(buffer, 'x', 64);
    Netbuf* reserved = pool().netbufContaining(buffer);
    const std::uint32_t inUse = pool().inUse();
    sent_.hold();  // the first frame stays in flight until release()
    ASSERT_EQ(sendTo(buffer, 64), 64) << sio_last_error();
    ASSERT_TRUE(sent_.waitHeld());
    EXPECT_EQ(pool().lent(), 1u);
    // The netbuf is in the driver's hands: the second send goes out of a copy, counted.
    ASSERT_EQ(sendTo(buffer, 64), 64) << sio_last_error();
    EXPECT_EQ(endpoint_->memory().copiedSends(), 1u);
    // Released while in flight: allowed, and the netbuf stays out of the pool until the driver is done.
    EXPECT_EQ(sio_release(mem_, buffer, 64), 0) << sio_last_error();
    EXPECT_EQ(sio_release(mem_, buffer, 64), -1);  // not the program's any more
    EXPECT_EQ(errno, EINVAL);
    EXPECT_GE(pool().inUse(), inUse);
    sent_.release();
    ASSERT_TRUE(sent_.waitFor(2));
    ASSERT_TRUE(allReturned());
    EXPECT_EQ(sent_.frames[0].first, reserved);
    EXPECT_NE(sent_.frames[1].first, reserved);  // the copy
    EXPECT_EQ(std::memcmp(sent_.frames[1].second + kHeaders, "xxxxxxxx", 8), 0);
    for (int i = 0; i < 1000 && pool().inUse() != inUse - 1; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(pool().inUse(), inUse - 1);  // the reserved netbuf and the copy are back in the pool
}

TEST_F(SioNexnetSendTest, MemoryFromElsewhereIsRefusedNotCopied) {
    alignas(64) char elsewhere[256] = {};
    EXPECT_EQ(sendTo(elsewhere + 128, 64), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_NE(std::string(sio_last_error()).find("sio_reserve"), std::string::npos) << sio_last_error();
    // A pointer into the pool too close to its netbuf's start for the headers: refused as well.
    void* buffer;
    ASSERT_EQ(sio_reserve(mem_, &buffer, 64), 0);
    Netbuf* netbuf = pool().netbufContaining(buffer);
    EXPECT_EQ(sendTo(netbuf->buffer() + 8, 64), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_release(mem_, buffer, 64), 0);
    EXPECT_EQ(sent_.count(), 0u);
    EXPECT_EQ(endpoint_->memory().copiedSends(), 0u);
}

// The mode is the kernel sockets' transport (io_uring or epoll): an open nexnet endpoint does
// not hold it, a kernel socket in use with the sio calls does.
TEST_F(SioNexnetSendTest, AnOpenEndpointLeavesTheKernelSocketsModeFreeToSwitch) {
    const int before = sio_mode();
    const int other = before == SIO_MODE_URING ? SIO_MODE_EPOLL : SIO_MODE_URING;
    if (sio_set_mode(other) != 0) {
        EXPECT_EQ(errno, ENOTSUP) << sio_last_error();  // io_uring cannot run here: epoll only
    } else {
        EXPECT_EQ(sio_mode(), other);
        EXPECT_EQ(sio_set_mode(before), 0) << sio_last_error();
    }
    int kernel = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(kernel, 0);
    dma_mem_t memory;
    ASSERT_EQ(dma_alloc(&memory, 1 << 20, DMA_NOHUGEPAGES), 0) << sio_last_error();
    ASSERT_EQ(dma_assoc(kernel, memory, 1 << 20, 0), 0) << sio_last_error();
    EXPECT_EQ(sio_set_mode(other), -1);
    EXPECT_EQ(errno, EBUSY) << sio_last_error();
    EXPECT_EQ(sio_close(kernel), 0) << sio_last_error();
    EXPECT_EQ(dma_free(memory, 1 << 20), 0) << sio_last_error();
    EXPECT_EQ(sio_mode(), before);
}

}  // namespace
