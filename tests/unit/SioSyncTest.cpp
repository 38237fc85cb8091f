// sio_send*/sio_recv* on kernel sockets over loopback (sio.h), in both transport modes.
#include "sio/dma.h"
#include "sio/sio.h"
#include "support/LoopbackUdp.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using nexnet::test::label;
using nexnet::test::loopbackUdpSocket;

namespace {

constexpr std::size_t kMemory = 1 << 20;

bool inside(const void* p, dma_mem_t mem) {
    dma_info info{};
    dma_getinfo(mem, &info);
    auto byte = static_cast<const char*>(p);
    return byte >= static_cast<char*>(info.di_addr) && byte < static_cast<char*>(info.di_addr) + info.di_size;
}

class SioSyncTest : public ::testing::TestWithParam<int> {
protected:
    void SetUp() override {
        if (sio_set_mode(GetParam()) != 0) GTEST_SKIP() << sio_last_error();
        receiver_ = loopbackUdpSocket(receiverAddress_);
        sender_ = loopbackUdpSocket(senderAddress_);
        ASSERT_EQ(dma_alloc(&mem_, kMemory, 0), 0) << sio_last_error();
        ASSERT_EQ(dma_assoc(receiver_, mem_, kMemory, 0), 0) << sio_last_error();
    }
    void TearDown() override {
        if (receiver_ >= 0) {
            EXPECT_EQ(sio_close(receiver_), 0);
        }
        if (sender_ >= 0) {
            EXPECT_EQ(sio_close(sender_), 0);
        }
        if (mem_ != nullptr) {
            EXPECT_EQ(dma_free(mem_, kMemory), 0) << sio_last_error();
        }
    }
    void sendPlain(const std::string& text) {
        ASSERT_EQ(sendto(sender_, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&receiverAddress_),
                         sizeof receiverAddress_),
                  static_cast<ssize_t>(text.size()));
    }

    int receiver_ = -1, sender_ = -1;
    sockaddr_in receiverAddress_{}, senderAddress_{};
    dma_mem_t mem_ = nullptr;
};

TEST_P(SioSyncTest, ReceiveReturnsTheDataInsideTheAssociatedMemory) {
    sendPlain("hello, Drepper");
    void* data = nullptr;
    sockaddr_in from{};
    socklen_t fromLength = sizeof from;
    ssize_t n = sio_recvfrom(receiver_, &data, 2048, 0, reinterpret_cast<sockaddr*>(&from), &fromLength);
    ASSERT_EQ(n, 14) << sio_last_error();
    EXPECT_EQ(std::memcmp(data, "hello, Drepper", 14), 0);
    EXPECT_TRUE(inside(data, mem_));
    EXPECT_EQ(fromLength, sizeof from);
    EXPECT_EQ(from.sin_port, senderAddress_.sin_port);
    EXPECT_EQ(sio_release(mem_, data, static_cast<size_t>(n)), 0);
    EXPECT_EQ(sio_release(mem_, data, static_cast<size_t>(n)), -1);  // once
}

TEST_P(SioSyncTest, EchoSendsTheReceivedBufferInPlace) {
    sendPlain("ping");
    void* data = nullptr;
    sockaddr_in from{};
    socklen_t fromLength = sizeof from;
    ssize_t n = sio_recvfrom(receiver_, &data, 2048, 0, reinterpret_cast<sockaddr*>(&from), &fromLength);
    ASSERT_EQ(n, 4);
    std::memcpy(data, "pong", 4);
    ASSERT_EQ(sio_sendto(receiver_, data, 4, 0, reinterpret_cast<sockaddr*>(&from), fromLength), 4) << sio_last_error();
    EXPECT_EQ(sio_release(mem_, data, 4), 0);
    char answer[16];
    ASSERT_EQ(recv(sender_, answer, sizeof answer, 0), 4);
    EXPECT_EQ(std::memcmp(answer, "pong", 4), 0);
}

