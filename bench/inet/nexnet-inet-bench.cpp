// nexnet-inet-bench: what the protocol layer costs and delivers, with its peers measured in the
// same run (figures, never assertions; see bench/README.md).
//
//   nexnet-inet-bench [--seconds S] [--runs N] [--null-only]
//
// 1. UDP datagrams received per second by one UdpEndpoint on tap: (poll mode, the stack on the
//    nexnet end of the tap, 10.80.0.2) against a kernel UDP socket reading with recvmmsg (batch
//    64) on the far end of a veth pair (10.81.0.2). The sender is the same in both: a kernel UDP
//    socket in a namespace of its own sending with sendmmsg (batch 64), as fast as it can, 64 B
//    and 1472 B payloads. Both receivers spin. The tap receives both ways (rx=readv: a read per
//    frame; rx=uring: a multishot read into posted netbufs). Alternated, N runs each, median
//    [min-max], with the load average before and after (the machine is shared).
// 2. The endpoint's receive cost on null: (frames already in the pool's buffers, as a NIC would
//    have written them): driver burst -> InetStack -> endpoint queue -> receive -> free, in ns
//    per datagram, next to the null driver's own cost per frame (received and dropped).
// Needs root for part 1 (namespaces, tap, veth); part 2 runs anywhere.
#include "bench/support/BenchFigures.h"
#include "drivers/BuiltinDrivers.h"
#include "framework/IOEthernet.h"
#include "inet/InetStack.h"
#include "inet/UdpEndpoint.h"
#include "netbuf/NetbufPool.h"
#include "netif/NetworkInterface.h"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace nexnet;
using namespace nexnet::bench;
using Clock = std::chrono::steady_clock;

namespace {

double seconds = 3.0;
int runs = 3;
const std::string kTag = std::to_string(getpid());

// Runs @p body with the calling thread in network namespace @p name, then returns.
template <typename Body>
auto inNamespace(const std::string& name, Body&& body) {
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int target = open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) != 0) {
        std::fprintf(stderr, "nexnet-inet-bench: cannot enter namespace %s\n", name.c_str());
        std::exit(1);
    }
    auto result = body();
    setns(self, CLONE_NEWNET);
    close(self);
    close(target);
    return result;
}

// A child process in namespace @p ns sending @p payload-byte datagrams to @p to:9000 with
// sendmmsg in batches of 64 until killed.
pid_t startSender(const std::string& ns, const char* to, std::size_t payload) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    int target = open(("/run/netns/" + ns).c_str(), O_RDONLY);
    if (target < 0 || setns(target, CLONE_NEWNET) != 0) _exit(1);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(9000);
    inet_pton(AF_INET, to, &address.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) _exit(1);
    std::vector<char> data(payload, 'x');
    iovec iov{data.data(), payload};
    mmsghdr messages[64]{};
    for (auto& m : messages) {
        m.msg_hdr.msg_iov = &iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    for (;;) sendmmsg(fd, messages, 64, 0);  // ENOBUFS and the like: just send again
}

void stopSender(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
}

// Counts what @p receiveSome() returns for the measured window, after a warm-up.
template <typename Receive>
double measure(Receive&& receiveSome) {
    auto warm = Clock::now() + std::chrono::milliseconds(500);
    while (Clock::now() < warm) receiveSome();
    std::uint64_t received = 0;
    auto start = Clock::now();
    auto end = start + std::chrono::duration<double>(seconds);
    Clock::time_point now;
    unsigned spins = 0;
    while ((++spins % 64 != 0) || (now = Clock::now()) < end) received += receiveSome();
    return static_cast<double>(received) / std::chrono::duration<double>(now - start).count();
}

// ---- the nexnet side: tap + InetStack + UdpEndpoint ----------------------------------------------

