// Which transport kernel sockets use, and that nexnet says why (item 9 of issue 14): probed at
// run time, forced by NEXNET_SIO_MODE=epoll, and io_uring forbidden by a seccomp filter, as a
// container's profile forbids it. Each case runs in a fresh process (a death test re-executing
// this binary), since the probe runs once per process.
#include "sio/dma.h"
#include "sio/sio.h"
#include "support/LoopbackUdp.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

// Receives one datagram over loopback with sio_recvfrom; true when it arrived intact.
bool loopbackWorks() {
    sockaddr_in address{}, unused{};
    int receiver = nexnet::test::loopbackUdpSocket(address), sender = nexnet::test::loopbackUdpSocket(unused);
    dma_mem_t mem;
    if (dma_alloc(&mem, 1 << 16, 0) != 0 || dma_assoc(receiver, mem, 1 << 16, 0) != 0) return false;
    sendto(sender, "mode", 4, 0, reinterpret_cast<sockaddr*>(&address), sizeof address);
    void* data;
    bool ok = sio_recv(receiver, &data, 2048, 0) == 4 && std::memcmp(data, "mode", 4) == 0;
    return ok;
}

// Makes io_uring_setup fail with EPERM for this process, as Docker's default profile does.
bool forbidIoUring() {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

class SioModeTest : public ::testing::Test {
protected:
    void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(SioModeTest, ProbedModeIsReportedWithItsReason) {
    std::string message = sio_mode_message();
    if (sio_mode() == SIO_MODE_URING) {
        EXPECT_NE(message.find("io_uring mode"), std::string::npos) << message;
        EXPECT_NE(message.find("provided-buffer rings"), std::string::npos) << message;
    } else {
        EXPECT_NE(message.find("epoll mode: "), std::string::npos) << message;  // and why
    }
}

TEST_F(SioModeTest, EnvironmentVariableForcesEpollModeAndSaysSo) {
    EXPECT_EXIT(
        {
            setenv("NEXNET_SIO_MODE", "epoll", 1);
            bool ok = sio_mode() == SIO_MODE_EPOLL &&
                std::strstr(sio_mode_message(), "NEXNET_SIO_MODE=epoll") != nullptr && loopbackWorks();
            std::exit(ok ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "");
}

TEST_F(SioModeTest, IoUringForbiddenBySeccompFallsBackToEpollAndSaysWhy) {
    EXPECT_EXIT(
        {
            if (!forbidIoUring()) std::exit(2);
            bool epoll = sio_mode() == SIO_MODE_EPOLL;
            bool says = std::strstr(sio_mode_message(), "seccomp") != nullptr;
            bool refused = sio_set_mode(SIO_MODE_URING) == -1 && errno == ENOTSUP &&
                std::strstr(sio_last_error(), "io_uring_setup failed with EPERM") != nullptr;
            std::exit(epoll && says && refused && loopbackWorks() ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "");
}

TEST_F(SioModeTest, ZeroCopyWithoutIoUringIsENOTSUPWithAMessage) {
    EXPECT_EXIT(
        {
            if (!forbidIoUring()) std::exit(2);
            int fd = socket(AF_INET, SOCK_DGRAM, 0);
            dma_mem_t mem;
            void* buffer;
            if (dma_alloc(&mem, 1 << 16, 0) != 0 || dma_assoc(fd, mem, 1 << 16, DMA_ASSOC_SEND) != 0 ||
                sio_reserve(mem, &buffer, 64) != 0)
                std::exit(3);
            sockaddr_in to{};
            to.sin_family = AF_INET;
            to.sin_port = htons(9);
            to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            bool refused =
                sio_sendto(fd, buffer, 64, MSG_ZEROCOPY, reinterpret_cast<sockaddr*>(&to), sizeof to) == -1 &&
                errno == ENOTSUP && std::strstr(sio_last_error(), "MSG_ZEROCOPY") != nullptr;
            bool copied = sio_sendto(fd, buffer, 64, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == 64;
            std::exit(refused && copied ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "");
}

}  // namespace
