// The sio/aio calls against the Linux kernel as a peer: two namespaces made for each test,
// joined by a veth pair; the server side uses nexnet's API, the client plain sockets. Both
// transport modes (io_uring, epoll).
#include "sio/aio.h"
#include "sio/sio.h"
#include "support/NetworkNamespace.h"
#include "support/TestEnvironment.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <thread>
#include <vector>

using nexnet::test::NetworkNamespace;

namespace {

constexpr std::size_t kMemory = 8 << 20;
const char* kServerAddress = "10.77.0.1";
const char* kClientAddress = "10.77.0.2";

sockaddr_in addressOf(const char* ip, int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<unsigned short>(port));
    inet_pton(AF_INET, ip, &address.sin_addr);
    return address;
}

// The byte at position @p i of a test stream or datagram @p sequence: every byte says where
// it belongs, so a lost, repeated, reordered or corrupted byte shows.
std::uint8_t patternByte(std::uint64_t sequence, std::size_t i) {
    return static_cast<std::uint8_t>((sequence * 131 + i * 7 + 1) & 0xff);
}

// A thread joined when it goes out of scope, also when an ASSERT returns early.
class Joined {
public:
    template <typename F>
    explicit Joined(F f) : thread_(std::move(f)) {}
    ~Joined() { join(); }
    void join() {
        if (thread_.joinable()) thread_.join();
    }

private:
    std::thread thread_;
};

class SioVethTest : public ::testing::TestWithParam<int> {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        if (sio_set_mode(GetParam()) != 0) GTEST_SKIP() << sio_last_error();
        server_ = std::make_unique<NetworkNamespace>("sio-s");
        client_ = std::make_unique<NetworkNamespace>("sio-c");
        ASSERT_TRUE(server_->ok() && client_->ok());
        ASSERT_EQ(server_->run("ip link add sio0 type veth peer name sio1 netns " + client_->name()).status, 0);
        ASSERT_EQ(server_->run(std::string("ip addr add ") + kServerAddress + "/24 dev sio0").status, 0);
        ASSERT_EQ(client_->run(std::string("ip addr add ") + kClientAddress + "/24 dev sio1").status, 0);
        ASSERT_EQ(server_->run("ip link set sio0 up").status, 0);
        ASSERT_EQ(client_->run("ip link set sio1 up").status, 0);
        ASSERT_EQ(dma_alloc(&mem_, kMemory, 0), 0) << sio_last_error();
    }
    void TearDown() override {
        for (int fd : sockets_) sio_close(fd);
        if (mem_ != nullptr) {
            EXPECT_EQ(dma_free(mem_, kMemory), 0) << sio_last_error();
        }
    }
    int serverSocket(int type, int port) {
        int fd = server_->openSocket(AF_INET, type, 0);
        sockaddr_in address = addressOf(kServerAddress, port);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        sockets_.push_back(fd);
        return fd;
    }
    int clientSocket(int type) {
        int fd = client_->openSocket(AF_INET, type, 0);
        sockets_.push_back(fd);
        return fd;
    }

    std::unique_ptr<NetworkNamespace> server_, client_;
    dma_mem_t mem_ = nullptr;
    std::vector<int> sockets_;
};

// Sends @p count datagrams of @p size bytes from @p client to the echo server at @p port,
// keeping at most @p window unanswered, and checks every answer: each arrives once, in order,
// intact. @return how many came back right.
std::uint64_t runWindowedEcho(int client, int port, std::uint64_t count, std::size_t size, std::size_t window) {
    sockaddr_in server = addressOf(kServerAddress, port);
    connect(client, reinterpret_cast<sockaddr*>(&server), sizeof server);
    std::vector<std::uint8_t> out(size), in(size + 16);
    std::uint64_t sent = 0, answered = 0;
    while (answered < count) {
        while (sent < count && sent - answered < window) {
            std::memcpy(out.data(), &sent, sizeof sent);
            for (std::size_t i = sizeof sent; i < size; ++i) out[i] = patternByte(sent, i);
            if (send(client, out.data(), size, 0) != static_cast<ssize_t>(size)) return answered;
            ++sent;
        }
        pollfd descriptor{client, POLLIN, 0};
        if (poll(&descriptor, 1, 5000) != 1) return answered;  // a datagram lost: the window stalls
        ssize_t n = recv(client, in.data(), in.size(), 0);
        std::uint64_t sequence;
        std::memcpy(&sequence, in.data(), sizeof sequence);
        if (n != static_cast<ssize_t>(size) || sequence != answered) return answered;
        for (std::size_t i = sizeof sequence; i < size; ++i)
            if (in[i] != patternByte(sequence, i)) return answered;
        ++answered;
    }
    return answered;
}