double runNexnet(std::size_t payload, const std::string& rx) {
    std::string ns = "nxib-a-" + kTag, tap = "nxib" + kTag;
    sh("ip netns add " + ns);
    auto driver = builtinDrivers().open("tap:" + tap + ",pool=16384,rx=" + rx);
    if (!driver) {
        std::fprintf(stderr, "nexnet-inet-bench: %s\n", driver.describe().c_str());
        std::exit(1);
    }
    NetworkInterface interface(std::move(driver.value()));
    interface.setUp();
    sh("ip link set " + tap + " netns " + ns);
    sh("ip netns exec " + ns + " ip addr add 10.80.0.1/24 dev " + tap);
    sh("ip netns exec " + ns + " ip link set " + tap + " up");
    auto stack = InetStack::create(interface, InetStack::Options{}).value();
    stack->setAddress(in_addr{htonl(0x0a500002)}, in_addr{htonl(0xffffff00)});
    UdpEndpoint::Options options;
    options.queueLimit = 4096;
    auto endpoint = UdpEndpoint::open(*stack, in_addr{INADDR_ANY}, 9000, options).value();
    pid_t sender = startSender(ns, "10.80.0.2", payload);
    UdpDatagram datagrams[64];
    Netbuf* netbufs[64];
    double rate = measure([&] {
        interface.poll();
        unsigned n = endpoint->receive(datagrams, 64);
        for (unsigned i = 0; i < n; ++i) netbufs[i] = datagrams[i].netbuf;
        NetbufPool::freeToOwners(netbufs, n);
        return n;
    });
    stopSender(sender);
    endpoint.reset();
    stack.reset();
    sh("ip netns del " + ns);
    return rate;
}

// ---- the kernel side: veth + UDP socket + recvmmsg ------------------------------------------------

