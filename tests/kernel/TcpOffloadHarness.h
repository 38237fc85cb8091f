#pragma once
/// @file TcpOffloadHarness.h
/// @brief The topology of the TCP offload tests: a kernel peer, a nexnet interface with an
/// InetStack, a HostStackBridge and a TcpOffloadEngine, and the kernel whose connection is offloaded.
///
/// @verbatim
///   peer namespace (10.83.0.1, the sender) == wire tap == nexnet [InetStack 50 -> TcpOffloadEngine]
///     -- HostStackBridge 100 -- host tap == host namespace (10.83.0.2: the kernel socket offloaded)
/// @endverbatim
/// Everything nexnet does runs on the test's thread (pump()); the peer's sockets block on threads
/// of their own.

#include "BridgedInterface.h"
#include "TapHarness.h"

#include "framework/EventLoop.h"
#include "inet/InetStack.h"
#include "netif/HostStackBridge.h"
#include "netif/NetworkInterface.h"
#include "toe/TcpOffloadEngine.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace nexnet::test {

/// Bytes of the byte-for-byte stream tests, each way (TcpOffloadTest, TcpOffloadSendTest): enough
/// for the window, the congestion control and the rings to go round many times.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr std::uint64_t kStreamTestBytes = 48u << 20;  // AddressSanitizer's copies are ten times slower
#else
inline constexpr std::uint64_t kStreamTestBytes = 256u << 20;
#endif

/// The byte at offset @p at of every stream the tests send: a hash of the offset, so a byte out
/// of place or from another offset shows.
inline std::uint8_t streamByte(std::uint64_t at) {
    return static_cast<std::uint8_t>((at * 0x9e3779b97f4a7c15ull) >> 56);
}

/// Fills @p out with the stream's bytes from @p at.
inline void fillStream(std::uint8_t* out, std::size_t length, std::uint64_t at) {
    for (std::size_t i = 0; i < length; ++i) out[i] = streamByte(at + i);
}

/// The offset of the first byte of @p data that is not the stream's at @p at, or length.
inline std::size_t firstWrongByte(const std::uint8_t* data, std::size_t length, std::uint64_t at) {
    for (std::size_t i = 0; i < length; ++i)
        if (data[i] != streamByte(at + i)) return i;
    return length;
}