TEST_P(SioVethTest, SyncEchoAnswersEveryDatagramInOrder) {
    int server = serverSocket(SOCK_DGRAM, 7001);
    ASSERT_EQ(dma_assoc(server, mem_, kMemory, 0), 0) << sio_last_error();
    constexpr std::uint64_t kCount = 20000;
    Joined echo([&] {
        for (std::uint64_t i = 0; i < kCount; ++i) {
            void* data;
            sockaddr_in from{};
            socklen_t fromLength = sizeof from;
            ssize_t n = sio_recvfrom(server, &data, 2048, 0, reinterpret_cast<sockaddr*>(&from), &fromLength);
            if (n <= 0) break;  // the stop datagram below
            sio_sendto(server, data, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), fromLength);
            sio_release(mem_, data, static_cast<std::size_t>(n));
        }
    });
    std::uint64_t answered = runWindowedEcho(clientSocket(SOCK_DGRAM), 7001, kCount, 1472, 64);
    if (answered < kCount) {  // the echo thread waits for more: an empty datagram stops it
        int stop = clientSocket(SOCK_DGRAM);
        sockaddr_in address = addressOf(kServerAddress, 7001);
        sendto(stop, "", 0, 0, reinterpret_cast<sockaddr*>(&address), sizeof address);
    }
    echo.join();
    EXPECT_EQ(answered, kCount);
}

TEST_P(SioVethTest, AMillionDatagramsArriveNoneLostDuplicatedOrCorruptedWhenFlowControlAllows) {
    // One way, as fast as the receiver takes them: the sender sends batches of 64 (sendmmsg)
    // and stays at most kWindow ahead of what the receiver acknowledged (one answer per 64
    // received, carrying the count), few enough for the receiver's socket queue (enlarged) and
    // receive buffers to hold them all.
    int server = serverSocket(SOCK_DGRAM, 7005);
    ASSERT_EQ(dma_assoc(server, mem_, kMemory, 0), 0) << sio_last_error();
    constexpr std::uint64_t kCount = 1000000, kWindow = 1024, kAckEvery = 64;
    int queue = 8 << 20;  // room for the window in the socket's queue (root may exceed rmem_max)
    ASSERT_EQ(setsockopt(server, SOL_SOCKET, SO_RCVBUFFORCE, &queue, sizeof queue), 0);
    constexpr std::size_t kSize = 64;
    std::atomic<std::uint64_t> good{0};
    Joined receiver([&] {
        sockaddr_in peer{};
        socklen_t peerLength = sizeof peer;
        for (std::uint64_t expected = 0; expected < kCount; ++expected) {
            void* data;
            ssize_t n = sio_recvfrom(server, &data, 2048, 0, reinterpret_cast<sockaddr*>(&peer), &peerLength);
            if (n != static_cast<ssize_t>(kSize)) return;  // failed, or the stop datagram
            auto* bytes = static_cast<const std::uint8_t*>(data);
            std::uint64_t sequence;
            std::memcpy(&sequence, bytes, sizeof sequence);
            bool intact = sequence == expected;  // in order: none lost or repeated before it
            for (std::size_t i = sizeof sequence; i < kSize && intact; ++i)
                intact = bytes[i] == patternByte(sequence, i);
            sio_release(mem_, data, kSize);
            if (!intact) return;
            good = expected + 1;
            if ((expected + 1) % kAckEvery == 0 || expected + 1 == kCount) {
                std::uint64_t count = expected + 1;
                void* ack;
                if (sio_reserve(mem_, &ack, sizeof count) != 0) return;
                std::memcpy(ack, &count, sizeof count);
                sio_sendto(server, ack, sizeof count, 0, reinterpret_cast<sockaddr*>(&peer), peerLength);
                sio_release(mem_, ack, sizeof count);
            }
        }
    });
    int client = clientSocket(SOCK_DGRAM);
    sockaddr_in address = addressOf(kServerAddress, 7005);
    ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    std::vector<std::array<std::uint8_t, kSize>> payloads(kAckEvery);
    std::vector<mmsghdr> messages(kAckEvery);
    std::vector<iovec> vectors(kAckEvery);
    std::uint64_t sent = 0, acknowledged = 0;
    bool stalled = false;
    while (acknowledged < kCount && !stalled) {
        while (sent < kCount && sent + kAckEvery <= acknowledged + kWindow) {
            unsigned batch = static_cast<unsigned>(std::min<std::uint64_t>(kAckEvery, kCount - sent));
            for (unsigned b = 0; b < batch; ++b) {
                std::uint64_t sequence = sent + b;
                std::memcpy(payloads[b].data(), &sequence, sizeof sequence);
                for (std::size_t i = sizeof sequence; i < kSize; ++i) payloads[b][i] = patternByte(sequence, i);
                vectors[b] = {payloads[b].data(), kSize};
                messages[b] = mmsghdr{};
                messages[b].msg_hdr.msg_iov = &vectors[b];
                messages[b].msg_hdr.msg_iovlen = 1;
            }
            int n = sendmmsg(client, messages.data(), batch, 0);
            ASSERT_EQ(n, static_cast<int>(batch));
            sent += batch;
        }
        pollfd descriptor{client, POLLIN, 0};
        if (poll(&descriptor, 1, 5000) != 1) {
            stalled = true;  // a datagram went missing (or arrived out of order): no more acks
            break;
        }
        std::uint64_t count = 0;
        if (recv(client, &count, sizeof count, 0) == sizeof count) acknowledged = std::max(acknowledged, count);
    }
    if (stalled) send(client, "", 0, 0);  // stops the receiver if it waits
    receiver.join();
    EXPECT_EQ(good, kCount);
    EXPECT_EQ(acknowledged, kCount);
}