double runKernel(std::size_t payload) {
    std::string a = "nxib-ka-" + kTag, b = "nxib-kb-" + kTag;
    sh("ip netns add " + a);
    sh("ip netns add " + b);
    sh("ip netns exec " + a + " ip link add nxibv0 type veth peer name nxibv1 netns " + b);
    sh("ip netns exec " + a + " ip addr add 10.81.0.1/24 dev nxibv0");
    sh("ip netns exec " + b + " ip addr add 10.81.0.2/24 dev nxibv1");
    sh("ip netns exec " + a + " ip link set nxibv0 up");
    sh("ip netns exec " + b + " ip link set nxibv1 up");
    int fd = inNamespace(b, [] {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int size = 4 << 20;
        setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(9000);
        bind(s, reinterpret_cast<sockaddr*>(&address), sizeof address);
        return s;
    });
    pid_t sender = startSender(a, "10.81.0.2", payload);
    static char buffers[64][2048];
    iovec iov[64];
    mmsghdr messages[64]{};
    for (int i = 0; i < 64; ++i) {
        iov[i] = {buffers[i], sizeof buffers[i]};
        messages[i].msg_hdr.msg_iov = &iov[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    double rate = measure([&] {
        int n = recvmmsg(fd, messages, 64, MSG_DONTWAIT, nullptr);
        return n > 0 ? static_cast<unsigned>(n) : 0u;
    });
    stopSender(sender);
    close(fd);
    sh("ip netns del " + a);
    sh("ip netns del " + b);
    return rate;
}

// ---- null: the receive path's cost ----------------------------------------------------------------

// The frame a NIC would have written: Ethernet, IPv4, UDP to 10.82.0.2:9000, 64-byte payload.
std::vector<std::uint8_t> udpFrame(const EthernetAddress& to) {
    std::vector<std::uint8_t> f(14 + 20 + 8 + 64, 0);
    std::memcpy(f.data(), to.bytes.data(), 6);
    const std::uint8_t from[6] = {0x02, 0, 0, 0, 0, 0x01};
    std::memcpy(f.data() + 6, from, 6);
    f[12] = 0x08;
    std::uint8_t ip[20] = {0x45, 0, 0, 92, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 82, 0, 1, 10, 82, 0, 2};
    std::uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = static_cast<std::uint8_t>(~sum >> 8);
    ip[11] = static_cast<std::uint8_t>(~sum);
    std::memcpy(f.data() + 14, ip, 20);
    std::uint8_t udp[8] = {0x9c, 0x40, 0x23, 0x28, 0, 72, 0, 0};  // 40000 -> 9000, no checksum
    std::memcpy(f.data() + 34, udp, 8);
    return f;
}

struct NullFigures {
    double endpointNs;
    double dropNs;
};

NullFigures runNull() {
    auto opened = builtinDrivers().open("null:,size=106,pool=8192");
    if (!opened) std::exit(1);
    NetworkInterface interface(std::move(opened.value()));
    interface.setUp();
    NetbufPool& pool = *interface.driver().pool();
    auto* ethernet = dynamic_cast<IOEthernet*>(&interface.driver());
    std::vector<std::uint8_t> frame = udpFrame(ethernet->hardwareAddress());
    // Every buffer of the pool holds the frame, where the driver hands it out (after the headroom).
    std::vector<Netbuf*> all;
    while (Netbuf* nb = pool.allocate()) {
        std::memcpy(nb->data(), frame.data(), frame.size());
        all.push_back(nb);
    }
    NetbufPool::freeToOwners(all.data(), static_cast<unsigned>(all.size()));
    constexpr std::uint64_t kDatagrams = 20'000'000;

    // Baseline: the driver's bursts, dropped by the interface (no consumer).
    auto start = Clock::now();
    for (std::uint64_t n = 0; n < kDatagrams; n += NetworkInterface::kBurst) interface.poll();
    double drop = std::chrono::duration<double, std::nano>(Clock::now() - start).count() / kDatagrams;

    in_addr ours{htonl(0x0a520002)};
    InetStack::Options options;
    options.clock = [] { return std::uint64_t{1}; };  // no timers in the way
    auto stack = InetStack::create(interface, options).value();
    stack->setAddress(ours, in_addr{htonl(0xffffff00)});
    auto endpoint = UdpEndpoint::open(*stack, in_addr{INADDR_ANY}, 9000, UdpEndpoint::Options{}).value();
    UdpDatagram datagrams[NetworkInterface::kBurst];
    Netbuf* netbufs[NetworkInterface::kBurst];
    std::uint64_t received = 0;
    start = Clock::now();
    while (received < kDatagrams) {
        interface.poll();
        unsigned n = endpoint->receive(datagrams, NetworkInterface::kBurst);
        for (unsigned i = 0; i < n; ++i) netbufs[i] = datagrams[i].netbuf;
        NetbufPool::freeToOwners(netbufs, n);
        received += n;
    }
    double perDatagram =
        std::chrono::duration<double, std::nano>(Clock::now() - start).count() / static_cast<double>(received);
    if (stack->statistics().udpDelivered != received) std::fprintf(stderr, "nexnet-inet-bench: null: lost datagrams\n");
    return {perDatagram, drop};
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    bool nullOnly = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
        else if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        else if (a == "--null-only") nullOnly = true;
        else {
            std::fprintf(stderr, "usage: nexnet-inet-bench [--seconds S] [--runs N] [--null-only]\n");
            return 2;
        }
    }
    std::vector<double> endpointNs, dropNs;
    for (int r = 0; r < runs; ++r) {
        NullFigures f = runNull();
        endpointNs.push_back(f.endpointNs);
        dropNs.push_back(f.dropNs);
    }
    Spread e = spread(endpointNs), d = spread(dropNs);
    std::printf("%-44s %8.1f ns [%.1f-%.1f]\n", "null: endpoint receive, per datagram", e.median, e.low, e.high);
    std::printf("%-44s %8.1f ns [%.1f-%.1f]\n", "null: driver burst dropped, per frame", d.median, d.low, d.high);
    std::printf("%-44s %8.1f ns\n", "null: the layer's own cost, per datagram", e.median - d.median);
    if (nullOnly) return 0;
    if (geteuid() != 0) {
        std::printf("tap vs kernel socket: needs root (namespaces, tap, veth)\n");
        return 0;
    }
    std::printf("load average before: %s", loadAverage().c_str());
    for (std::size_t payload : {64u, 1472u}) {
        std::vector<double> readv, uring, kernel;
        for (int r = 0; r < runs; ++r) {  // alternated: the machine's load hits all alike
            readv.push_back(runNexnet(payload, "readv"));
            uring.push_back(runNexnet(payload, "uring"));
            kernel.push_back(runKernel(payload));
        }
        Spread k = spread(kernel);
        for (auto [name, rates] : {std::pair{"rx=readv", &readv}, std::pair{"rx=uring", &uring}}) {
            Spread n = spread(*rates);
            std::printf(
                "UDP %4zu B received/s: endpoint on tap %s %8.1f k [%.1f-%.1f]   kernel socket recvmmsg(64) on veth "
                "%8.1f k [%.1f-%.1f]   ratio %.2fx\n",
                payload, name, n.median / 1e3, n.low / 1e3, n.high / 1e3, k.median / 1e3, k.low / 1e3, k.high / 1e3,
                n.median / k.median);
        }
    }
    std::printf("load average after: %s", loadAverage().c_str());
    return 0;
}
