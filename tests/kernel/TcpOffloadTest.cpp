// The TCP offload engine with kernel peers: a connection the kernel accepted is offloaded while
// the peer sends; the payload lands in posted buffers, byte-exact, the peer never notices; the
// kernel's unread bytes come first; hand-back gives the connection to a new kernel socket; the
// peer's FIN and RST reach the application as completions. Topology: TcpOffloadHarness.h.
#include "ImpairedLink.h"
#include "TcpOffloadHarness.h"
#include "sio/EventChannel.h"
#include "toe/TcpEventChannelSink.h"

#include <cerrno>
#include <dirent.h>
#include <linux/sockios.h>

using namespace nexnet;
using namespace nexnet::test;

namespace {

class TcpOffloadTest : public TcpOffloadHarness {
protected:
    // Bytes the kernel socket @p fd holds unread.
    static int unread(int fd) {
        int bytes = 0;
        ioctl(fd, SIOCINQ, &bytes);
        return bytes;
    }
    // Bytes the peer sent that its kernel has not seen acknowledged.
    int peerUnacknowledged() const {
        int bytes = 0;
        ioctl(peerSocket_, SIOCOUTQ, &bytes);
        return bytes;
    }
    // Waits (pumping) for the peer's side to read end of stream: our FIN arrived.
    bool peerSeesEndOfStream() {
        int flags = fcntl(peerSocket_, F_GETFL);
        fcntl(peerSocket_, F_SETFL, flags | O_NONBLOCK);
        char byte;
        return pump([&] { return recv(peerSocket_, &byte, 1, 0) == 0; }, std::chrono::seconds(10));
    }
};

TEST_F(TcpOffloadTest, PlacesAStreamOffloadedMidStreamIntoPostedBuffersByteForByte) {
    constexpr std::size_t kTotal = kStreamTestBytes;
    constexpr std::size_t kBeforeOffload = 1u << 20;
    peerSends(0, kTotal, true);
    ASSERT_TRUE(kernelReads(kernel_, 0, kBeforeOffload));
    std::uint64_t toHostBefore = bridge_->statistics().toHost;
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    auto start = std::chrono::steady_clock::now();
    Received received = receiveThroughEngine(handle, kBeforeOffload, 8, 1u << 20,
                                             [](const Received& r) { return r.endOfStream || r.error != 0; });
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_FALSE(received.corrupt);
    EXPECT_EQ(received.error, 0);
    ASSERT_TRUE(received.endOfStream);  // else the peer is still sending: TearDown stops it
    EXPECT_EQ(received.bytes, kTotal - kBeforeOffload);
    // The peer's segments went to the engine, not to the kernel (a few ARP frames may pass).
    EXPECT_LT(bridge_->statistics().toHost - toHostBefore, 16u);
    ASSERT_NE(engine_->statistics(handle), nullptr);
    const TcpConnectionStatistics counted = *engine_->statistics(handle);  // the handle dies with close()
    const TcpConnectionStatistics* statistics = &counted;
    EXPECT_EQ(statistics->bytesPlaced, kTotal - kBeforeOffload);
    EXPECT_GT(statistics->acksSent, 0u);
    // The peer's socket completes normally: everything acknowledged, our FIN read as end of stream.
    peerThread_.join();
    EXPECT_EQ(peerSendError_, 0);
    EXPECT_EQ(peerUnacknowledged(), 0);
    EXPECT_EQ(engine_->close(handle), 0);
    EXPECT_TRUE(peerSeesEndOfStream());
    EXPECT_TRUE(pump([&] { return engine_->connections() == 0; }, std::chrono::seconds(5)));
    std::printf(
        "[ figures  ] %zu MB offloaded after 1 MB: %.2f s, %.2f Gbit/s; %llu segments, %llu ACKs, "
        "%llu out of order, %llu duplicates, %llu held drops\n",
        (kTotal - kBeforeOffload) >> 20, seconds, (kTotal - kBeforeOffload) * 8 / seconds / 1e9,
        static_cast<unsigned long long>(statistics->segmentsIn), static_cast<unsigned long long>(statistics->acksSent),
        static_cast<unsigned long long>(statistics->outOfOrder),
        static_cast<unsigned long long>(statistics->duplicates),
        static_cast<unsigned long long>(statistics->heldDrops));
}

TEST_F(TcpOffloadTest, AnswersTheCapabilityQuery) {
    TcpOffloadCapabilities capabilities = engine_->capabilities();
    EXPECT_EQ(capabilities.maxConnections, TcpOffloadEngine::Options{}.maxConnections);
    EXPECT_TRUE(capabilities.receivePlacement);
    EXPECT_TRUE(capabilities.send);
    EXPECT_TRUE(capabilities.handBack);
    EXPECT_GT(capabilities.maxPostedBuffers, 0u);
}

TEST_F(TcpOffloadTest, RefusesUnconnectedSocketsAndDeadHandles) {
    int loopbackListener = host_->openSocket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(loopbackListener, 0);
    auto notOurs = engine_->offload(loopbackListener);  // no connection to take
    EXPECT_FALSE(notOurs);
    ::close(loopbackListener);
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    EXPECT_EQ(
        engine_->postReceive(TcpOffloadHandle{handle.value + (1ull << 32)}, storage_.emplace_back(16).data(), 16, 0),
        ENOENT);
    EXPECT_EQ(engine_->close(handle), 0);
    EXPECT_EQ(engine_->close(handle), ENOENT);  // the handle died with the connection
}

TEST_F(TcpOffloadTest, PlacesTheKernelsUnreadBytesFirst) {
    constexpr std::size_t kFirst = 40000, kSecond = 300 * 1024;  // kFirst: within the kernel's first window
    peerSends(0, kFirst, false);
    ASSERT_TRUE(pump([&] { return unread(kernel_) == static_cast<int>(kFirst); }));
    peerThread_.join();
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    peerSends(kFirst, kSecond, true);
    Received received = receiveThroughEngine(handle, 0, 1, kFirst + kSecond + 4096,
                                             [](const Received& r) { return r.endOfStream || r.error != 0; });
    EXPECT_FALSE(received.corrupt);
    EXPECT_TRUE(received.endOfStream);
    EXPECT_EQ(received.bytes, kFirst + kSecond);
    EXPECT_EQ(received.completions, 1u);  // one buffer, filled in stream order, completed by the FIN
}

TEST_F(TcpOffloadTest, HandsTheConnectionBackMidStreamWithoutCorruptionEitherWay) {
    constexpr std::size_t kTotal = 24u << 20, kKernelFirst = 1u << 20, kThroughEngine = 8u << 20;
    // The application's own bytes to the peer, before and after the offload, checked by the peer.
    constexpr std::size_t kReply = 32 * 1024;  // within the peer's receive buffer: it reads at the end
    std::vector<std::uint8_t> reply(2 * kReply);
    fillStream(reply.data(), reply.size(), 7);
    ASSERT_TRUE(kernelWrites(kernel_, reply.data(), kReply));
    peerSends(0, kTotal, false);
    ASSERT_TRUE(kernelReads(kernel_, 0, kKernelFirst));
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    Received received = receiveThroughEngine(handle, kKernelFirst, 4, 1u << 20, [&](const Received& r) {
        return r.bytes >= kThroughEngine || r.error != 0;
    });
    ASSERT_FALSE(received.corrupt);
    ASSERT_EQ(received.error, 0);
    auto back = engine_->handBack(handle, host_->openSocket(AF_INET, SOCK_STREAM, 0));
    ASSERT_TRUE(back) << back.describe();
    kernel_ = back.value();
    fcntl(kernel_, F_SETFL, fcntl(kernel_, F_GETFL) | O_NONBLOCK);
    EXPECT_EQ(engine_->connections(), 0u);
    EXPECT_EQ(engine_->statistics(handle), nullptr);  // the handle is dead
    // Completions after the last buffer filled: the rest of the posted buffers, flushed.
    std::uint64_t engineBytes = received.bytes;
    TcpCompletion completions[16];
    for (unsigned n; (n = engine_->completionQueue()->take(completions, 16)) > 0;)
        for (unsigned i = 0; i < n; ++i) {
            EXPECT_EQ(firstWrongByte(completions[i].buffer, completions[i].bytes, kKernelFirst + engineBytes),
                      completions[i].bytes);
            engineBytes += completions[i].bytes;
        }
    // The kernel carries on exactly where the engine stopped, both ways.
    ASSERT_TRUE(kernelWrites(kernel_, reply.data() + kReply, kReply));
    EXPECT_TRUE(kernelReads(kernel_, kKernelFirst + engineBytes, kTotal - kKernelFirst - engineBytes));
    peerThread_.join();
    EXPECT_EQ(peerSendError_, 0);
    std::vector<std::uint8_t> got(2 * kReply);
    std::size_t have = 0;
    fcntl(peerSocket_, F_SETFL, fcntl(peerSocket_, F_GETFL) | O_NONBLOCK);
    pump([&] {
        ssize_t n = recv(peerSocket_, got.data() + have, got.size() - have, 0);
        if (n > 0) have += static_cast<std::size_t>(n);
        return have == got.size();
    });
    EXPECT_EQ(have, got.size());
    EXPECT_TRUE(got == reply);
}

TEST_F(TcpOffloadTest, FlushCompletesAPartlyFilledBuffer) {
    peerSends(0, 1000, false);
    peerThread_.join();
    ASSERT_TRUE(pump([&] { return unread(kernel_) == 1000; }));
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    std::vector<std::uint8_t> buffer(65536);
    ASSERT_EQ(engine_->postReceive(handle, buffer.data(), buffer.size(), 42), 0);
    peerSends(1000, 500, false);
    ASSERT_TRUE(pump([&] { return engine_->statistics(handle)->bytesPlaced == 1500; }));
    EXPECT_EQ(engine_->completionQueue()->size(), 0u);
    EXPECT_EQ(engine_->flush(handle), 0);
    TcpCompletion completion{};
    ASSERT_EQ(engine_->completionQueue()->take(&completion, 1), 1u);
    EXPECT_EQ(completion.cookie, 42u);
    EXPECT_EQ(completion.bytes, 1500u);
    EXPECT_EQ(firstWrongByte(completion.buffer, completion.bytes, 0), 1500u);
    EXPECT_EQ(engine_->flush(handle), EAGAIN);
}

TEST_F(TcpOffloadTest, ThePeersFinCompletesTheBufferWithEndOfStream) {
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    peerSends(0, 3000, true);
    Received received = receiveThroughEngine(handle, 0, 2, 65536, [](const Received& r) { return r.endOfStream; });
    EXPECT_TRUE(received.endOfStream);
    EXPECT_EQ(received.bytes, 3000u);
    EXPECT_EQ(engine_->postReceive(handle, storage_[0].data(), 10, 0), EPIPE);
    EXPECT_EQ(engine_->close(handle), 0);
    EXPECT_TRUE(peerSeesEndOfStream());
}

TEST_F(TcpOffloadTest, ThePeersResetFailsThePostedBuffers) {
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    peerSends(0, 2000, false);
    peerThread_.join();
    std::vector<std::uint8_t> buffer(65536);
    ASSERT_EQ(engine_->postReceive(handle, buffer.data(), buffer.size(), 1), 0);
    ASSERT_TRUE(pump([&] { return engine_->statistics(handle)->bytesPlaced == 2000; }));
    linger abort{1, 0};
    setsockopt(peerSocket_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    ::close(peerSocket_);  // RST
    peerSocket_ = -1;
    TcpCompletion completion{};
    ASSERT_TRUE(pump([&] { return engine_->completionQueue()->take(&completion, 1) == 1; }));
    EXPECT_EQ(completion.error, ECONNRESET);
    EXPECT_EQ(completion.bytes, 2000u);  // what arrived before the reset is still there
    EXPECT_EQ(engine_->postReceive(handle, buffer.data(), buffer.size(), 2), EPIPE);
    EXPECT_EQ(engine_->close(handle), 0);
    EXPECT_EQ(engine_->connections(), 0u);
}

TEST_F(TcpOffloadTest, SurvivesLossReorderingAndDuplicationByteForByte) {
#if defined(__SANITIZE_ADDRESS__)
    constexpr std::size_t kTotal = 8u << 20;
#else
    constexpr std::size_t kTotal = 32u << 20;
#endif
    constexpr std::size_t kBeforeOffload = 256 * 1024;
    ImpairedLink link(*wire_, ImpairedLink::Rates{});  // 1 % loss, 5 % reordered, 1 % duplicated
    everyPump_ = [&] { link.release(); };
    peerSends(0, kTotal, true);
    ASSERT_TRUE(kernelReads(kernel_, 0, kBeforeOffload));
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    link.enable(true);
    Received received = receiveThroughEngine(
        handle, kBeforeOffload, 8, 1u << 20, [](const Received& r) { return r.endOfStream || r.error != 0; },
        std::chrono::seconds(60));
    link.enable(false);
    EXPECT_FALSE(received.corrupt);
    ASSERT_TRUE(received.endOfStream);
    EXPECT_EQ(received.bytes, kTotal - kBeforeOffload);
    ASSERT_NE(engine_->statistics(handle), nullptr);
    const TcpConnectionStatistics counted = *engine_->statistics(handle);  // the handle dies with close()
    const TcpConnectionStatistics* statistics = &counted;
    EXPECT_GT(link.lost, 0u);
    EXPECT_GT(statistics->outOfOrder, 0u);
    EXPECT_GT(statistics->duplicates, 0u);
    peerThread_.join();
    EXPECT_EQ(peerSendError_, 0);
    EXPECT_EQ(peerUnacknowledged(), 0);
    EXPECT_EQ(engine_->close(handle), 0);
    EXPECT_TRUE(peerSeesEndOfStream());
    std::printf(
        "[ figures  ] impaired: %u lost, %u reordered, %u duplicated; engine: %llu out of order, %llu "
        "duplicates, %llu trimmed bytes, %llu held drops, %llu PAWS drops, %llu ACKs\n",
        link.lost, link.reordered, link.duplicated, static_cast<unsigned long long>(statistics->outOfOrder),
        static_cast<unsigned long long>(statistics->duplicates),
        static_cast<unsigned long long>(statistics->trimmedBytes),
        static_cast<unsigned long long>(statistics->heldDrops), static_cast<unsigned long long>(statistics->pawsDrops),
        static_cast<unsigned long long>(statistics->acksSent));
    tcp_info info{};
    socklen_t size = sizeof info;
    getsockopt(peerSocket_, SOL_TCP, TCP_INFO, &info, &size);
    std::printf("[ figures  ] peer: %u retransmitted segments, %u RTOs now, rto %u us\n", info.tcpi_total_retrans,
                info.tcpi_retransmits, info.tcpi_rto);
}

TEST_F(TcpOffloadTest, AdvertisesAZeroWindowUntilTheApplicationPostsThenResumes) {
    constexpr std::size_t kTotal = 2u << 20;
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    peerSends(0, kTotal, true);
    // Nothing posted: the peer fills the window the kernel last offered, then stops.
    std::uint64_t placed = 0;
    pump([&] { return false; }, std::chrono::milliseconds(500));
    const TcpConnectionStatistics* statistics = engine_->statistics(handle);
    ASSERT_NE(statistics, nullptr);
    EXPECT_LT(statistics->advertisedWindow, 1448u);  // closed: less than a segment (rounded up to the scale)
    EXPECT_GT(peerUnacknowledged(), 0);
    EXPECT_EQ(statistics->bytesPlaced, placed);
    Received received =
        receiveThroughEngine(handle, 0, 4, 256 * 1024, [](const Received& r) { return r.endOfStream || r.error != 0; });
    EXPECT_FALSE(received.corrupt);
    EXPECT_TRUE(received.endOfStream);
    EXPECT_EQ(received.bytes, kTotal);
}

TEST_F(TcpOffloadTest, AThousandShortConnectionsOffloadedAndHandedBackLeakNothing) {
    constexpr int kConnections = 1000;
    auto openDescriptors = [] {
        int count = 0;
        if (DIR* directory = opendir("/proc/self/fd")) {
            while (readdir(directory) != nullptr) ++count;
            closedir(directory);
        }
        return count;
    };
    // Netbufs out of both pools: the drivers' receive spares and whatever a layer holds.
    auto netbufsOut = [&] { return wire_->driver().pool()->inUse() + bridge_->host().driver().pool()->inUse(); };
    pump([] { return false; }, std::chrono::milliseconds(20));
    int before = openDescriptors();
    std::uint32_t netbufsBefore = netbufsOut();
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(kPort);
    to.sin_addr = address("10.83.0.2");
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kConnections; ++i) {
        int peer = peer_->openSocket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        ASSERT_GE(peer, 0);
        ::connect(peer, reinterpret_cast<sockaddr*>(&to), sizeof to);
        int kernel = -1;
        ASSERT_TRUE(pump([&] { return (kernel = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK)) >= 0; }));
        std::uint8_t data[100];
        fillStream(data, sizeof data, static_cast<std::uint64_t>(i));
        ASSERT_EQ(send(peer, data, sizeof data, 0), static_cast<ssize_t>(sizeof data));
        auto handle = engine_->offload(kernel);
        ASSERT_TRUE(handle) << handle.describe();
        auto back = engine_->handBack(handle.value(), host_->openSocket(AF_INET, SOCK_STREAM, 0));
        ASSERT_TRUE(back) << back.describe();
        fcntl(back.value(), F_SETFL, fcntl(back.value(), F_GETFL) | O_NONBLOCK);
        EXPECT_TRUE(kernelReads(back.value(), static_cast<std::uint64_t>(i), sizeof data));
        ::close(back.value());
        ::close(peer);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(engine_->connections(), 0u);
    EXPECT_EQ(engine_->statistics().offloaded, static_cast<std::uint64_t>(kConnections));
    EXPECT_EQ(engine_->statistics().handedBack, static_cast<std::uint64_t>(kConnections));
    EXPECT_EQ(openDescriptors(), before);
    // The closes' last segments cross the interface; then every netbuf is back.
    EXPECT_TRUE(pump([&] { return netbufsOut() <= netbufsBefore; }, std::chrono::seconds(5)))
        << netbufsOut() << " netbufs out, " << netbufsBefore << " before";
    std::printf("[ figures  ] %d connections offloaded and handed back in %.2f s (%.2f ms each)\n", kConnections,
                seconds, seconds * 1000 / kConnections);
}

// The engine's completions on a Drepper event channel (sio/ec.h) instead of its own queue.
class TcpOffloadChannelTest : public TcpOffloadTest {
protected:
    TcpOffloadEngine::Options engineOptions() override {
        channel_ = std::move(EventChannel::create(EC_NONBLOCK).value());
        sink_ = std::make_unique<TcpEventChannelSink>(channel_.get());
        TcpOffloadEngine::Options options;
        options.sink = sink_.get();
        return options;
    }
    EventChannel channel_;
    std::unique_ptr<TcpEventChannelSink> sink_;
};

TEST_F(TcpOffloadChannelTest, CompletionsArriveOnAnEventChannelEndingWithTheStream) {
    EXPECT_EQ(engine_->completionQueue(), nullptr);
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    peerSends(0, 3000, true);
    storage_.assign(2, std::vector<std::uint8_t>(2048));
    for (unsigned i = 0; i < 2; ++i) ASSERT_EQ(engine_->postReceive(handle, storage_[i].data(), 2048, i), 0);
    std::vector<event_data_t> events;
    ASSERT_TRUE(pump([&] {
        event_data_t batch[8];
        auto n = channel_.take(batch, 0);
        if (n) events.insert(events.end(), batch, batch + n.value());
        return !events.empty() && events.back().ev_data == nullptr;
    })) << events.size()
        << " events";
    // The first buffer full, the second with the rest, then the end of the stream as recv()'s 0.
    ASSERT_EQ(events.size(), 3u);
    for (const event_data_t& event : events) {
        EXPECT_EQ(event.ev_type, event_type_tcp_recv);
        EXPECT_EQ(event.ev_un.ev_tcp, handle.value);
        EXPECT_EQ(event.ev_errno, 0);
    }
    EXPECT_EQ(events[0].ev_data, storage_[0].data());
    EXPECT_EQ(events[0].ev_result, 2048);
    EXPECT_EQ(events[1].ev_data, storage_[1].data());
    EXPECT_EQ(events[1].ev_result, 3000 - 2048);
    EXPECT_EQ(events[2].ev_result, 0);
    EXPECT_EQ(firstWrongByte(storage_[0].data(), 2048, 0), 2048u);
    EXPECT_EQ(firstWrongByte(storage_[1].data(), 3000 - 2048, 2048), 3000u - 2048);
    EXPECT_EQ(sink_->lost(), 0u);
    EXPECT_EQ(engine_->close(handle), 0);
}

}  // namespace
