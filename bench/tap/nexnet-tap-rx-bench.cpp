// nexnet-tap-rx-bench: what the tap driver's receive costs per frame, one receive path against the
// other in the same run (figures, never assertions; see bench/tap/README.md).
//
//   nexnet-tap-rx-bench [--frames N] [--runs R] [--payload B]
//
// The kernel first queues N UDP datagrams (B bytes of payload) on the tap's kernel end, from a
// socket in a namespace made for the bench (the tap's queue is lengthened to hold them); then the
// driver receives them all in bursts of 32 and the time is divided by the frames received. So the
// sender is out of the figure: a readv per frame (rx=readv) against the completions of one
// multishot read (rx=uring; it reads its first 256 frames while the kernel queues them, a few
// percent of the backlog). Alternated, R runs each, median [min-max], with the load average.
// Two figures per path: wall-clock time, and the receiving thread's CPU time (user and kernel,
// the kernel's reads in its task work included), which the machine's other load disturbs less.
// Needs root (namespace, tap).
#include "bench/support/BenchFigures.h"
#include "drivers/BuiltinDrivers.h"
#include "drivers/tap/TapDriver.h"
#include "framework/IOCommands.h"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string>
#include <tuple>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace nexnet;
using namespace nexnet::bench;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kTag = std::to_string(getpid());

// Sends @p count datagrams of @p payload bytes to 10.82.0.2:9000 from namespace @p ns.
// @return how many the kernel took.
unsigned sendBacklog(const std::string& ns, unsigned count, std::size_t payload) {
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int target = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) != 0) return 0;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9000);
    inet_pton(AF_INET, "10.82.0.2", &to.sin_addr);
    unsigned sent = 0;
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
        std::vector<char> data(payload, 'x');
        iovec iov{data.data(), payload};
        mmsghdr messages[64]{};
        for (auto& m : messages) {
            m.msg_hdr.msg_iov = &iov;
            m.msg_hdr.msg_iovlen = 1;
        }
        while (sent < count) {
            int n = sendmmsg(fd, messages, std::min(64u, count - sent), 0);
            if (n <= 0) break;
            sent += static_cast<unsigned>(n);
        }
    }
    if (fd >= 0) close(fd);
    setns(self, CLONE_NEWNET);
    close(self);
    close(target);
    return sent;
}

struct Cost {
    double wallNs = 0;  // per frame
    double cpuNs = 0;   // per frame
};

// What receiving a backlog of @p frames through tap:...,rx=@p rx costs per frame; zeros when it failed.
Cost measure(const std::string& rx, unsigned frames, std::size_t payload) {
    std::string ns = "nxtr-" + kTag, tap = "nxtr" + kTag;
    sh("ip netns add " + ns);
    auto opened = builtinDrivers().open("tap:" + tap + ",pool=4096,rx=" + rx);
    if (!opened) {
        std::fprintf(stderr, "nexnet-tap-rx-bench: %s\n", opened.describe().c_str());
        std::exit(1);
    }
    IONetwork& driver = *opened.value();
    sh("ip link set " + tap + " netns " + ns);
    sh("ip -n " + ns + " link set " + tap + " txqueuelen " + std::to_string(frames + 1000));
    sh("ip -n " + ns + " addr add 10.82.0.1/24 dev " + tap);
    sh("ip -n " + ns + " link set " + tap + " up");
    sh("ip -n " + ns + " neigh replace 10.82.0.2 lladdr " +
       static_cast<IOEthernet&>(driver).hardwareAddress().toString() + " dev " + tap + " nud permanent");
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    driver.performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru);
    // The kernel discards what it sends until its link watch has seen the carrier.
    for (int i = 0; i < 100 && sh("ip -n " + ns + " link show " + tap + " | grep -q 'state UP'") != 0; ++i)
        usleep(20000);
    unsigned sent = sendBacklog(ns, frames, payload);
    Netbuf* burst[TapDriver::kBurst];
    unsigned received = 0;
    double cpuStart = threadCpuNs();
    Clock::time_point start = Clock::now(), deadline = start + std::chrono::seconds(10), now = start;
    while (received < sent && (now = Clock::now()) < deadline) {
        unsigned n = driver.receive(0, burst, TapDriver::kBurst);
        NetbufPool::freeToOwners(burst, n);
        received += n;
    }
    now = Clock::now();
    double cpu = threadCpuNs() - cpuStart;
    opened.value().reset();
    sh("ip netns del " + ns);
    if (received < sent)
        std::fprintf(stderr, "nexnet-tap-rx-bench: rx=%s received %u of %u\n", rx.c_str(), received, sent);
    if (received == 0) return {};
    return {std::chrono::duration<double, std::nano>(now - start).count() / received, cpu / received};
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    unsigned frames = 20000;
    int runs = 5;
    std::size_t payload = 64;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--frames" && i + 1 < argc) frames = static_cast<unsigned>(std::max(1, std::atoi(argv[++i])));
        else if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        else if (a == "--payload" && i + 1 < argc)
            payload = static_cast<std::size_t>(std::max(1, std::atoi(argv[++i])));
        else {
            std::fprintf(stderr, "usage: nexnet-tap-rx-bench [--frames N] [--runs R] [--payload B]\n");
            return 2;
        }
    }
    if (geteuid() != 0) {
        std::printf("nexnet-tap-rx-bench: needs root (namespace, tap)\n");
        return 0;
    }
    std::printf("load average before: %s", loadAverage().c_str());
    std::vector<double> readvWall, readvCpu, uringWall, uringCpu;
    for (int r = 0; r < runs; ++r) {  // alternated: the machine's load hits both alike
        Cost a = measure("readv", frames, payload), b = measure("uring", frames, payload);
        readvWall.push_back(a.wallNs);
        readvCpu.push_back(a.cpuNs);
        uringWall.push_back(b.wallNs);
        uringCpu.push_back(b.cpuNs);
    }
    std::printf("tap receive of a %u-frame backlog, %zu B UDP payload, per frame:\n", frames, payload);
    for (auto [name, wall, cpu] :
         {std::tuple{"rx=readv", &readvWall, &readvCpu}, std::tuple{"rx=uring", &uringWall, &uringCpu}}) {
        Spread w = spread(*wall), c = spread(*cpu);
        std::printf("  %s  wall %8.1f ns [%.1f-%.1f] (%.2f Mframes/s)   thread CPU %8.1f ns [%.1f-%.1f]\n", name,
                    w.median, w.low, w.high, 1e3 / w.median, c.median, c.low, c.high);
    }
    std::printf("  uring/readv: rate %.2fx (wall), %.2fx less CPU per frame\n",
                spread(readvWall).median / spread(uringWall).median, spread(readvCpu).median / spread(uringCpu).median);
    std::printf("load average after: %s", loadAverage().c_str());
    return 0;
}
