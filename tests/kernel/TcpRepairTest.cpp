// TcpRepair: taking an established kernel TCP connection over and giving it back, with the Linux
// kernel on both ends (two namespaces joined by a veth). The peer must never notice.
#include "support/NetworkNamespace.h"
#include "support/TestEnvironment.h"
#include "toe/TcpRepair.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace nexnet::test {
namespace {

constexpr std::uint16_t kPort = 5170;

sockaddr_in address(const char* ip, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

// Reads exactly @p length bytes (or fails after 5 s).
std::string readExactly(int fd, std::size_t length) {
    std::string data;
    char buffer[65536];
    while (data.size() < length) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0) break;
        ssize_t n = recv(fd, buffer, std::min(sizeof buffer, length - data.size()), 0);
        if (n <= 0) break;
        data.append(buffer, static_cast<std::size_t>(n));
    }
    return data;
}

void sendAll(int fd, const std::string& data) {
    ASSERT_EQ(send(fd, data.data(), data.size(), MSG_NOSIGNAL), static_cast<ssize_t>(data.size()));
}

// Waits until the peer has acknowledged everything @p fd sent.
bool waitForAcknowledgements(int fd) {
    for (int i = 0; i < 500; ++i) {
        int outstanding = 0;
        if (ioctl(fd, TIOCOUTQ, &outstanding) == 0 && outstanding == 0) return true;
        usleep(2000);
    }
    return false;
}

// A client in one namespace connected to a server in another.
class TcpRepairTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        client_ = std::make_unique<NetworkNamespace>("trc");
        server_ = std::make_unique<NetworkNamespace>("trs");
        ASSERT_TRUE(client_->ok() && server_->ok());
        ASSERT_EQ(client_->run("ip link add nxtr0 type veth peer name nxtr1").status, 0);
        ASSERT_EQ(client_->run("ip link set nxtr1 netns " + server_->name()).status, 0);
        ASSERT_EQ(client_->run("ip addr add 10.92.0.1/24 dev nxtr0").status, 0);
        ASSERT_EQ(client_->run("ip link set nxtr0 up").status, 0);
        ASSERT_EQ(server_->run("ip addr add 10.92.0.2/24 dev nxtr1").status, 0);
        ASSERT_EQ(server_->run("ip link set nxtr1 up").status, 0);
        listener_ = server_->openSocket(AF_INET, SOCK_STREAM, 0);
        ASSERT_GE(listener_, 0);
        sockaddr_in any = address("10.92.0.2", kPort);
        ASSERT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
        ASSERT_EQ(listen(listener_, 4), 0);
        client = client_->openSocket(AF_INET, SOCK_STREAM, 0);
        ASSERT_GE(client, 0);
        sockaddr_in to = address("10.92.0.2", kPort);
        ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
        server = accept(listener_, nullptr, nullptr);
        ASSERT_GE(server, 0);
    }
    void TearDown() override {
        for (int fd : {client, server, listener_})
            if (fd >= 0) close(fd);
    }

    // Takes the client's connection over and gives it back in a new socket.
    int handOverClient(TcpConnectionState* captured = nullptr) {
        auto state = TcpRepair::capture(client);
        EXPECT_TRUE(state) << state.describe();
        if (!state) return -1;
        if (captured != nullptr) *captured = state.value();
        TcpRepair::closeSilently(client);
        client = -1;
        auto restored = TcpRepair::restore(state.value(), client_->openSocket(AF_INET, SOCK_STREAM, 0));
        EXPECT_TRUE(restored) << restored.describe();
        return restored ? restored.value() : -1;
    }

    std::unique_ptr<NetworkNamespace> client_, server_;
    int listener_ = -1;
    int client = -1;
    int server = -1;
};

TEST_F(TcpRepairTest, CaptureReadsTheSequenceNumbersOptionsAndUnreadData) {
    sendAll(server, "hello");
    sendAll(client, "abc");
    ASSERT_EQ(readExactly(server, 3), "abc");
    ASSERT_TRUE(waitForAcknowledgements(client));
    ASSERT_TRUE(waitForAcknowledgements(server));
    auto state = TcpRepair::capture(client);
    ASSERT_TRUE(state) << state.describe();
    EXPECT_EQ(std::string(state->receiveQueue.begin(), state->receiveQueue.end()), "hello");
    EXPECT_EQ(state->receiveNext - state->readSequence, 5u);
    EXPECT_TRUE(state->sendQueue.empty());
    EXPECT_EQ(state->sendNext, state->sendUnacknowledged);
    EXPECT_EQ(ntohs(state->remote.sin_port), kPort);
    EXPECT_GT(state->mss, 500u);
    // Linux negotiates these by default between two Linux ends.
    EXPECT_TRUE(state->sackPermitted);
    EXPECT_TRUE(state->timestamps);
    EXPECT_TRUE(state->windowScaling);
    EXPECT_TRUE(state->hasWindow);
    // The server's view agrees: what it will send next is what we expect next.
    int repairOn = 1;
    ASSERT_EQ(setsockopt(server, SOL_TCP, TCP_REPAIR, &repairOn, sizeof repairOn), 0);
    int queue = TCP_SEND_QUEUE;
    ASSERT_EQ(setsockopt(server, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof queue), 0);
    std::uint32_t serverWriteSeq = 0;
    socklen_t size = sizeof serverWriteSeq;
    ASSERT_EQ(getsockopt(server, SOL_TCP, TCP_QUEUE_SEQ, &serverWriteSeq, &size), 0);
    EXPECT_EQ(serverWriteSeq, state->receiveNext);
    ASSERT_EQ(TcpRepair::resume(server), 0);
    EXPECT_EQ(TcpRepair::resume(client), 0);
}