class TcpOffloadHarness : public ::testing::Test {
protected:
    static constexpr std::uint16_t kPort = 5301;

    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        peer_ = std::make_unique<NetworkNamespace>("top");
        host_ = std::make_unique<NetworkNamespace>("toh");
        ASSERT_TRUE(peer_->ok() && host_->ok());
        loop_ = std::move(EventLoop::create().value());
        topology_.open(*loop_, *peer_, "10.83.0.1/24", *host_, "10.83.0.2");
        if (HasFatalFailure()) return;
        wire_ = topology_.wire.get();
        bridge_ = topology_.bridge.get();
        stack_ = topology_.stack.get();
        auto engine = TcpOffloadEngine::create(*stack_, *bridge_, engineOptions());
        ASSERT_TRUE(engine) << engine.describe();
        engine_ = std::move(engine.value());
        ASSERT_EQ(engine_->attach(*loop_), 0);
        connect();
    }

    void TearDown() override {
        if (peerThread_.joinable()) {
            if (peerSocket_ >= 0) shutdown(peerSocket_, SHUT_RDWR);  // a failed test must not leave the peer blocked
            peerThread_.join();
        }
        for (int fd : {kernel_, peerSocket_, listener_})
            if (fd >= 0) ::close(fd);
        engine_.reset();
        topology_.close();
    }

    // Offloads the accepted socket; it is the engine's placeholder from then on.
    TcpOffloadHandle offloadKernelSocket() {
        auto handle = engine_->offload(kernel_);
        EXPECT_TRUE(handle) << handle.describe();
        if (!handle) return {};
        kernel_ = -1;
        return handle.value();
    }

    // The engine's options (a fixture may name a completion sink).
    virtual TcpOffloadEngine::Options engineOptions() { return {}; }

    static in_addr address(const char* text) {
        in_addr a{};
        inet_pton(AF_INET, text, &a);
        return a;
    }

    // The peer connects to a listener of the host namespace's kernel; kernel_ is the accepted
    // socket (non-blocking: the test reads it while pumping).
    void connect() {
        listener_ = host_->openSocket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        ASSERT_GE(listener_, 0);
        sockaddr_in any{};
        any.sin_family = AF_INET;
        any.sin_port = htons(kPort);
        ASSERT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
        ASSERT_EQ(listen(listener_, 4), 0);
        peerSocket_ = peer_->openSocket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        ASSERT_GE(peerSocket_, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(kPort);
        to.sin_addr = address("10.83.0.2");
        ::connect(peerSocket_, reinterpret_cast<sockaddr*>(&to), sizeof to);
        ASSERT_TRUE(pump([&] { return (kernel_ = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK)) >= 0; }));
        int flags = fcntl(peerSocket_, F_GETFL);
        fcntl(peerSocket_, F_SETFL, flags & ~O_NONBLOCK);  // the peer's threads block
    }

    bool pump(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            loop_->runOnce(std::chrono::milliseconds(2));
            if (everyPump_) everyPump_();
            if (done()) return true;
        }
        return false;
    }

    // The peer sends @p length bytes of the stream from @p at, then shuts its side down when
    // @p finish; on a thread of its own.
    void peerSends(std::uint64_t at, std::size_t length, bool finish) {
        peerThread_ = std::thread([this, at, length, finish] {
            std::vector<std::uint8_t> chunk(256 * 1024);
            for (std::size_t done = 0; done < length;) {
                std::size_t n = std::min(chunk.size(), length - done);
                fillStream(chunk.data(), n, at + done);
                ssize_t sent = send(peerSocket_, chunk.data(), n, MSG_NOSIGNAL);
                if (sent <= 0) {
                    peerSendError_ = sent < 0 ? errno : EIO;
                    return;
                }
                done += static_cast<std::size_t>(sent);
                peerSent_ += static_cast<std::size_t>(sent);
            }
            if (finish) shutdown(peerSocket_, SHUT_WR);
        });
    }

    // Reads @p length bytes of the kernel socket, checking them against the stream from @p at.
    bool kernelReads(int fd, std::uint64_t at, std::size_t length) {
        std::vector<std::uint8_t> buffer(64 * 1024);
        std::size_t done = 0;
        bool right = true;
        pump([&] {
            ssize_t n = recv(fd, buffer.data(), std::min(buffer.size(), length - done), 0);
            if (n > 0) {
                right = right &&
                    firstWrongByte(buffer.data(), static_cast<std::size_t>(n), at + done) ==
                        static_cast<std::size_t>(n);
                done += static_cast<std::size_t>(n);
            }
            return done == length;
        });
        return right && done == length;
    }

    // Writes @p length bytes at @p data to the non-blocking socket @p fd, pumping meanwhile.
    bool kernelWrites(int fd, const std::uint8_t* data, std::size_t length) {
        std::size_t done = 0;
        pump([&] {
            ssize_t n = send(fd, data + done, length - done, MSG_NOSIGNAL);
            if (n > 0) done += static_cast<std::size_t>(n);
            return done == length;
        });
        return done == length;
    }

    // What the application received through the engine.
    struct Received {
        std::uint64_t bytes = 0;   ///< In order, checked.
        bool corrupt = false;      ///< A byte did not match the stream.
        bool endOfStream = false;  ///< An end-of-stream completion came.
        int error = 0;             ///< The first error completion's.
        unsigned completions = 0;
    };

    // Posts @p buffers buffers of @p size bytes on @p handle and reposts each as it completes,
    // until @p done(received) or the time runs out. The stream's bytes start at @p at.
    Received receiveThroughEngine(TcpOffloadHandle handle, std::uint64_t at, unsigned buffers, std::size_t size,
                                  const std::function<bool(const Received&)>& done,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        storage_.assign(buffers, std::vector<std::uint8_t>(size));
        for (unsigned i = 0; i < buffers; ++i) EXPECT_EQ(engine_->postReceive(handle, storage_[i].data(), size, i), 0);
        Received received;
        pump(
            [&] {
                TcpCompletion completions[16];
                unsigned n = engine_->completionQueue()->take(completions, 16);
                for (unsigned i = 0; i < n; ++i) {
                    const TcpCompletion& c = completions[i];
                    received.completions++;
                    if (c.error != 0 && received.error == 0) received.error = c.error;
                    received.endOfStream = received.endOfStream || c.endOfStream;
                    if (c.buffer != nullptr && firstWrongByte(c.buffer, c.bytes, at + received.bytes) != c.bytes)
                        received.corrupt = true;
                    received.bytes += c.bytes;
                    if (c.buffer != nullptr && c.error == 0 && !c.endOfStream)
                        engine_->postReceive(handle, c.buffer, size, c.cookie);
                }
                return done(received);
            },
            timeout);
        return received;
    }

    std::unique_ptr<NetworkNamespace> peer_;
    std::unique_ptr<NetworkNamespace> host_;
    std::unique_ptr<EventLoop> loop_;
    BridgedInterface topology_;
    NetworkInterface* wire_ = nullptr;
    HostStackBridge* bridge_ = nullptr;
    InetStack* stack_ = nullptr;
    std::unique_ptr<TcpOffloadEngine> engine_;
    int listener_ = -1;
    int peerSocket_ = -1;
    int kernel_ = -1;  // the accepted socket; the engine's placeholder once offloaded
    std::thread peerThread_;
    std::atomic<std::size_t> peerSent_{0};
    std::atomic<int> peerSendError_{0};
    std::vector<std::vector<std::uint8_t>> storage_;
    std::function<void()> everyPump_;  // run after every turn of the loop (an ImpairedLink's release)
};

}  // namespace nexnet::test
