// The TCP offload engine's send path with kernel peers: the application's posted send buffers
// reach the peer byte-exact, through loss, reordering and duplication (retransmission and fast
// recovery), a zero window (persist probes) and our FIN; the kernel's unsent bytes go first;
// urgent data from the peer goes back to the kernel; keepalives keep an idle connection.
// Topology: TcpOffloadHarness.h (here the peer namespace's socket is the receiver).
#include "ImpairedOutput.h"
#include "TcpOffloadHarness.h"

#include <atomic>
#include <cerrno>
#include <linux/sockios.h>

using namespace nexnet;
using namespace nexnet::test;

namespace {

class TcpOffloadSendTest : public TcpOffloadHarness {
protected:
    void TearDown() override {
        if (readerThread_.joinable()) {
            if (peerSocket_ >= 0) shutdown(peerSocket_, SHUT_RDWR);
            readerThread_.join();
        }
        TcpOffloadHarness::TearDown();
    }

    // The peer reads the stream from @p at on a thread of its own until end of stream, checking
    // every byte; waits @p startAfter before its first read.
    void peerReads(std::uint64_t at, std::chrono::milliseconds startAfter = std::chrono::milliseconds(0)) {
        readerThread_ = std::thread([this, at, startAfter] {
            std::this_thread::sleep_for(startAfter);
            std::vector<std::uint8_t> buffer(256 * 1024);
            for (;;) {
                ssize_t n = recv(peerSocket_, buffer.data(), buffer.size(), 0);
                if (n == 0) {
                    peerEnd_ = true;
                    return;
                }
                if (n < 0) {
                    if (errno == EINTR) continue;
                    peerReadError_ = errno;
                    return;
                }
                std::uint64_t done = peerReceived_;
                if (firstWrongByte(buffer.data(), static_cast<std::size_t>(n), at + done) !=
                    static_cast<std::size_t>(n))
                    peerCorrupt_ = true;
                peerReceived_ = done + static_cast<std::uint64_t>(n);
            }
        });
    }

    // What the application sent through the engine.
    struct Sent {
        std::uint64_t posted = 0;        ///< Bytes posted.
        std::uint64_t acknowledged = 0;  ///< Bytes of send completions without error.
        unsigned completions = 0;
        int error = 0;  ///< The first error completion's.
    };

    // Sends @p total bytes of the stream from @p at through the engine from @p buffers buffers of
    // @p size bytes, refilling and reposting each as it completes, until @p done or time runs out.
    Sent sendThroughEngine(TcpOffloadHandle handle, std::uint64_t at, std::uint64_t total, unsigned buffers,
                           std::size_t size, const std::function<bool(const Sent&)>& done,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        storage_.assign(buffers, std::vector<std::uint8_t>(size));
        Sent sent;
        auto post = [&](unsigned i) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size, total - sent.posted));
            if (n == 0) return;
            fillStream(storage_[i].data(), n, at + sent.posted);
            EXPECT_EQ(engine_->postSend(handle, storage_[i].data(), n, i), 0);
            sent.posted += n;
        };
        for (unsigned i = 0; i < buffers; ++i) post(i);
        pump(
            [&] {
                TcpCompletion completions[16];
                unsigned n = engine_->completionQueue()->take(completions, 16);
                for (unsigned i = 0; i < n; ++i) {
                    const TcpCompletion& c = completions[i];
                    if (!c.send) continue;
                    sent.completions++;
                    if (c.error != 0 && sent.error == 0) sent.error = c.error;
                    if (c.error == 0) sent.acknowledged += c.bytes;
                    if (c.error == 0) post(static_cast<unsigned>(c.cookie));
                }
                return done(sent);
            },
            timeout);
        return sent;
    }

    // The peer's socket state (tcp_info).
    tcp_info peerInfo() const {
        tcp_info info{};
        socklen_t size = sizeof info;
        getsockopt(peerSocket_, SOL_TCP, TCP_INFO, &info, &size);
        return info;
    }

    std::thread readerThread_;
    std::atomic<std::uint64_t> peerReceived_{0};
    std::atomic<bool> peerCorrupt_{false};
    std::atomic<bool> peerEnd_{false};
    std::atomic<int> peerReadError_{0};
};