TEST_P(SioVethTest, AioEchoWithPrePostedReceivesOnAnEventChannel) {
    int server = serverSocket(SOCK_DGRAM, 7002);
    ASSERT_EQ(dma_assoc(server, mem_, kMemory, 0), 0);
    ec_t ec = ec_create(0);
    constexpr int kPosted = 32;
    constexpr std::uint64_t kCount = 20000;
    struct Posted {
        sio_aiocb cb;
        sockaddr_in from;
        socklen_t fromLength;
    };
    std::vector<Posted> posted(kPosted);
    auto post = [&](Posted& p) {
        p.cb = sio_aiocb{};
        p.cb.aio_fildes = server;
        p.cb.aio_dma_buf = mem_;
        p.cb.aio_sigevent.sigev_notify = SIGEV_EC;
        p.cb.aio_sigevent.sigev_ec = ec;
        p.cb.aio_sigevent.sigev_value.sival_ptr = &p;
        p.fromLength = sizeof p.from;
        return aio_recvfrom(&p.cb, AIO_DMA_BUF, reinterpret_cast<sockaddr*>(&p.from), &p.fromLength);
    };
    for (auto& p : posted) ASSERT_EQ(post(p), 0) << sio_last_error();
    std::atomic<bool> done{false};
    Joined echo([&] {
        event_data_t events[kPosted];
        while (!done) {
            int n = ec_next_events(ec, events, kPosted, 100);
            for (int i = 0; i < n; ++i) {
                auto* p = static_cast<Posted*>(events[i].ev_data);
                ssize_t length = aio_return(&p->cb);
                if (length < 0) continue;
                void* data = const_cast<void*>(p->cb.aio_buf);
                sio_sendto(server, data, static_cast<std::size_t>(length), 0, reinterpret_cast<sockaddr*>(&p->from),
                           p->fromLength);
                sio_release(mem_, data, static_cast<std::size_t>(length));
                post(*p);
            }
        }
    });
    EXPECT_EQ(runWindowedEcho(clientSocket(SOCK_DGRAM), 7002, kCount, 1472, 32), kCount);
    done = true;
    echo.join();
    EXPECT_EQ(sio_aio_cancel(server, nullptr), AIO_CANCELED);
    event_data_t rest[kPosted];
    while (ec_next_events(ec, rest, kPosted, 50) > 0) {
    }
    EXPECT_EQ(ec_destroy(ec), 0) << sio_last_error();
}