TEST_F(TcpRepairTest, ARestoredConnectionCarriesOnBothWaysAndThePeerNoticesNothing) {
    sendAll(server, "unread before the hand-off;");
    ASSERT_TRUE(waitForAcknowledgements(server));
    int restored = handOverClient();
    ASSERT_GE(restored, 0);
    client = restored;
    EXPECT_EQ(readExactly(client, 27), "unread before the hand-off;");  // delivered first
    sendAll(server, "after");
    EXPECT_EQ(readExactly(client, 5), "after");
    sendAll(client, "from the new socket");
    EXPECT_EQ(readExactly(server, 19), "from the new socket");
    int error = 0;
    socklen_t size = sizeof error;
    ASSERT_EQ(getsockopt(server, SOL_SOCKET, SO_ERROR, &error, &size), 0);
    EXPECT_EQ(error, 0);  // no RST reached it
}

TEST_F(TcpRepairTest, DataTheApplicationQueuedButTheKernelNeverSentGoesOutAfterTheHandOff) {
    // The server reads nothing: its window closes and the client's data stays unsent.
    int small = 4096;
    ASSERT_EQ(setsockopt(server, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    fcntl(client, F_SETFL, O_NONBLOCK);
    std::string pattern;
    for (int i = 0; pattern.size() < 2u << 20; ++i) pattern += std::to_string(i) + ",";
    std::size_t queued = 0;
    while (queued < pattern.size()) {
        ssize_t n = send(client, pattern.data() + queued, pattern.size() - queued, MSG_NOSIGNAL);
        if (n <= 0) break;
        queued += static_cast<std::size_t>(n);
    }
    usleep(100000);  // let in-flight data settle against the closed window
    TcpConnectionState captured;
    int restored = handOverClient(&captured);
    ASSERT_GE(restored, 0);
    client = restored;
    EXPECT_GT(captured.unsentBytes, 0u);
    EXPECT_GE(captured.sendQueue.size(), captured.unsentBytes);
    // Everything the application had queued reaches the peer, in order, exactly once.
    std::string received = readExactly(server, queued);
    ASSERT_EQ(received.size(), queued);
    EXPECT_TRUE(received == pattern.substr(0, queued));
}

TEST_F(TcpRepairTest, TimestampsStayContinuousAcrossTheHandOff) {
    TcpConnectionState captured;
    int restored = handOverClient(&captured);
    ASSERT_GE(restored, 0);
    client = restored;
    ASSERT_TRUE(captured.timestamps);
    std::uint32_t now = 0;
    socklen_t size = sizeof now;
    ASSERT_EQ(getsockopt(client, SOL_TCP, TCP_TIMESTAMP, &now, &size), 0);
    EXPECT_LT(now - captured.timestampClock, 10000u);  // the same clock (unsigned: not behind it), not a new random one
    sendAll(client, "x");                              // the peer's PAWS check accepts it
    EXPECT_EQ(readExactly(server, 1), "x");
}

TEST_F(TcpRepairTest, AConnectionThatIsNotEstablishedIsRefusedAndLeftAlone) {
    auto state = TcpRepair::capture(listener_);
    EXPECT_FALSE(state);
    EXPECT_NE(state.message(), "");
    // The listener still accepts connections: capture put it back to normal operation.
    int another = client_->openSocket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to = address("10.92.0.2", kPort);
    EXPECT_EQ(connect(another, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    close(another);
}

TEST_F(TcpRepairTest, WithoutCapNetAdminTheCaptureIsRefusedWithEperm) {
    pid_t child = fork();
    if (child == 0) {
        if (setresuid(65534, 65534, 65534) != 0) _exit(2);  // nobody: no capabilities left
        auto state = TcpRepair::capture(client);
        _exit(!state && state.error() == EPERM && state.message().find("CAP_NET_ADMIN") != std::string::npos ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    sendAll(client, "still fine");
    EXPECT_EQ(readExactly(server, 10), "still fine");
}

}  // namespace
}  // namespace nexnet::test