TEST_P(SioSyncTest, ZeroCopySendFromReservedMemory) {
    std::size_t previous = sio_set_zerocopy_threshold(0);  // every send zero-copy where possible
    void* buffer;
    ASSERT_EQ(sio_reserve(mem_, &buffer, 1400), 0);
    std::memset(buffer, 'z', 1400);
    EXPECT_EQ(
        sio_sendto(receiver_, buffer, 1400, 0, reinterpret_cast<sockaddr*>(&senderAddress_), sizeof senderAddress_),
        1400)
        << sio_last_error();
    EXPECT_EQ(sio_release(mem_, buffer, 1400), 0);  // may wait for the kernel's notification
    std::vector<char> got(2000);
    ASSERT_EQ(recv(sender_, got.data(), got.size(), 0), 1400);
    EXPECT_EQ(got[0], 'z');
    EXPECT_EQ(got[1399], 'z');
    sio_set_zerocopy_threshold(previous);
}

TEST_P(SioSyncTest, MsgZeroCopyIsEitherZeroCopyOrRefused) {
    void* buffer;
    ASSERT_EQ(sio_reserve(mem_, &buffer, 100), 0);
    ssize_t n = sio_sendto(receiver_, buffer, 100, MSG_ZEROCOPY, reinterpret_cast<sockaddr*>(&senderAddress_),
                           sizeof senderAddress_);
    if (sio_mode() == SIO_MODE_EPOLL) {
        EXPECT_EQ(n, -1);
        EXPECT_EQ(errno, ENOTSUP);
        EXPECT_NE(std::string(sio_last_error()).find("MSG_ZEROCOPY"), std::string::npos) << sio_last_error();
    } else {
        EXPECT_EQ(n, 100) << sio_last_error();
    }
    EXPECT_EQ(sio_release(mem_, buffer, 100), 0);
}