TEST_F(TcpOffloadSendTest, SendsAStreamFromPostedBuffersByteForByteAndEndsItWithFin) {
    constexpr std::uint64_t kTotal = kStreamTestBytes;
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    peerReads(0);
    auto start = std::chrono::steady_clock::now();
    Sent sent = sendThroughEngine(handle, 0, kTotal, 8, 1u << 20,
                                  [&](const Sent& s) { return s.acknowledged == kTotal || s.error != 0; });
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(sent.error, 0);
    ASSERT_EQ(sent.acknowledged, kTotal);
    EXPECT_EQ(engine_->shutdown(handle), 0);
    ASSERT_TRUE(pump([&] { return peerEnd_.load(); }, std::chrono::seconds(10)));  // our FIN: recv returns 0
    readerThread_.join();
    EXPECT_EQ(peerReadError_, 0);
    EXPECT_FALSE(peerCorrupt_);
    EXPECT_EQ(peerReceived_, kTotal);
    ASSERT_NE(engine_->statistics(handle), nullptr);
    const TcpConnectionStatistics counted = *engine_->statistics(handle);
    EXPECT_EQ(counted.bytesAcknowledged, kTotal);
    EXPECT_GE(counted.bytesOut, kTotal);
    EXPECT_EQ(counted.sendCompletions, sent.completions);
    EXPECT_GT(counted.smoothedRtt, 0u);
    EXPECT_EQ(engine_->postSend(handle, storage_[0].data(), 10, 0), EPIPE);  // after our FIN
    // The peer's side ends normally: its FIN is acknowledged by the engine (LAST-ACK -> CLOSED).
    ASSERT_EQ(::shutdown(peerSocket_, SHUT_WR), 0);
    EXPECT_TRUE(pump([&] { return peerInfo().tcpi_state == TCP_CLOSE; }, std::chrono::seconds(5)));
    EXPECT_TRUE(pump([&] { return engine_->connections() == 0; }, std::chrono::seconds(5)));
    std::printf(
        "[ figures  ] %llu MB sent through the engine: %.2f s, %.2f Gbit/s; %llu data segments, %llu "
        "retransmitted, cwnd %u, srtt %u us, rto %u us; peer: %u retransmitted\n",
        static_cast<unsigned long long>(kTotal >> 20), seconds, kTotal * 8 / seconds / 1e9,
        static_cast<unsigned long long>(counted.dataSegmentsOut),
        static_cast<unsigned long long>(counted.retransmissions), counted.congestionWindow, counted.smoothedRtt,
        counted.retransmissionTimeout, peerInfo().tcpi_total_retrans);
}

TEST_F(TcpOffloadSendTest, RecoversFromLossReorderingAndDuplicationByteForByte) {
#if defined(__SANITIZE_ADDRESS__)
    constexpr std::uint64_t kTotal = 8u << 20;
#else
    constexpr std::uint64_t kTotal = 32u << 20;
#endif
    ImpairedOutput link(*wire_, ImpairedOutput::Rates{});  // 1 % loss, 5 % reordered, 1 % duplicated
    everyPump_ = [&] { link.release(); };
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    link.enable(true);
    peerReads(0);
    Sent sent = sendThroughEngine(
        handle, 0, kTotal, 8, 1u << 20, [&](const Sent& s) { return s.acknowledged == kTotal || s.error != 0; },
        std::chrono::seconds(60));
    link.enable(false);
    EXPECT_EQ(sent.error, 0);
    ASSERT_EQ(sent.acknowledged, kTotal);
    EXPECT_EQ(engine_->shutdown(handle), 0);
    ASSERT_TRUE(pump([&] { return peerEnd_.load(); }, std::chrono::seconds(10)));
    readerThread_.join();
    EXPECT_FALSE(peerCorrupt_);
    EXPECT_EQ(peerReceived_, kTotal);
    const TcpConnectionStatistics* statistics = engine_->statistics(handle);
    ASSERT_NE(statistics, nullptr);
    EXPECT_GT(link.lost, 0u);
    EXPECT_GT(statistics->duplicateAcks, 0u);
    EXPECT_GT(statistics->fastRetransmits, 0u);
    EXPECT_GE(statistics->retransmissions, link.lost);  // every lost segment went again
    std::printf(
        "[ figures  ] impaired output: %u lost, %u reordered, %u duplicated; engine: %llu retransmissions, "
        "%llu fast retransmits, %llu RTO expiries, %llu duplicate ACKs, cwnd %u, ssthresh %u\n",
        link.lost, link.reordered, link.duplicated, static_cast<unsigned long long>(statistics->retransmissions),
        static_cast<unsigned long long>(statistics->fastRetransmits),
        static_cast<unsigned long long>(statistics->rtoExpiries),
        static_cast<unsigned long long>(statistics->duplicateAcks), statistics->congestionWindow,
        statistics->slowStartThreshold);
}