TEST_P(SioVethTest, TcpStreamArrivesInOrderThroughPrePostedReceives) {
    int listener = serverSocket(SOCK_STREAM, 7003);
    ASSERT_EQ(listen(listener, 1), 0);
    constexpr std::size_t kBytes = 8 << 20;
    // The kernel peer: a plain TCP sender in the client namespace.
    int fd = clientSocket(SOCK_STREAM);  // made here: sockets_ is the test thread's
    Joined peer([&, fd] {
        sockaddr_in address = addressOf(kServerAddress, 7003);
        if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return;
        std::vector<std::uint8_t> chunk(65536);
        for (std::size_t offset = 0; offset < kBytes;) {
            std::size_t n = std::min(chunk.size(), kBytes - offset);
            for (std::size_t i = 0; i < n; ++i) chunk[i] = patternByte(0, offset + i);
            ssize_t sent = send(fd, chunk.data(), n, MSG_NOSIGNAL);
            if (sent <= 0) return;
            offset += static_cast<std::size_t>(sent);
        }
        shutdown(fd, SHUT_WR);
    });
    int connection = accept(listener, nullptr, nullptr);
    ASSERT_GE(connection, 0);
    sockets_.push_back(connection);
    ASSERT_EQ(dma_assoc(connection, mem_, kMemory, 0), 0) << sio_last_error();
    ec_t ec = ec_create(0);
    // Pre-posted receives, half into the program's buffers, half into DMA memory: the stream
    // must come out in posting order across both.
    constexpr int kPosted = 16;
    std::vector<sio_aiocb> cbs(kPosted);
    std::vector<std::vector<std::uint8_t>> own(kPosted, std::vector<std::uint8_t>(3000));
    auto post = [&](int i) {
        cbs[i] = sio_aiocb{};
        cbs[i].aio_fildes = connection;
        cbs[i].aio_dma_buf = mem_;
        cbs[i].aio_buf = own[i].data();
        cbs[i].aio_nbytes = own[i].size();
        cbs[i].aio_sigevent.sigev_notify = SIGEV_EC;
        cbs[i].aio_sigevent.sigev_ec = ec;
        cbs[i].aio_sigevent.sigev_value.sival_int = i;
        return aio_recv(&cbs[i], i % 2 == 0 ? AIO_DMA_BUF : 0);
    };
    for (int i = 0; i < kPosted; ++i) ASSERT_EQ(post(i), 0) << sio_last_error();
    std::size_t received = 0;
    int expected = 0;  // the request that must complete next
    bool ended = false, intact = true, ordered = true;
    while (!ended) {
        event_data_t e;
        ASSERT_EQ(ec_next_events(ec, &e, 1, 5000), 1) << "stalled at byte " << received;
        int i = static_cast<int>(reinterpret_cast<std::intptr_t>(e.ev_data));
        ordered = ordered && i == expected;
        expected = (expected + 1) % kPosted;
        ssize_t n = aio_return(&cbs[i]);
        ASSERT_GE(n, 0) << strerror(errno);
        if (n == 0) {
            ended = true;
            break;
        }
        auto* data = static_cast<const std::uint8_t*>(const_cast<const void*>(cbs[i].aio_buf));
        for (ssize_t k = 0; k < n && intact; ++k)
            intact = data[k] == patternByte(0, received + static_cast<std::size_t>(k));
        received += static_cast<std::size_t>(n);
        if (i % 2 == 0) sio_release(mem_, const_cast<void*>(cbs[i].aio_buf), static_cast<std::size_t>(n));
        ASSERT_EQ(post(i), 0) << sio_last_error();
    }
    peer.join();
    EXPECT_TRUE(ordered);
    EXPECT_TRUE(intact);
    EXPECT_EQ(received, kBytes);
    sio_aio_cancel(connection, nullptr);
    event_data_t rest[kPosted];
    while (ec_next_events(ec, rest, kPosted, 50) > 0) {
    }
    EXPECT_EQ(ec_destroy(ec), 0) << sio_last_error();
}