TEST_P(SioSyncTest, SendsFromOtherMemoryAreRefused) {
    char stack[64] = "not DMA memory";
    EXPECT_EQ(sio_send(receiver_, stack, sizeof stack, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    void* buffer;
    ASSERT_EQ(sio_reserve(mem_, &buffer, 2048), 0);
    EXPECT_EQ(sio_sendto(receiver_, static_cast<char*>(buffer) + 1000, 2000, 0,
                         reinterpret_cast<sockaddr*>(&senderAddress_), sizeof senderAddress_),
              -1);  // runs past the reservation
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_release(mem_, buffer, 2048), 0);
    EXPECT_EQ(
        sio_sendto(receiver_, buffer, 100, 0, reinterpret_cast<sockaddr*>(&senderAddress_), sizeof senderAddress_),
        -1);  // released already
    EXPECT_EQ(errno, EINVAL);
    // The sender socket has no memory associated: the receiver's memory is not its to send from.
    ASSERT_EQ(sio_reserve(mem_, &buffer, 100), 0);
    EXPECT_EQ(
        sio_sendto(sender_, buffer, 100, 0, reinterpret_cast<sockaddr*>(&receiverAddress_), sizeof receiverAddress_),
        -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_release(mem_, buffer, 100), 0);
}

TEST_P(SioSyncTest, NonBlockingReceiveWithoutDataIsEAGAIN) {
    void* data;
    EXPECT_EQ(sio_recv(receiver_, &data, 2048, MSG_DONTWAIT), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_EQ(sio_recv(receiver_, &data, 2048, MSG_PEEK), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_recv(receiver_, nullptr, 2048, 0), -1);
    EXPECT_EQ(errno, EINVAL);
}

TEST_P(SioSyncTest, ReceiveWithoutAssociatedMemoryIsEINVAL) {
    void* data;
    EXPECT_EQ(sio_recv(sender_, &data, 2048, MSG_DONTWAIT), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_recv(12345, &data, 2048, 0), -1);  // not a descriptor
    EXPECT_EQ(errno, EBADF);
    int pipes[2];
    ASSERT_EQ(pipe(pipes), 0);
    EXPECT_EQ(sio_recv(pipes[0], &data, 2048, 0), -1);
    EXPECT_EQ(errno, ENOTSOCK);
    close(pipes[0]);
    close(pipes[1]);
}

TEST_P(SioSyncTest, BlockingReceiveWaitsForTheDatagram) {
    std::thread later([this] {
        usleep(20000);
        sendPlain("late");
    });
    void* data;
    ssize_t n = sio_recv(receiver_, &data, 2048, 0);
    later.join();
    ASSERT_EQ(n, 4) << sio_last_error();
    EXPECT_EQ(std::memcmp(data, "late", 4), 0);
    EXPECT_EQ(sio_release(mem_, data, 4), 0);
}

TEST_P(SioSyncTest, LongDatagramIsTruncatedToSize) {
    sendPlain(std::string(1000, 'x'));
    msghdr message{};
    iovec vector{nullptr, 100};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    sockaddr_in from{};
    message.msg_name = &from;
    message.msg_namelen = sizeof from;
    ASSERT_EQ(sio_recvmsg(receiver_, &message, 0), 100) << sio_last_error();
    EXPECT_EQ(vector.iov_len, 100u);
    EXPECT_TRUE(inside(vector.iov_base, mem_));
    EXPECT_TRUE(message.msg_flags & MSG_TRUNC);
    EXPECT_EQ(from.sin_port, senderAddress_.sin_port);
    EXPECT_EQ(sio_release(mem_, vector.iov_base, 100), 0);
}

TEST_P(SioSyncTest, HeldBuffersRunOutAndComeBackWhenReleased) {
    // A small memory: 16 units, 8 lent for receiving (few enough datagrams for the socket's
    // receive queue to hold every one meanwhile: epoll mode reads them only when asked).
    sockaddr_in address{};
    int socket = loopbackUdpSocket(address);
    dma_mem_t small;
    ASSERT_EQ(dma_alloc(&small, 16 * 2048, DMA_NOHUGEPAGES), 0);
    ASSERT_EQ(dma_assoc(socket, small, 16 * 2048, 0), 0);
    dma_info info{};
    dma_getinfo(small, &info);
    std::size_t buffers = (16 * 2048 - info.di_free) / info.di_unit;
    ASSERT_EQ(buffers, 8u);
    for (std::size_t i = 0; i < buffers + 1; ++i)
        ASSERT_EQ(sendto(sender_, label('x', i).data(), label('x', i).size(), 0, reinterpret_cast<sockaddr*>(&address),
                         sizeof address),
                  static_cast<ssize_t>(label('x', i).size()));
    std::vector<void*> held;
    for (std::size_t i = 0; i < buffers; ++i) {
        void* data;
        ASSERT_EQ(sio_recv(socket, &data, 2048, 0), static_cast<ssize_t>(label('x', i).size()))
            << i << ": " << sio_last_error();
        held.push_back(data);
    }
    void* data;
    EXPECT_EQ(sio_recv(socket, &data, 2048, 0), -1);  // the last datagram waits in the socket
    EXPECT_EQ(errno, ENOBUFS);
    for (void* p : held) ASSERT_EQ(sio_release(small, p, 1), 0);
    ASSERT_EQ(sio_recv(socket, &data, 2048, 0), static_cast<ssize_t>(label('x', buffers).size()))
        << sio_last_error();  // nothing was lost
    EXPECT_EQ(std::string(static_cast<char*>(data), 2), "x8");
    EXPECT_EQ(sio_release(small, data, 1), 0);
    EXPECT_EQ(sio_close(socket), 0);
    EXPECT_EQ(dma_free(small, 16 * 2048), 0) << sio_last_error();
}

TEST_P(SioSyncTest, DisassociatedMemoryCannotBeSentFromButHeldBuffersStayValid) {
    sendPlain("keep");
    void* data;
    ASSERT_EQ(sio_recv(receiver_, &data, 2048, 0), 4);
    ASSERT_EQ(dma_disassoc(receiver_, mem_, kMemory), 0) << sio_last_error();
    EXPECT_EQ(dma_disassoc(receiver_, mem_, kMemory), -1);
    EXPECT_EQ(errno, ENOENT);
    EXPECT_EQ(std::memcmp(data, "keep", 4), 0);
    EXPECT_EQ(sio_send(receiver_, data, 4, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_release(mem_, data, 4), 0);
    dma_info info{};
    dma_getinfo(mem_, &info);
    EXPECT_EQ(info.di_free, kMemory);  // every receive buffer came back
    EXPECT_EQ(info.di_associations, 0);
}

TEST_P(SioSyncTest, AssociationMisuseIsRefused) {
    EXPECT_EQ(dma_assoc(receiver_, mem_, kMemory, 0), -1);
    EXPECT_EQ(errno, EEXIST);
    EXPECT_EQ(dma_assoc(receiver_, mem_, kMemory / 2, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(dma_assoc(sender_, mem_, kMemory, 0x40), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(dma_free(mem_, kMemory), -1);
    EXPECT_EQ(errno, EBUSY);
    EXPECT_EQ(dma_disassoc(sender_, mem_, kMemory), -1);
    EXPECT_EQ(errno, ENOENT);
}

TEST_P(SioSyncTest, SeveralMemoriesPerSocketAllLendBuffers) {
    dma_mem_t second;
    ASSERT_EQ(dma_alloc(&second, kMemory, DMA_UNIT_4K), 0);
    ASSERT_EQ(dma_assoc(receiver_, second, kMemory, 0), 0) << sio_last_error();
    dma_info info{};
    dma_getinfo(second, &info);
    EXPECT_LT(info.di_free, kMemory);  // lent some receive buffers
    // 100: few enough for the socket to queue every one before epoll mode reads them.
    for (int i = 0; i < 100; ++i) sendPlain(label('m', static_cast<std::size_t>(i)));
    bool sawFirst = false, sawSecond = false;
    for (int i = 0; i < 100; ++i) {
        void* data;
        ssize_t n = sio_recv(receiver_, &data, 4096, 0);
        std::string expected = label('m', static_cast<std::size_t>(i));
        ASSERT_EQ(n, static_cast<ssize_t>(expected.size())) << sio_last_error();
        ASSERT_EQ(std::string(static_cast<char*>(data), static_cast<std::size_t>(n)), expected);
        dma_mem_t owner = inside(data, mem_) ? mem_ : second;
        (owner == mem_ ? sawFirst : sawSecond) = true;
        ASSERT_EQ(sio_release(owner, data, 1), 0);
    }
    EXPECT_TRUE(sawFirst || sawSecond);
    ASSERT_EQ(dma_disassoc(receiver_, second, kMemory), 0);
    EXPECT_EQ(dma_free(second, kMemory), 0) << sio_last_error();
}

TEST_P(SioSyncTest, CloseEndsEverything) {
    sendPlain("left behind");
    usleep(10000);
    ASSERT_EQ(sio_close(receiver_), 0);
    receiver_ = -1;
    dma_info info{};
    dma_getinfo(mem_, &info);
    EXPECT_EQ(info.di_free, kMemory);
    EXPECT_EQ(info.di_associations, 0);
}

TEST_P(SioSyncTest, ModeIsReportedWithAReason) {
    EXPECT_EQ(sio_mode(), GetParam());
    std::string message = sio_mode_message();
    EXPECT_NE(message.find(GetParam() == SIO_MODE_URING ? "io_uring" : "epoll"), std::string::npos) << message;
    EXPECT_EQ(sio_set_mode(GetParam() == SIO_MODE_URING ? SIO_MODE_EPOLL : SIO_MODE_URING), -1);  // sockets in use
    EXPECT_EQ(errno, EBUSY);
    EXPECT_EQ(sio_set_mode(99), -1);
}

INSTANTIATE_TEST_SUITE_P(Modes, SioSyncTest, ::testing::Values(SIO_MODE_URING, SIO_MODE_EPOLL),
                         [](const auto& mode) { return mode.param == SIO_MODE_URING ? "uring" : "epoll"; });

}  // namespace
