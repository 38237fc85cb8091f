// The sio/aio calls on a nexnet endpoint (sio/nexnet.h): a UDP port of a nexnet tap interface
// whose kernel end sits in a namespace made for the test (10.81.0.1), with kernel sockets there
// as the peer. sio_recv hands out the netbuf the tap driver received into (its pointer lies in
// the pool dma_getinfo describes), sends go out of netbufs without a copy in the program, poll
// works on the descriptor, aio receives complete on an event channel, and misuse is refused.
#include "TapHarness.h"

#include "netbuf/NetbufPool.h"
#include "netif/NetworkInterface.h"
#include "netif/OutputObserver.h"
#include "sio/aio.h"
#include "sio/core/Sockets.h"
#include "sio/nexnet.h"
#include "sio/nexnet/NexnetEndpoint.h"
#include "sio/nexnet/NexnetSocket.h"
#include "sio/nexnet/PoolMemory.h"
#include "sio/sio.h"

#include <arpa/inet.h>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <vector>

using namespace nexnet::test;

namespace {

constexpr unsigned short kPort = 7100;
const char* kKernelAddress = "10.81.0.1";

sockaddr_in addressOf(const char* ip, unsigned short port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    inet_pton(AF_INET, ip, &address.sin_addr);
    return address;
}

std::uint8_t patternByte(std::uint64_t sequence, std::size_t i) {
    return static_cast<std::uint8_t>((sequence * 131 + i * 7 + 1) & 0xff);
}

class SioNexnetTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        ns_ = std::make_unique<NetworkNamespace>("sionx");
        ASSERT_TRUE(ns_->ok());
        tap_ = uniqueTapName("s");
        fd_ = sio_nexnet_open(("tap:" + tap_).c_str(), "10.81.0.2/24", kPort, &mem_);
        ASSERT_GE(fd_, 0) << sio_last_error();
        ASSERT_TRUE(moveIntoNamespace(tap_, *ns_, std::string(kKernelAddress) + "/24"));
        ASSERT_EQ(dma_getinfo(mem_, &pool_), 0) << sio_last_error();
        peer_ = ns_->openSocket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in address = addressOf(kKernelAddress, 7200);
        ASSERT_EQ(bind(peer_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        timeval timeout{5, 0};
        setsockopt(peer_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    }
    void TearDown() override {
        if (peer_ >= 0) close(peer_);
        if (fd_ >= 0) {
            EXPECT_EQ(sio_close(fd_), 0);
        }
    }
    void sendFromKernel(const void* data, std::size_t size) {
        sockaddr_in to = addressOf("10.81.0.2", kPort);
        ASSERT_EQ(sendto(peer_, data, size, 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
                  static_cast<ssize_t>(size));
    }
    bool inPool(const void* p, std::size_t size) const {
        auto* start = static_cast<const std::uint8_t*>(pool_.di_addr);
        auto* q = static_cast<const std::uint8_t*>(p);
        return q >= start && q + size <= start + pool_.di_size;
    }

    std::unique_ptr<NetworkNamespace> ns_;
    std::string tap_;
    int fd_ = -1;
    int peer_ = -1;
    dma_mem_t mem_ = nullptr;
    dma_info pool_{};
};

TEST_F(SioNexnetTest, EchoAnswersEveryDatagramInOrderFromTheNetbufTheDriverFilled) {
    constexpr std::uint64_t kCount = 2000;
    constexpr std::size_t kSize = 1472, kWindow = 32;
    std::atomic<std::uint64_t> outsidePool{0};
    std::thread echo([&] {
        for (std::uint64_t i = 0; i < kCount; ++i) {
            void* data;
            sockaddr_in from{};
            socklen_t fromLength = sizeof from;
            ssize_t n = sio_recvfrom(fd_, &data, 2048, 0, reinterpret_cast<sockaddr*>(&from), &fromLength);
            if (n <= 0) return;  // the stop datagram
            if (!inPool(data, static_cast<std::size_t>(n))) ++outsidePool;
            sio_sendto(fd_, data, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), fromLength);
            sio_release(mem_, data, static_cast<std::size_t>(n));
        }
    });
    std::vector<std::uint8_t> out(kSize), in(kSize + 16);
    std::uint64_t sent = 0, answered = 0;
    while (answered < kCount) {
        while (sent < kCount && sent - answered < kWindow) {
            std::memcpy(out.data(), &sent, sizeof sent);
            for (std::size_t i = sizeof sent; i < kSize; ++i) out[i] = patternByte(sent, i);
            sendFromKernel(out.data(), kSize);
            ++sent;
        }
        ssize_t n = recv(peer_, in.data(), in.size(), 0);
        std::uint64_t sequence = ~0ull;
        if (n >= 8) std::memcpy(&sequence, in.data(), sizeof sequence);
        if (n != static_cast<ssize_t>(kSize) || sequence != answered) break;  // lost (timeout), reordered, cut
        bool intact = true;
        for (std::size_t i = sizeof sequence; i < kSize && intact; ++i) intact = in[i] == patternByte(sequence, i);
        if (!intact) break;
        ++answered;
    }
    if (answered < kCount) sendFromKernel("", 0);
    echo.join();
    EXPECT_EQ(answered, kCount);
    EXPECT_EQ(outsidePool, 0u) << "sio_recvfrom returned pointers outside the driver's pool";
}

TEST_F(SioNexnetTest, PollSaysWhenADatagramWaits) {
    pollfd descriptor{fd_, POLLIN, 0};
    EXPECT_EQ(poll(&descriptor, 1, 0), 0);
    sendFromKernel("ready", 5);
    ASSERT_EQ(poll(&descriptor, 1, 5000), 1);
    EXPECT_TRUE(descriptor.revents & POLLIN);
    void* data;
    ASSERT_EQ(sio_recv(fd_, &data, 2048, MSG_DONTWAIT), 5) << sio_last_error();
    EXPECT_EQ(std::memcmp(data, "ready", 5), 0);
    EXPECT_TRUE(inPool(data, 5));
    EXPECT_EQ(sio_release(mem_, data, 5), 0) << sio_last_error();
    EXPECT_EQ(sio_recv(fd_, &data, 2048, MSG_DONTWAIT), -1);
    EXPECT_EQ(errno, EAGAIN);
}

TEST_F(SioNexnetTest, ReservedNetbufsGoOutWithoutACopyAndMisuseIsRefused) {
    // sio_reserve: payload space of a netbuf with headroom for the headers, in the pool.
    void* buffer;
    ASSERT_EQ(sio_reserve(mem_, &buffer, 1000), 0) << sio_last_error();
    EXPECT_TRUE(inPool(buffer, 1000));
    std::memset(buffer, 'r', 1000);
    sockaddr_in to = addressOf(kKernelAddress, 7200);
    ASSERT_EQ(sio_sendto(fd_, buffer, 1000, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 1000) << sio_last_error();
    // Released while the interface may still be sending it: allowed, effective when it is done.
    EXPECT_EQ(sio_release(mem_, buffer, 1000), 0) << sio_last_error();
    std::vector<char> in(2048);
    ASSERT_EQ(recv(peer_, in.data(), in.size(), 0), 1000);
    EXPECT_EQ(in[0], 'r');
    EXPECT_EQ(in[999], 'r');

    // A second release, a buffer from nowhere, a send of a released buffer: refused.
    EXPECT_EQ(sio_release(mem_, buffer, 1000), -1);
    EXPECT_EQ(errno, EINVAL);
    char elsewhere[64];
    EXPECT_EQ(sio_release(mem_, elsewhere, sizeof elsewhere), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_sendto(fd_, buffer, 100, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_sendto(fd_, elsewhere, sizeof elsewhere, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), -1);
    EXPECT_EQ(errno, EINVAL);

    // No destination, more than the netbuf holds.
    ASSERT_EQ(sio_reserve(mem_, &buffer, 100), 0);
    EXPECT_EQ(sio_send(fd_, buffer, 100, 0), -1);
    EXPECT_EQ(errno, EDESTADDRREQ);
    EXPECT_EQ(sio_release(mem_, buffer, 100), 0);
    void* huge;
    EXPECT_EQ(sio_reserve(mem_, &huge, 1 << 20), -1);
    EXPECT_EQ(errno, ENOMEM);

    // The pool is the endpoint's: other memory is not associated, the pool is not freed.
    dma_mem_t other;
    ASSERT_EQ(dma_alloc(&other, 1 << 20, DMA_NOHUGEPAGES), 0);
    EXPECT_EQ(dma_assoc(fd_, other, 1 << 20, 0), -1);
    EXPECT_EQ(errno, ENOTSUP);
    EXPECT_EQ(dma_free(other, 1 << 20), 0);
    EXPECT_EQ(dma_free(mem_, pool_.di_size), -1);
    EXPECT_EQ(errno, EBUSY);
    EXPECT_EQ(dma_find(pool_.di_addr), mem_);
}

// The netbufs the interface sends to the kernel (UDP only), seen before the tap driver takes them.
struct SentNetbufs : nexnet::OutputObserver {
    std::mutex lock;
    std::vector<std::pair<const nexnet::Netbuf*, const std::uint8_t*>> frames;
    void observeOutput(nexnet::NetworkInterface&, unsigned, nexnet::Netbuf* const* packets, unsigned count) override {
        std::lock_guard<std::mutex> guard(lock);
        for (unsigned i = 0; i < count; ++i) {
            const std::uint8_t* f = packets[i]->data();
            if (packets[i]->size() >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17)
                frames.emplace_back(packets[i], f);
        }
    }
};

TEST_F(SioNexnetTest, ASendIsTheReservedNetbufItselfAndItComesBackToTheProgram) {
    auto socket = nexnet::sio::Sockets::instance().acquire(fd_, false);
    ASSERT_TRUE(socket);
    auto* endpoint = dynamic_cast<nexnet::sio::NexnetSocket*>(&*socket);
    ASSERT_NE(endpoint, nullptr);
    nexnet::NetbufPool& pool = endpoint->memory().driverPool();
    SentNetbufs sent;
    endpoint->endpoint().interface().addOutputObserver(&sent);
    void* buffer;
    ASSERT_EQ(sio_reserve(mem_, &buffer, 1200), 0) << sio_last_error();
    sockaddr_in to = addressOf(kKernelAddress, 7200);
    constexpr int kSends = 20;
    int arrived = 0;
    for (int i = 0; i < kSends; ++i) {
        auto* bytes = static_cast<std::uint8_t*>(buffer);
        for (std::size_t k = 0; k < 1200; ++k) bytes[k] = patternByte(static_cast<std::uint64_t>(i), k);
        ASSERT_EQ(sio_sendto(fd_, buffer, 1200, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 1200)
            << sio_last_error();
        std::vector<std::uint8_t> in(2048);
        ssize_t n = recv(peer_, in.data(), in.size(), 0);
        arrived += n == 1200 && std::memcmp(in.data(), buffer, 1200) == 0;
        // The driver gives the netbuf back once written to the tap: then the buffer is the program's
        // to fill again (a send while it is still in flight would go out in a copy).
        for (int w = 0; w < 5000 && pool.lent() != 0; ++w) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ASSERT_EQ(pool.lent(), 0u);
    }
    endpoint->endpoint().interface().removeOutputObserver(&sent);
    EXPECT_EQ(arrived, kSends);
    ASSERT_EQ(sent.frames.size(), static_cast<std::size_t>(kSends));
    for (const auto& [netbuf, frame] : sent.frames) {
        EXPECT_EQ(netbuf, pool.netbufContaining(buffer));  // the reserved netbuf, not a wrapper or a copy
        EXPECT_EQ(frame + 42, buffer);                     // its headers built in its headroom
    }
    EXPECT_EQ(endpoint->memory().copiedSends(), 0u);
    EXPECT_EQ(sio_release(mem_, buffer, 1200), 0) << sio_last_error();
}

TEST_F(SioNexnetTest, AioReceivesCompleteOnAnEventChannelInOrder) {
    ec_t ec = ec_create(0);
    ASSERT_NE(ec, nullptr);
    constexpr int kPosted = 8;
    std::vector<sio_aiocb> cbs(kPosted);
    std::vector<sockaddr_in> from(kPosted);
    std::vector<socklen_t> fromLength(kPosted, sizeof(sockaddr_in));
    for (int i = 0; i < kPosted; ++i) {
        cbs[i] = sio_aiocb{};
        cbs[i].aio_fildes = fd_;
        cbs[i].aio_nbytes = 2048;
        cbs[i].aio_dma_buf = mem_;
        cbs[i].aio_sigevent.sigev_notify = SIGEV_EC;
        cbs[i].aio_sigevent.sigev_ec = ec;
        ASSERT_EQ(aio_recvfrom(&cbs[i], AIO_DMA_BUF, reinterpret_cast<sockaddr*>(&from[i]), &fromLength[i]), 0)
            << sio_last_error();
    }
    for (int i = 0; i < kPosted; ++i) {
        char text[16];
        int length = std::snprintf(text, sizeof text, "aio%d", i);
        sendFromKernel(text, static_cast<std::size_t>(length));
    }
    std::vector<event_data_t> events;
    while (events.size() < kPosted) {
        event_data_t batch[kPosted];
        int n = ec_next_events(ec, batch, kPosted, 5000);
        ASSERT_GT(n, 0) << "no event within 5 s";
        events.insert(events.end(), batch, batch + n);
    }
    for (int i = 0; i < kPosted; ++i) {
        EXPECT_EQ(events[i].ev_un.ev_aio, &cbs[i]);  // pre-posted receives complete in order
        char text[16];
        int length = std::snprintf(text, sizeof text, "aio%d", i);
        ASSERT_EQ(sio_aio_return(&cbs[i]), length);
        EXPECT_EQ(std::memcmp(const_cast<void*>(cbs[i].aio_buf), text, static_cast<std::size_t>(length)), 0);
        EXPECT_TRUE(inPool(const_cast<void*>(cbs[i].aio_buf), static_cast<std::size_t>(length)));
        EXPECT_EQ(from[i].sin_port, htons(7200));
        EXPECT_EQ(sio_release(mem_, const_cast<void*>(cbs[i].aio_buf), static_cast<std::size_t>(length)), 0);
    }
    EXPECT_EQ(ec_destroy(ec), 0) << sio_last_error();
}

TEST(SioNexnetSample, EchoSampleAnswersOnATapInBothOfItsModes) {
    NEXNET_REQUIRE_KERNEL_PEER();
    const std::string sample = std::string(NEXNET_BINARY_DIR) + "/samples/sioecho/nexnet-sio-echo";
    NEXNET_REQUIRE(std::filesystem::exists(sample), "nexnet-sio-echo is not built (samples/sioecho)");
    for (const char* mode : {"sync", "aio"}) {
        NetworkNamespace ns("sionxs");
        ASSERT_TRUE(ns.ok());
        std::string tap = uniqueTapName("e");
        std::string command = "timeout 30 " + sample + " --transport nexnet tap:" + tap +
            " 10.81.0.2/24 --port 7110 --count 30 --mode " + mode + " 2>&1";
        FILE* process = popen(command.c_str(), "r");
        ASSERT_NE(process, nullptr);
        // Its first line comes once the endpoint exists (the tap made, the port bound): then the
        // tap's kernel end goes into the namespace, and each datagram is sent once (one sent
        // again would be echoed twice, and count twice).
        std::string output;
        char line[512];
        if (std::fgets(line, sizeof line, process) != nullptr) output += line;
        bool moved = moveIntoNamespace(tap, ns, std::string(kKernelAddress) + "/24");
        int answered = 0;
        if (moved) {
            int client = ns.openSocket(AF_INET, SOCK_DGRAM, 0);
            sockaddr_in address = addressOf("10.81.0.2", 7110);
            connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address);
            for (int i = 0; i < 30; ++i) {
                char out[32], in[64];
                int length = std::snprintf(out, sizeof out, "echo %d", i);
                send(client, out, static_cast<std::size_t>(length), 0);
                pollfd descriptor{client, POLLIN, 0};
                if (poll(&descriptor, 1, 5000) != 1) break;
                ssize_t n = recv(client, in, sizeof in, 0);
                if (n != length || std::memcmp(in, out, static_cast<std::size_t>(length)) != 0) break;
                ++answered;
            }
            close(client);
        }
        while (std::fgets(line, sizeof line, process) != nullptr) output += line;
        int status = pclose(process);
        ASSERT_TRUE(moved) << output;
        EXPECT_EQ(status, 0) << output;
        EXPECT_EQ(answered, 30) << mode << ": " << output;
        EXPECT_NE(output.find("30 datagrams echoed"), std::string::npos) << output;
        EXPECT_NE(output.find("tap:" + tap), std::string::npos) << output;
    }
}

TEST(SioNexnetOpen, MalformedArgumentsAreRefused) {
    dma_mem_t mem;
    EXPECT_EQ(sio_nexnet_open("null:", "10.81.0.300/24", kPort, &mem), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_nexnet_open("null:", "10.81.0.2/33", kPort, &mem), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_nexnet_open(nullptr, "10.81.0.2/24", kPort, &mem), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_nexnet_open("nosuchdriver:x", "10.81.0.2/24", kPort, &mem), -1);
    EXPECT_NE(std::string(sio_last_error()).find("nosuchdriver"), std::string::npos) << sio_last_error();
}

}  // namespace
