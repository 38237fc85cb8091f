// VM test with four NICs (run-guest.sh --nics 4: A and C on one QEMU hub, B and D on another):
// nexnet-fwd forwards between A and B while the test drives C and D with nexnet's own drivers.

#include "GuestHarness.h"

#include <gtest/gtest.h>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

using namespace nexnet;
using namespace nexnet::test;
using namespace std::chrono_literals;

TEST(VfioForward, NexnetFwdForwardsFramesBetweenTwoVfioNics) {
    auto bdfs = allBdfs();
    ASSERT_EQ(bdfs.size(), 4u) << "run with --nics 4";
    ASSERT_EQ(access("/test/nexnet-fwd", X_OK), 0) << "run with --file nexnet-fwd";
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        std::string a = "vfio:" + bdfs[0], b = "vfio:" + bdfs[1];
        execl("/test/nexnet-fwd", "nexnet-fwd", a.c_str(), b.c_str(), "--duration", "60", "--stats", nullptr);
        _exit(127);
    }
    struct Reaper {
        pid_t pid;
        ~Reaper() {
            if (pid <= 0) return;
            kill(pid, SIGINT);
            waitpid(pid, nullptr, 0);
        }
    } reaper{child};
    auto c = openRunningNic(bdfs[2]);
    auto d = openRunningNic(bdfs[3]);
    ASSERT_TRUE(c && d);
    std::vector<std::uint8_t> frame(60, 0);
    std::memset(frame.data(), 0xff, 6);  // broadcast: A's filter passes it without promiscuous mode
    std::memcpy(frame.data() + 6, c->hardwareAddress().bytes.data(), 6);
    frame[12] = 0x88, frame[13] = 0xb5;
    auto isOurs = [](const std::uint8_t* f, std::size_t n) { return n >= 14 && f[12] == 0x88 && f[13] == 0xb5; };
    // nexnet-fwd starts in its own time: probe until a frame makes it through.
    bool through = false;
    for (int i = 0; i < 100 && !through; ++i) {
        ASSERT_TRUE(sendFrame(*c, frame));
        through = receiveUntil(*d, isOurs, 100ms);
    }
    ASSERT_TRUE(through) << "nothing forwarded in 10 s";
    receiveUntil(
        *d, [](const std::uint8_t*, std::size_t) { return false; }, 300ms);  // drain late probes
    constexpr unsigned kFrames = 20000;
    unsigned sent = 0, received = 0;
    Netbuf* burst[32];
    auto start = std::chrono::steady_clock::now();
    while (received < kFrames && std::chrono::steady_clock::now() < start + 60s) {
        unsigned want = std::min(32u, kFrames - sent);
        if (want > 0 && sent - received < 128 && c->pool()->allocateBulk(burst, want) == 0) {
            for (unsigned i = 0; i < want; ++i) burst[i]->append(frame.data(), 60);
            unsigned accepted = c->send(0, burst, want);
            if (accepted < want) c->pool()->freeBulk(burst + accepted, want - accepted);
            sent += accepted;
        }
        unsigned n = d->receive(0, burst, 32);
        for (unsigned i = 0; i < n; ++i) received += isOurs(burst[i]->data(), burst[i]->size());
        if (n > 0) d->pool()->freeBulk(burst, n);
        if (want == 0 && n == 0 && std::chrono::steady_clock::now() > start + 60s) break;
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("forward: C sent %u, D received %u through nexnet-fwd in %.2f s (%.0f frames/s under TCG)\n", sent,
                received, seconds, received / seconds);
    EXPECT_EQ(received, kFrames);
    kill(child, SIGINT);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    reaper.pid = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "nexnet-fwd status " << status;
}