TEST_P(SioVethTest, TcpZeroCopySendsReachAKernelReceiverIntact) {
    int listener = serverSocket(SOCK_STREAM, 7004);
    ASSERT_EQ(listen(listener, 1), 0);
    constexpr std::size_t kBuffer = 1 << 20, kBuffers = 16;
    std::atomic<std::size_t> verified{0};
    std::atomic<bool> intact{true};
    int fd = clientSocket(SOCK_STREAM);  // made here: sockets_ is the test thread's
    Joined peer([&, fd] {
        sockaddr_in address = addressOf(kServerAddress, 7004);
        if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return;
        std::vector<std::uint8_t> in(65536);
        std::size_t offset = 0;
        ssize_t n;
        while ((n = recv(fd, in.data(), in.size(), 0)) > 0) {
            for (ssize_t k = 0; k < n; ++k)
                if (in[k] != patternByte(0, (offset + static_cast<std::size_t>(k)) % kBuffer)) intact = false;
            offset += static_cast<std::size_t>(n);
        }
        verified = offset;
    });
    int connection = accept(listener, nullptr, nullptr);
    ASSERT_GE(connection, 0);
    ASSERT_EQ(dma_assoc(connection, mem_, kMemory, DMA_ASSOC_SEND), 0);
    void* buffer;
    ASSERT_EQ(sio_reserve(mem_, &buffer, kBuffer), 0);
    for (std::size_t i = 0; i < kBuffer; ++i) static_cast<std::uint8_t*>(buffer)[i] = patternByte(0, i);
    for (std::size_t i = 0; i < kBuffers; ++i)
        ASSERT_EQ(sio_send(connection, buffer, kBuffer, 0), static_cast<ssize_t>(kBuffer)) << sio_last_error();
    EXPECT_EQ(sio_release(mem_, buffer, kBuffer), 0);  // takes effect after the last notification
    EXPECT_EQ(sio_close(connection), 0);               // the peer sees the end of the stream
    peer.join();
    EXPECT_EQ(verified, kBuffer * kBuffers);
    EXPECT_TRUE(intact);
}

// Sends "echo 0" .. "echo count-1" on connected @p client, each once, and waits for each answer.
// @return how many came back intact, in order.
int answerEchoes(int client, int count) {
    int answered = 0;
    for (int i = 0; i < count; ++i) {
        char out[32], in[64];
        int length = std::snprintf(out, sizeof out, "echo %d", i);
        send(client, out, static_cast<std::size_t>(length), 0);
        pollfd descriptor{client, POLLIN, 0};
        if (poll(&descriptor, 1, 5000) != 1) break;
        ssize_t n = recv(client, in, sizeof in, 0);
        if (n != length || std::memcmp(in, out, static_cast<std::size_t>(length)) != 0) break;
        ++answered;
    }
    return answered;
}

TEST_P(SioVethTest, EchoSampleAnswersInBothOfItsModes) {
    const std::string sample = std::string(NEXNET_BINARY_DIR) + "/samples/sioecho/nexnet-sio-echo";
    NEXNET_REQUIRE(std::filesystem::exists(sample), "nexnet-sio-echo is not built (samples/sioecho)");
    for (const char* mode : {"sync", "aio"}) {
        std::string command = std::string(GetParam() == SIO_MODE_EPOLL ? "NEXNET_SIO_MODE=epoll " : "") +
            "ip netns exec " + server_->name() + " timeout 30 " + sample + " --port 7010 --count 50 --mode " + mode +
            " 2>&1";
        FILE* process = popen(command.c_str(), "r");
        ASSERT_NE(process, nullptr);
        // Its first line comes once it receives: from then on nothing sent is lost, so each
        // datagram goes once (a datagram sent again would be echoed twice, and count twice).
        std::string output;
        char line[512];
        if (std::fgets(line, sizeof line, process) != nullptr) output += line;
        int client = clientSocket(SOCK_DGRAM);
        sockaddr_in address = addressOf(kServerAddress, 7010);
        ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        int answered = answerEchoes(client, 50);
        while (std::fgets(line, sizeof line, process) != nullptr) output += line;
        EXPECT_EQ(pclose(process), 0) << output;
        EXPECT_EQ(answered, 50) << mode << ": " << output;
        EXPECT_NE(output.find("50 datagrams echoed"), std::string::npos) << output;
        EXPECT_NE(output.find(GetParam() == SIO_MODE_EPOLL ? "epoll mode" : "io_uring mode"), std::string::npos)
            << output;
    }
}

INSTANTIATE_TEST_SUITE_P(Modes, SioVethTest, ::testing::Values(SIO_MODE_URING, SIO_MODE_EPOLL),
                         [](const auto& mode) { return mode.param == SIO_MODE_URING ? "uring" : "epoll"; });

}  // namespace
