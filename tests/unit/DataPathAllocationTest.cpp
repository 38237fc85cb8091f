// No heap allocation on the data path: a million packets forwarded null: -> null: in bursts of
// 32, and sio sends on a nexnet endpoint over null:, counting every operator new in this test
// binary (on every thread).
#include "drivers/BuiltinDrivers.h"
#include "framework/IOEthernet.h"
#include "netif/NetworkInterface.h"
#include "netif/netif.h"
#include "sio/nexnet.h"
#include "sio/sio.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

namespace {

std::atomic<bool> gCounting{false};
std::atomic<std::uint64_t> gAllocations{0};

void* allocate(std::size_t size, std::size_t alignment = 0) {
    if (gCounting.load(std::memory_order_relaxed)) gAllocations.fetch_add(1, std::memory_order_relaxed);
    if (size == 0) size = 1;
    void* p = nullptr;
    if (alignment > alignof(std::max_align_t)) {
        if (posix_memalign(&p, alignment, size) != 0) p = nullptr;
    } else {
        p = std::malloc(size);
    }
    return p;
}

}  // namespace

// Every replaceable allocation function of the binary, so nothing escapes the count.
void* operator new(std::size_t size) {
    if (void* p = allocate(size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new(std::size_t size, std::align_val_t alignment) {
    if (void* p = allocate(size, static_cast<std::size_t>(alignment))) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) { return operator new(size, alignment); }
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    return allocate(size, static_cast<std::size_t>(alignment));
}
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    return allocate(size, static_cast<std::size_t>(alignment));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace nexnet {
namespace {

constexpr std::uint64_t kPackets = 1'000'000;
constexpr unsigned kBurst = 32;

std::unique_ptr<IONetwork> openUp(const char* uri) {
    auto driver = builtinDrivers().open(uri);
    EXPECT_TRUE(driver.ok()) << driver.error();
    if (!driver) return nullptr;
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    EXPECT_EQ(driver.value()->performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru), 0);
    return std::move(driver.value());
}

// Forwards @p packets from @p rx to @p tx in bursts; returns how many were forwarded.
std::uint64_t forward(IONetwork& rx, IONetwork& tx, std::uint64_t packets) {
    Netbuf* burst[kBurst];
    std::uint64_t forwarded = 0;
    while (forwarded < packets) {
        unsigned n = rx.receive(0, burst, kBurst);
        unsigned sent = tx.send(0, burst, n);
        if (sent < n) NetbufPool::freeToOwners(burst + sent, n - sent);
        forwarded += sent;
        if (n == 0) break;  // the source stopped: the test fails on the count, not by hanging
    }
    return forwarded;
}

TEST(DataPathAllocation, CountingSeesAnAllocation) {
    gAllocations = 0;
    gCounting = true;
    auto* p = new int(1);
    gCounting = false;
    delete p;
    EXPECT_EQ(gAllocations.load(), 1u);  // the counter itself works
}

TEST(DataPathAllocation, AMillionPacketsNullToNullInBurstsOf32AllocateNothing) {
    auto rx = openUp("null:");
    auto tx = openUp("null:");
    ASSERT_TRUE(rx && tx);
    ASSERT_EQ(forward(*rx, *tx, 100 * kBurst), 100 * kBurst);  // warm up: thread caches are made here
    gAllocations = 0;
    gCounting = true;
    std::uint64_t forwarded = forward(*rx, *tx, kPackets);
    gCounting = false;
    EXPECT_EQ(forwarded, kPackets);
    EXPECT_EQ(gAllocations.load(), 0u);
    EXPECT_EQ(rx->pool()->inUse(), 0u);
    EXPECT_EQ(tx->outputPackets(), kPackets + 100 * kBurst);
}

// The same through two NetworkInterfaces: poll, input dispatch to a consumer, outputBurst.
class Forwarder : public InputConsumer {
public:
    explicit Forwarder(NetworkInterface& out) : out_(out) {}
    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        out_.outputBurst(packets, count);
        for (unsigned i = 0; i < count; ++i) packets[i] = nullptr;  // taken: outputBurst owns them
    }

private:
    NetworkInterface& out_;
};

TEST(DataPathAllocation, AMillionPacketsThroughNetworkInterfacesAllocateNothing) {
    NetworkInterface in(openUp("null:"));
    NetworkInterface out(openUp("null:"));
    Forwarder forwarder(out);
    in.addInputConsumer(&forwarder);
    for (int i = 0; i < 100; ++i) in.poll();
    gAllocations = 0;
    gCounting = true;
    std::uint64_t polled = 0;
    while (polled < kPackets) {
        unsigned n = in.poll();
        if (n == 0) break;
        polled += n;
    }
    gCounting = false;
    EXPECT_GE(polled, kPackets);
    EXPECT_EQ(gAllocations.load(), 0u);
    EXPECT_EQ(in.driver().pool()->inUse(), 0u);
    in.removeInputConsumer(&forwarder);
}

// sio_sendto on a nexnet endpoint hands the driver the reserved netbuf itself: no wrapper, no
// queue growth, nothing allocated per send on the program's thread or the interface's.
TEST(DataPathAllocation, SioSendsOnANexnetEndpointAllocateNothing) {
    dma_mem_t mem;
    int fd = sio_nexnet_open("null:,limit=0", "10.82.1.2/24", 7301, &mem);
    ASSERT_GE(fd, 0) << sio_last_error();
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    inet_pton(AF_INET, "10.82.1.255", &to.sin_addr);  // broadcast: no ARP to wait for
    constexpr int kBuffers = 32, kRounds = 2000;
    void* buffers[kBuffers];
    for (auto& buffer : buffers) {
        ASSERT_EQ(sio_reserve(mem, &buffer, 64), 0) << sio_last_error();
        std::memset(buffer, 's', 64);
    }
    dma_info info{};
    ASSERT_EQ(dma_getinfo(mem, &info), 0);
    // Each round waits until the driver gave every netbuf back (the pool's free count returns to
    // where it was), so no send finds its buffer still in flight (that one would be copied).
    auto sendRound = [&] {
        for (void* buffer : buffers)
            if (sio_sendto(fd, buffer, 64, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) != 64) return false;
        for (int i = 0; i < 10000; ++i) {
            dma_info now{};
            dma_getinfo(mem, &now);
            if (now.di_free == info.di_free) return true;
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
        return false;
    };
    for (int r = 0; r < 10; ++r) ASSERT_TRUE(sendRound()) << sio_last_error();  // warm up: thread caches
    gAllocations = 0;
    gCounting = true;
    int rounds = 0;
    while (rounds < kRounds && sendRound()) ++rounds;
    gCounting = false;
    EXPECT_EQ(rounds, kRounds) << sio_last_error();
    EXPECT_EQ(gAllocations.load(), 0u) << "allocations in " << rounds * kBuffers << " sends";
    for (void* buffer : buffers) EXPECT_EQ(sio_release(mem, buffer, 64), 0);
    EXPECT_EQ(sio_close(fd), 0) << sio_last_error();
}

}  // namespace
}  // namespace nexnet
