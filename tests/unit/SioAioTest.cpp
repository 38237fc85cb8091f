// Asynchronous requests (aio.h) on kernel sockets over loopback, in both transport modes:
// ev_* and aio_* with event channels, AIO_DMA_BUF, lio_listio, aio_error/aio_return/aio_cancel,
// order of pre-posted receives, the channel's bound.
#include "sio/aio.h"
#include "sio/sio.h"
#include "support/LoopbackUdp.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using nexnet::test::label;
using nexnet::test::loopbackUdpSocket;

namespace {

constexpr std::size_t kMemory = 1 << 20;

class SioAioTest : public ::testing::TestWithParam<int> {
protected:
    void SetUp() override {
        if (sio_set_mode(GetParam()) != 0) GTEST_SKIP() << sio_last_error();
        receiver_ = loopbackUdpSocket(receiverAddress_);
        sender_ = loopbackUdpSocket(senderAddress_);
        ASSERT_EQ(dma_alloc(&mem_, kMemory, 0), 0) << sio_last_error();
        ASSERT_EQ(dma_assoc(receiver_, mem_, kMemory, 0), 0) << sio_last_error();
        ec_ = ec_create(0);
        ASSERT_NE(ec_, nullptr);
    }
    void TearDown() override {
        if (receiver_ >= 0) sio_close(receiver_);
        if (sender_ >= 0) sio_close(sender_);
        if (ec_ != nullptr) {
            EXPECT_EQ(ec_destroy(ec_), 0) << sio_last_error();
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
    sio_aiocb receiveRequest(void* buffer, std::size_t size, void* tag) {
        sio_aiocb cb{};
        cb.aio_fildes = receiver_;
        cb.aio_buf = buffer;
        cb.aio_nbytes = size;
        cb.aio_dma_buf = mem_;
        cb.aio_sigevent.sigev_notify = SIGEV_EC;
        cb.aio_sigevent.sigev_ec = ec_;
        cb.aio_sigevent.sigev_value.sival_ptr = tag;
        return cb;
    }
    event_data_t next() {
        event_data_t e{};
        int n = ec_next_events(ec_, &e, 1, 5000);
        EXPECT_EQ(n, 1) << "no event within 5 s: " << (n < 0 ? sio_last_error() : "");
        return e;
    }
    bool inside(const volatile void* p) {
        dma_info info{};
        dma_getinfo(mem_, &info);
        auto byte = static_cast<const volatile char*>(p);
        return byte >= static_cast<char*>(info.di_addr) && byte < static_cast<char*>(info.di_addr) + info.di_size;
    }

    int receiver_ = -1, sender_ = -1;
    sockaddr_in receiverAddress_{}, senderAddress_{};
    dma_mem_t mem_ = nullptr;
    ec_t ec_ = nullptr;
};

TEST_P(SioAioTest, PrePostedReceivesCompleteInPostingOrder) {
    constexpr int kCount = 40;
    std::vector<std::array<char, 64>> buffers(kCount);
    std::vector<sio_aiocb> cbs(kCount);
    for (int i = 0; i < kCount; ++i) {
        cbs[i] = receiveRequest(buffers[i].data(), buffers[i].size(), &cbs[i]);
        ASSERT_EQ(aio_recv(&cbs[i], 0), 0) << sio_last_error();
        EXPECT_EQ(aio_error(&cbs[i]), EINPROGRESS);
    }
    for (int i = 0; i < kCount; ++i) sendPlain(label('d', static_cast<std::size_t>(i)));
    for (int i = 0; i < kCount; ++i) {
        event_data_t e = next();
        ASSERT_EQ(e.ev_type, event_type_aio);
        ASSERT_EQ(e.ev_un.ev_aio, &cbs[i]) << "event " << i << " out of order";
        EXPECT_EQ(e.ev_data, &cbs[i]);
        std::string expected = label('d', static_cast<std::size_t>(i));
        EXPECT_EQ(e.ev_result, static_cast<ssize_t>(expected.size()));
        EXPECT_EQ(aio_error(&cbs[i]), 0);
        EXPECT_EQ(aio_return(&cbs[i]), static_cast<ssize_t>(expected.size()));
        EXPECT_EQ(std::string(buffers[i].data(), expected.size()), expected);
        EXPECT_EQ(aio_return(&cbs[i]), -1);  // once
        EXPECT_EQ(errno, EINVAL);
    }
}

TEST_P(SioAioTest, DmaReceiveHandsOverTheBufferTheKernelFilled) {
    sio_aiocb cb = receiveRequest(nullptr, 0, nullptr);
    ASSERT_EQ(aio_recv(&cb, AIO_DMA_BUF), 0) << sio_last_error();
    sendPlain("zero copy");
    event_data_t e = next();
    ASSERT_EQ(e.ev_un.ev_aio, &cb);
    ASSERT_EQ(aio_return(&cb), 9);
    EXPECT_TRUE(inside(cb.aio_buf));
    EXPECT_EQ(std::memcmp(const_cast<void*>(cb.aio_buf), "zero copy", 9), 0);
    EXPECT_EQ(sio_release(mem_, const_cast<void*>(cb.aio_buf), 9), 0);
}

TEST_P(SioAioTest, ReceiveFromAndMsgFillTheSenderAddress) {
    char data[64];
    sockaddr_in from{};
    socklen_t fromLength = sizeof from;
    sio_aiocb cb = receiveRequest(data, sizeof data, nullptr);
    ASSERT_EQ(aio_recvfrom(&cb, 0, reinterpret_cast<sockaddr*>(&from), &fromLength), 0);
    char control[64];
    sockaddr_in msgFrom{};
    iovec vector{nullptr, 0};
    msghdr message{};
    message.msg_name = &msgFrom;
    message.msg_namelen = sizeof msgFrom;
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    sio_aiocb cbMsg = receiveRequest(nullptr, 0, nullptr);
    cbMsg.aio_msg = &message;
    ASSERT_EQ(aio_recvmsg(&cbMsg, AIO_DMA_BUF), 0) << sio_last_error();
    sendPlain("one");
    sendPlain("two!");
    next();
    next();
    ASSERT_EQ(aio_return(&cb), 3);
    EXPECT_EQ(fromLength, sizeof from);
    EXPECT_EQ(from.sin_port, senderAddress_.sin_port);
    ASSERT_EQ(aio_return(&cbMsg), 4);
    EXPECT_EQ(vector.iov_len, 4u);
    EXPECT_TRUE(inside(vector.iov_base));
    EXPECT_EQ(std::memcmp(vector.iov_base, "two!", 4), 0);
    EXPECT_EQ(msgFrom.sin_port, senderAddress_.sin_port);
    EXPECT_EQ(message.msg_controllen, 0u);
    EXPECT_EQ(sio_release(mem_, vector.iov_base, 4), 0);
}

TEST_P(SioAioTest, SendsCompleteWithEvents) {
    void* buffer;
    ASSERT_EQ(sio_reserve(mem_, &buffer, 1000), 0);
    std::memset(buffer, 'q', 1000);
    sio_aiocb dma{};
    dma.aio_fildes = receiver_;
    dma.aio_buf = buffer;
    dma.aio_nbytes = 1000;
    dma.aio_dma_buf = mem_;
    dma.aio_sigevent.sigev_notify = SIGEV_EC;
    dma.aio_sigevent.sigev_ec = ec_;
    ASSERT_EQ(aio_sendto(&dma, AIO_DMA_BUF, reinterpret_cast<sockaddr*>(&senderAddress_), sizeof senderAddress_), 0)
        << sio_last_error();
    char plain[] = "plain buffer";
    sio_aiocb copy = dma;
    std::memset(copy.aio_private, 0, sizeof copy.aio_private);  // a fresh control block
    copy.aio_buf = plain;
    copy.aio_nbytes = sizeof plain;
    ASSERT_EQ(aio_sendto(&copy, 0, reinterpret_cast<sockaddr*>(&senderAddress_), sizeof senderAddress_), 0);
    std::vector<sio_aiocb*> done{next().ev_un.ev_aio, next().ev_un.ev_aio};
    EXPECT_NE(std::find(done.begin(), done.end(), &dma), done.end());
    EXPECT_NE(std::find(done.begin(), done.end(), &copy), done.end());
    EXPECT_EQ(aio_return(&dma), 1000);
    EXPECT_EQ(aio_return(&copy), static_cast<ssize_t>(sizeof plain));
    EXPECT_EQ(sio_release(mem_, buffer, 1000), 0);
    char got[2000];
    ssize_t a = recv(sender_, got, sizeof got, 0);
    ssize_t b = recv(sender_, got, sizeof got, 0);
    EXPECT_EQ(a + b, static_cast<ssize_t>(1000 + sizeof plain));
}

TEST_P(SioAioTest, EvCallsReportThroughTheirChannel) {
    char in[32];
    sockaddr_in from{};
    socklen_t fromLength = sizeof from;
    int tagRecv = 0, tagSend = 0, tagFrom = 0;
    ASSERT_EQ(ev_recv(receiver_, in, sizeof in, 0, ec_, &tagRecv), 0) << sio_last_error();
    ASSERT_EQ(ev_recvfrom(receiver_, in, sizeof in, 0, reinterpret_cast<sockaddr*>(&from), &fromLength, ec_, &tagFrom),
              0);
    sendPlain("ev!");
    sendPlain("ev2");
    event_data_t first = next();
    EXPECT_EQ(first.ev_type, event_type_recv);
    EXPECT_EQ(first.ev_un.ev_fd, receiver_);
    EXPECT_EQ(first.ev_data, &tagRecv);
    EXPECT_EQ(first.ev_result, 3);
    event_data_t second = next();
    EXPECT_EQ(second.ev_data, &tagFrom);
    EXPECT_EQ(from.sin_port, senderAddress_.sin_port);
    EXPECT_EQ(std::memcmp(in, "ev2", 3), 0);
    const char out[] = "reply";
    ASSERT_EQ(ev_sendto(receiver_, out, 5, 0, reinterpret_cast<sockaddr*>(&senderAddress_), sizeof senderAddress_, ec_,
                        &tagSend),
              0);
    event_data_t sent = next();
    EXPECT_EQ(sent.ev_type, event_type_send);
    EXPECT_EQ(sent.ev_data, &tagSend);
    EXPECT_EQ(sent.ev_result, 5);
    char got[16];
    EXPECT_EQ(recv(sender_, got, sizeof got, 0), 5);
    iovec vector{const_cast<char*>(out), 5};
    msghdr message{};
    message.msg_name = &senderAddress_;
    message.msg_namelen = sizeof senderAddress_;
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    ASSERT_EQ(ev_sendmsg(receiver_, &message, 0, ec_, nullptr), 0);
    EXPECT_EQ(next().ev_result, 5);
    EXPECT_EQ(recv(sender_, got, sizeof got, 0), 5);
    ASSERT_EQ(ev_recvmsg(receiver_, &message, 0, ec_, nullptr), 0);
    sendPlain("msg");
    EXPECT_EQ(next().ev_result, 3);
}

TEST_P(SioAioTest, EvRequestsAreBoundedByTheChannel) {
    ec_t small = ec_create_sized(0, 2);
    char in[8];
    ASSERT_EQ(ev_recv(receiver_, in, sizeof in, 0, small, nullptr), 0);
    ASSERT_EQ(ev_recv(receiver_, in, sizeof in, 0, small, nullptr), 0);
    EXPECT_EQ(ev_recv(receiver_, in, sizeof in, 0, small, nullptr), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_EQ(ev_recv(receiver_, in, sizeof in, AIO_DMA_BUF, small, nullptr), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(ec_destroy(small), -1);  // two requests still report to it
    EXPECT_EQ(errno, EBUSY);
    EXPECT_EQ(sio_aio_cancel(receiver_, nullptr), AIO_CANCELED);
    event_data_t e[4];
    EXPECT_EQ(ec_next_events(small, e, 4, 1000), 2);
    EXPECT_EQ(e[0].ev_errno, ECANCELED);
    EXPECT_EQ(ec_destroy(small), 0);
}

TEST_P(SioAioTest, ListIoSubmitsManyAndWaits) {
    constexpr int kCount = 8;
    std::vector<sio_aiocb> reads(kCount);
    std::vector<sio_aiocb*> list;
    for (int i = 0; i < kCount; ++i) {
        reads[i] = receiveRequest(nullptr, 0, nullptr);
        reads[i].aio_lio_opcode = LIO_DMA_READ;
        reads[i].aio_sigevent.sigev_notify = SIGEV_NONE;
        list.push_back(&reads[i]);
    }
    list.push_back(nullptr);  // allowed
    sio_sigevent all{};
    all.sigev_notify = SIGEV_EC;
    all.sigev_ec = ec_;
    all.sigev_value.sival_ptr = &all;
    ASSERT_EQ(lio_listio(LIO_NOWAIT, list.data(), static_cast<int>(list.size()), &all), 0) << sio_last_error();
    for (int i = 0; i < kCount; ++i) sendPlain(label('l', static_cast<std::size_t>(i)));
    event_data_t e = next();
    EXPECT_EQ(e.ev_type, event_type_aio);
    EXPECT_EQ(e.ev_un.ev_aio, nullptr);
    EXPECT_EQ(e.ev_result, kCount);
    EXPECT_EQ(e.ev_data, &all);
    for (int i = 0; i < kCount; ++i) {
        ASSERT_EQ(aio_return(&reads[i]), 2);
        EXPECT_EQ(std::string(const_cast<char*>(static_cast<volatile char*>(reads[i].aio_buf)), 2),
                  label('l', static_cast<std::size_t>(i)));
        EXPECT_EQ(sio_release(mem_, const_cast<void*>(reads[i].aio_buf), 2), 0);
    }
    // LIO_WAIT with LIO_DMA_WRITE: returns when the sends are done.
    std::vector<sio_aiocb> writes(2);
    std::vector<sio_aiocb*> writeList;
    for (auto& w : writes) {
        void* buffer;
        ASSERT_EQ(sio_reserve(mem_, &buffer, 64), 0);
        std::memcpy(buffer, "written", 7);
        w = sio_aiocb{};
        w.aio_fildes = sender_;  // sends from memory associated with... the receiver only:
        w.aio_buf = buffer;
        w.aio_nbytes = 7;
        w.aio_dma_buf = mem_;
        w.aio_lio_opcode = LIO_DMA_WRITE;
        writeList.push_back(&w);
    }
    ASSERT_EQ(connect(sender_, reinterpret_cast<sockaddr*>(&receiverAddress_), sizeof receiverAddress_), 0);
    EXPECT_EQ(lio_listio(LIO_WAIT, writeList.data(), 2, nullptr), -1);  // ...so both fail
    EXPECT_TRUE(errno == EIO || errno == EAGAIN) << errno;
    ASSERT_EQ(dma_assoc(sender_, mem_, kMemory, DMA_ASSOC_SEND), 0) << sio_last_error();
    ASSERT_EQ(lio_listio(LIO_WAIT, writeList.data(), 2, nullptr), 0)
        << sio_last_error() << " / " << aio_error(writeList[0]) << " " << aio_error(writeList[1]);
    for (auto& w : writes) {
        EXPECT_EQ(aio_error(&w), 0);
        EXPECT_EQ(aio_return(&w), 7);
        EXPECT_EQ(sio_release(mem_, const_cast<void*>(w.aio_buf), 64), 0);
    }
    void* data;
    ASSERT_EQ(sio_recv(receiver_, &data, 64, 0), 7);
    EXPECT_EQ(sio_release(mem_, data, 7), 0);
    ASSERT_EQ(sio_recv(receiver_, &data, 64, 0), 7);
    EXPECT_EQ(sio_release(mem_, data, 7), 0);
    ASSERT_EQ(dma_disassoc(sender_, mem_, kMemory), 0);
}

TEST_P(SioAioTest, SigevNoneRequestsMoveWhenPolled) {
    char data[16];
    sio_aiocb cb = receiveRequest(data, sizeof data, nullptr);
    cb.aio_sigevent.sigev_notify = SIGEV_NONE;
    ASSERT_EQ(aio_recv(&cb, 0), 0);
    EXPECT_EQ(aio_error(&cb), EINPROGRESS);
    sendPlain("polled");
    int status = EINPROGRESS;
    for (int i = 0; i < 5000 && status == EINPROGRESS; ++i) {
        status = aio_error(&cb);
        if (status == EINPROGRESS) usleep(1000);
    }
    EXPECT_EQ(status, 0);
    EXPECT_EQ(aio_return(&cb), 6);
}

TEST_P(SioAioTest, CancelFinishesPendingReceivesWithECANCELED) {
    char a[8], b[8];
    sio_aiocb first = receiveRequest(a, sizeof a, nullptr);
    sio_aiocb second = receiveRequest(b, sizeof b, nullptr);
    ASSERT_EQ(aio_recv(&first, 0), 0);
    ASSERT_EQ(aio_recv(&second, 0), 0);
    EXPECT_EQ(aio_cancel(sender_, &first), -1);  // not that socket's request
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(aio_cancel(receiver_, &first), AIO_CANCELED);
    event_data_t e = next();
    EXPECT_EQ(e.ev_un.ev_aio, &first);
    EXPECT_EQ(e.ev_errno, ECANCELED);
    EXPECT_EQ(aio_error(&first), ECANCELED);
    EXPECT_EQ(aio_return(&first), -1);
    EXPECT_EQ(aio_cancel(receiver_, &first), AIO_ALLDONE);
    sendPlain("for second");  // the cancelled one took nothing
    e = next();
    EXPECT_EQ(e.ev_un.ev_aio, &second);
    EXPECT_EQ(aio_return(&second), 8);
    EXPECT_EQ(std::memcmp(b, "for seco", 8), 0);
    EXPECT_EQ(sio_aio_cancel(12345, nullptr), -1);  // (aio_cancel(fd, nullptr) is ambiguous in C++)
    EXPECT_EQ(errno, EBADF);
}

TEST_P(SioAioTest, MisuseIsRefusedWithoutSideEffects) {
    char data[8];
    sio_aiocb cb = receiveRequest(data, sizeof data, nullptr);
    EXPECT_EQ(aio_recv(nullptr, 0), -1);
    cb.aio_reqprio = 1;
    EXPECT_EQ(aio_recv(&cb, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    cb.aio_reqprio = 0;
    cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
    EXPECT_EQ(aio_recv(&cb, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    cb.aio_sigevent.sigev_notify = SIGEV_EC;
    cb.aio_sigevent.sigev_ec = reinterpret_cast<ec_t>(999);
    EXPECT_EQ(aio_recv(&cb, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    cb.aio_sigevent.sigev_ec = ec_;
    cb.aio_buf = nullptr;
    EXPECT_EQ(aio_recv(&cb, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    cb.aio_buf = data;
    cb.aio_msg = nullptr;
    EXPECT_EQ(aio_recvmsg(&cb, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(aio_error(&cb), EINVAL);  // never submitted
    EXPECT_EQ(aio_return(&cb), -1);
    ASSERT_EQ(aio_recv(&cb, 0), 0);
    EXPECT_EQ(aio_recv(&cb, 0), -1);  // in progress already
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(aio_return(&cb), -1);
    EXPECT_EQ(errno, EINPROGRESS);
    sio_aiocb outside = cb;
    outside.aio_buf = data;
    outside.aio_nbytes = 8;
    std::memset(outside.aio_private, 0, sizeof outside.aio_private);
    EXPECT_EQ(aio_send(&outside, AIO_DMA_BUF), -1);  // not in aio_dma_buf
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_lio_listio(7, nullptr, 0, nullptr), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(aio_cancel(receiver_, &cb), AIO_CANCELED);
    next();
}

TEST_P(SioAioTest, FullChannelLosesSendEventsButNoResults) {
    ec_t small = ec_create_sized(EC_NONBLOCK, 4);
    constexpr int kCount = 10;
    char payload[] = "x";
    std::vector<sio_aiocb> cbs(kCount);
    for (int i = 0; i < kCount; ++i) {
        cbs[i] = sio_aiocb{};
        cbs[i].aio_fildes = receiver_;
        cbs[i].aio_buf = payload;
        cbs[i].aio_nbytes = 1;
        cbs[i].aio_sigevent.sigev_notify = SIGEV_EC;
        cbs[i].aio_sigevent.sigev_ec = small;
        ASSERT_EQ(aio_sendto(&cbs[i], 0, reinterpret_cast<sockaddr*>(&senderAddress_), sizeof senderAddress_), 0);
    }
    // Every send completes (the peer receives all), nobody takes events meanwhile.
    for (int i = 0; i < kCount; ++i) {
        char got[4];
        ASSERT_EQ(recv(sender_, got, sizeof got, 0), 1);
    }
    usleep(20000);
    std::vector<event_data_t> events;
    event_data_t e[16];
    int n;
    while ((n = ec_next_events(small, e, 16, 0)) > 0) events.insert(events.end(), e, e + n);
    ASSERT_FALSE(events.empty());
    ASSERT_EQ(events[0].ev_type, event_type_overflow);
    EXPECT_EQ(events[0].ev_errno, EOVERFLOW);
    std::size_t lostCount = static_cast<std::size_t>(events[0].ev_result);
    EXPECT_EQ(events.size() - 1 + lostCount, static_cast<std::size_t>(kCount));
    event_data_t lost[16];
    int listed = ec_lost(small, lost, 16);
    EXPECT_EQ(listed, static_cast<int>(std::min<std::size_t>(lostCount, 4)));  // it remembers its capacity's worth
    for (int i = 0; i < listed; ++i) EXPECT_EQ(lost[i].ev_type, event_type_aio);
    for (auto& cb : cbs) EXPECT_EQ(aio_return(&cb), 1);  // every result is there
    EXPECT_EQ(ec_destroy(small), 0) << sio_last_error();
}

TEST_P(SioAioTest, FullChannelHoldsReceivesBackInsteadOfLosingThem) {
    ec_t small = ec_create_sized(EC_NONBLOCK, 4);
    constexpr int kCount = 12;
    std::vector<sio_aiocb> cbs(kCount);
    for (int i = 0; i < kCount; ++i) {
        cbs[i] = receiveRequest(nullptr, 0, nullptr);
        cbs[i].aio_sigevent.sigev_ec = small;
        ASSERT_EQ(aio_recv(&cbs[i], AIO_DMA_BUF), 0);
    }
    for (int i = 0; i < kCount; ++i) sendPlain(label('h', static_cast<std::size_t>(i)));
    usleep(20000);
    int seen = 0;
    for (int round = 0; round < 1000 && seen < kCount; ++round) {
        event_data_t e[2];
        int n = ec_next_events(small, e, 2, 10);
        for (int k = 0; k < n; ++k) {
            ASSERT_NE(e[k].ev_type, event_type_overflow);
            ASSERT_EQ(e[k].ev_un.ev_aio, &cbs[seen]);
            ASSERT_EQ(aio_return(&cbs[seen]), static_cast<ssize_t>(label('h', static_cast<std::size_t>(seen)).size()));
            sio_release(mem_, const_cast<void*>(cbs[seen].aio_buf), 1);
            ++seen;
        }
    }
    EXPECT_EQ(seen, kCount);
    EXPECT_EQ(ec_destroy(small), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, SioAioTest, ::testing::Values(SIO_MODE_URING, SIO_MODE_EPOLL),
                         [](const auto& mode) { return mode.param == SIO_MODE_URING ? "uring" : "epoll"; });

}  // namespace