TEST_F(TcpOffloadSendTest, ProbesAZeroWindowUntilThePeerReadsAgain) {
    constexpr std::uint64_t kTotal = 4u << 20;
    int small = 32 * 1024;  // the peer's buffer fills fast and its window closes
    ASSERT_EQ(setsockopt(peerSocket_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    peerReads(0, std::chrono::milliseconds(1500));  // the peer reads nothing for 1.5 s
    bool sawZeroWindow = false;
    Sent sent = sendThroughEngine(handle, 0, kTotal, 4, 256 * 1024, [&](const Sent& s) {
        const TcpConnectionStatistics* statistics = engine_->statistics(handle);
        sawZeroWindow = sawZeroWindow || (statistics != nullptr && statistics->peerWindow == 0);
        return s.acknowledged == kTotal || s.error != 0;
    });
    EXPECT_EQ(sent.error, 0);
    EXPECT_EQ(sent.acknowledged, kTotal);
    EXPECT_TRUE(sawZeroWindow);
    const TcpConnectionStatistics* statistics = engine_->statistics(handle);
    ASSERT_NE(statistics, nullptr);
    EXPECT_GT(statistics->persistProbes, 0u);
    EXPECT_EQ(engine_->shutdown(handle), 0);
    ASSERT_TRUE(pump([&] { return peerEnd_.load(); }, std::chrono::seconds(10)));
    readerThread_.join();
    EXPECT_FALSE(peerCorrupt_);
    EXPECT_EQ(peerReceived_, kTotal);
    std::printf("[ figures  ] zero window: %llu persist probes\n",
                static_cast<unsigned long long>(statistics->persistProbes));
}

TEST_F(TcpOffloadSendTest, SendsTheKernelsUnsentBytesFirst) {
    constexpr std::size_t kKernel = 512 * 1024, kEngine = 1u << 20;
    int small = 32 * 1024;
    ASSERT_EQ(setsockopt(peerSocket_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    int big = 4 << 20;
    setsockopt(kernel_, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    std::vector<std::uint8_t> first(kKernel);
    fillStream(first.data(), first.size(), 0);
    ASSERT_TRUE(kernelWrites(kernel_, first.data(), first.size()));
    int queued = 0;
    ASSERT_TRUE(pump([&] { return ioctl(kernel_, SIOCOUTQ, &queued) == 0 && queued > 0; }));
    TcpOffloadHandle handle = offloadKernelSocket();  // the kernel still holds most of it
    ASSERT_TRUE(handle);
    peerReads(0);
    Sent sent = sendThroughEngine(handle, kKernel, kEngine, 2, 256 * 1024,
                                  [&](const Sent& s) { return s.acknowledged == kEngine || s.error != 0; });
    EXPECT_EQ(sent.acknowledged, kEngine);
    EXPECT_EQ(engine_->shutdown(handle), 0);
    ASSERT_TRUE(pump([&] { return peerEnd_.load(); }, std::chrono::seconds(10)));
    readerThread_.join();
    EXPECT_FALSE(peerCorrupt_);
    EXPECT_EQ(peerReceived_, kKernel + kEngine);
    std::printf("[ figures  ] %d bytes still in the kernel's send queue at the hand-off\n", queued);
}

TEST_F(TcpOffloadSendTest, HandsBackMidSendAndTheKernelDeliversTheRestInOrder) {
    constexpr std::uint64_t kEngine = 1u << 20, kKernelAfter = 256 * 1024;
    int small = 32 * 1024;  // the peer reads nothing yet: the engine holds sent and unsent bytes
    ASSERT_EQ(setsockopt(peerSocket_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    Sent sent = sendThroughEngine(handle, 0, kEngine, 4, 256 * 1024, [&](const Sent&) {
        const TcpConnectionStatistics* statistics = engine_->statistics(handle);
        return statistics->bytesAcknowledged > 0 && statistics->peerWindow == 0;
    });
    EXPECT_LT(sent.acknowledged, kEngine);
    auto back = engine_->handBack(handle, host_->openSocket(AF_INET, SOCK_STREAM, 0));
    ASSERT_TRUE(back) << back.describe();
    kernel_ = back.value();
    fcntl(kernel_, F_SETFL, fcntl(kernel_, F_GETFL) | O_NONBLOCK);
    // Every send buffer completes: acknowledged, or its bytes now in the kernel's queue.
    TcpCompletion completions[16];
    unsigned completed = 0;
    for (unsigned n; (n = engine_->completionQueue()->take(completions, 16)) > 0;)
        for (unsigned i = 0; i < n; ++i) completed += completions[i].send && completions[i].error == 0 ? 1 : 0;
    EXPECT_EQ(sent.completions + completed, 4u);
    std::vector<std::uint8_t> after(kKernelAfter);
    fillStream(after.data(), after.size(), kEngine);
    peerReads(0);
    ASSERT_TRUE(kernelWrites(kernel_, after.data(), after.size()));
    ASSERT_TRUE(pump([&] { return peerReceived_ == kEngine + kKernelAfter; }));
    EXPECT_FALSE(peerCorrupt_);
}

TEST_F(TcpOffloadSendTest, HandsUrgentDataBackToTheKernel) {
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    std::vector<std::uint8_t> buffer(65536);
    ASSERT_EQ(engine_->postReceive(handle, buffer.data(), buffer.size(), 1), 0);
    std::uint8_t data[1000];
    fillStream(data, sizeof data, 0);
    ASSERT_EQ(send(peerSocket_, data, sizeof data, 0), static_cast<ssize_t>(sizeof data));
    ASSERT_TRUE(pump([&] { return engine_->statistics(handle)->bytesPlaced == sizeof data; }));
    char urgent = '!';
    ASSERT_EQ(send(peerSocket_, &urgent, 1, MSG_OOB), 1);
    // The engine stops the connection unacknowledged and asks for the hand-back.
    TcpCompletion completion{};
    ASSERT_TRUE(pump([&] {
        TcpCompletion c{};
        while (engine_->completionQueue()->take(&c, 1) == 1)
            if (c.error == EOPNOTSUPP) completion = c;
        return completion.error == EOPNOTSUPP;
    }));
    EXPECT_EQ(completion.buffer, nullptr);
    ASSERT_NE(engine_->statistics(handle), nullptr);
    EXPECT_EQ(engine_->statistics(handle)->handBackReason, TcpHandBackReason::urgentData);
    EXPECT_EQ(engine_->statistics().urgentHandBacks, 1u);
    EXPECT_EQ(engine_->postSend(handle, data, sizeof data, 0), EPIPE);
    auto back = engine_->handBack(handle, host_->openSocket(AF_INET, SOCK_STREAM, 0));
    ASSERT_TRUE(back) << back.describe();
    kernel_ = back.value();
    fcntl(kernel_, F_SETFL, fcntl(kernel_, F_GETFL) | O_NONBLOCK);
    // The kernel receives the peer's retransmission and carries the urgent byte (MSG_OOB).
    char got = 0;
    EXPECT_TRUE(pump([&] { return recv(kernel_, &got, 1, MSG_OOB) == 1; }, std::chrono::seconds(10)));
    EXPECT_EQ(got, urgent);
    TcpCompletion placed{};
    ASSERT_EQ(engine_->completionQueue()->take(&placed, 1), 1u);  // the receive buffer, with what it held
    EXPECT_EQ(placed.bytes, sizeof data);
    EXPECT_EQ(firstWrongByte(placed.buffer, placed.bytes, 0), sizeof data);
}

TEST_F(TcpOffloadSendTest, SendsKeepalivesOnAnIdleConnectionAndThePeerAnswers) {
    int on = 1, one = 1, three = 3;
    ASSERT_EQ(setsockopt(kernel_, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on), 0);
    ASSERT_EQ(setsockopt(kernel_, SOL_TCP, TCP_KEEPIDLE, &one, sizeof one), 0);
    ASSERT_EQ(setsockopt(kernel_, SOL_TCP, TCP_KEEPINTVL, &one, sizeof one), 0);
    ASSERT_EQ(setsockopt(kernel_, SOL_TCP, TCP_KEEPCNT, &three, sizeof three), 0);
    TcpOffloadHandle handle = offloadKernelSocket();
    ASSERT_TRUE(handle);
    // Idle for 1 s, probe, answered; 1 s later the next: more probes than TCP_KEEPCNT would allow
    // unanswered, and the connection stays.
    EXPECT_TRUE(pump([&] { return engine_->statistics(handle)->keepalivesSent >= 4; }, std::chrono::seconds(8)));
    const TcpConnectionStatistics* statistics = engine_->statistics(handle);
    ASSERT_NE(statistics, nullptr);
    EXPECT_EQ(engine_->connections(), 1u);
    std::uint8_t data[100];
    fillStream(data, sizeof data, 0);
    EXPECT_EQ(engine_->postSend(handle, data, sizeof data, 0), 0);
    peerReads(0);
    EXPECT_TRUE(pump([&] { return peerReceived_ == sizeof data; }));
}

}  // namespace
