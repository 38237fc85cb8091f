// nexnet-toe-bench: a bulk TCP receive through the TCP offload engine, against the kernel, in one
// run (figures, never assertions; see bench/README.md, "toe/").
//
//   nexnet-toe-bench [--megabytes M] [--runs N] [--buffer BYTES] [--buffers N] [--rx readv|uring]
//                    [--vnet 0|1] [--rows abc]
//
// One topology, the TCP offload tests' (tests/kernel/TcpOffloadHarness.h):
//   peer namespace 10.84.0.1 (the sender) == wire tap == nexnet [InetStack -> TcpOffloadEngine]
//     -- HostStackBridge -- host tap == host namespace 10.84.0.2 (the receiver's kernel socket)
// and beside it a plain veth pair between two namespaces (10.85.0.1 -> 10.85.0.2). Rows, alternated
// in each run:
//   a. the connection offloaded after its first MiB: payload placed into posted buffers (--buffers
//      of --buffer bytes, reposted as they complete);
//   b. the same bridged path, not offloaded: the kernel's recv() into one buffer of --buffer bytes;
//   c. the veth pair: the kernel's recv() into the same buffer.
// The sender is a child process (a kernel socket sending 64 KiB at a time); the receiver (and, in a
// and b, the nexnet interface, bridge and engine) is this process's only thread. Measured from the
// end of the first MiB (the offload) to the end of the stream. Per row: Gbit/s; CPU seconds per GB
// of the receiving process (user + system from getrusage: the nexnet interface, bridge, engine
// and the host kernel's receive work done in its system calls, such as a tap write delivering to
// the host's TCP: without CONFIG_IRQ_TIME_ACCOUNTING, softirq work run in a task's context is
// charged to its system time, and the byte check below, the same memcmp in every row) and of the sender (its system calls carry the kernel's softirq work for its own
// frames: veth delivery to the receiver's socket in c, tap queueing in a and b); the machine's
// softirq time over the window (all CPUs, other processes included). Also: the sender's
// retransmissions (TCP_INFO tcpi_total_retrans), RSTs (the kernels' OutRsts in both namespaces,
// plus RST frames crossing the wire tap in a and b), a byte-exact check of every received byte
// against what was sent, the longest pause between two of the sender's send() returns (and, in a,
// the one around the offload), and in a the time offload() takes and the time from its call to the
// first byte from the wire placed. Needs root (namespaces, taps, veth).
#include "bench/support/BenchFigures.h"
#include "drivers/BuiltinDrivers.h"
#include "framework/EventLoop.h"
#include "inet/EthernetView.h"
#include "inet/InetStack.h"
#include "inet/Ipv4View.h"
#include "inet/TcpView.h"
#include "netbuf/Netbuf.h"
#include "netif/HostStackBridge.h"
#include "netif/InputConsumer.h"
#include "netif/NetworkInterface.h"
#include "netif/OutputObserver.h"
#include "support/NetworkNamespace.h"
#include "toe/TcpOffloadEngine.h"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/sockios.h>
#include <map>
#include <netinet/tcp.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace nexnet;
using nexnet::test::NamespaceEntry;
using nexnet::test::NetworkNamespace;
using nexnet::test::runCommand;
using Clock = std::chrono::steady_clock;

namespace {

std::size_t totalBytes = 256u << 20;
constexpr std::size_t kHead = 1u << 20;  // read by the kernel before the offload
std::size_t bufferSize = 1u << 20;
unsigned bufferCount = 8;
int runs = 1;
std::string rxMode = "readv";
bool vnet = false;
std::string rows = "abc";
constexpr std::uint16_t kPort = 5401;
constexpr std::size_t kSendChunk = 64 * 1024;

// ---- the stream: a pattern with a prime period, so every byte is checked where it lands -------

constexpr std::size_t kPeriod = 1048573;
std::vector<std::uint8_t> pattern;

void makePattern() {
    pattern.resize(kPeriod + std::max(bufferSize, kSendChunk));
    for (std::size_t i = 0; i < pattern.size(); ++i)
        pattern[i] = static_cast<std::uint8_t>(((i % kPeriod) * 0x9e3779b97f4a7c15ull) >> 56);
}

bool matches(const std::uint8_t* data, std::size_t length, std::uint64_t at) {
    return std::memcmp(data, pattern.data() + at % kPeriod, length) == 0;
}

std::uint64_t nowNs() { return static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()); }

double cpuSeconds(const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
        static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

double selfCpu() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return cpuSeconds(r);
}

double selfSystemCpu() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return static_cast<double>(r.ru_stime.tv_sec) + static_cast<double>(r.ru_stime.tv_usec) / 1e6;
}

// Softirq time of the whole machine, in seconds (/proc/stat, USER_HZ ticks).
double machineSoftirq() {
    FILE* f = std::fopen("/proc/stat", "r");
    if (f == nullptr) return 0;
    unsigned long long v[7] = {};
    int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]);
    std::fclose(f);
    return n == 7 ? static_cast<double>(v[6]) / static_cast<double>(sysconf(_SC_CLK_TCK)) : 0;
}

// The kernel's count of RSTs sent by namespace @p ns (/proc/net/snmp, Tcp OutRsts).
std::uint64_t outRsts(const std::string& ns) {
    auto result = runCommand("ip netns exec " + ns + " awk '/^Tcp:/{if(h){print $15}else{h=1}}' /proc/net/snmp");
    return std::strtoull(result.output.c_str(), nullptr, 10);
}

std::string loadAverage() {
    std::string text = bench::loadAverage();
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
}

// ---- the sender: a child process, reporting through shared memory ------------------------------

struct SenderReport {
    std::atomic<std::uint64_t> offloadAt{0};  // set by the receiver: when offload() was called
    int error = 0;
    bool reset = false;
    std::uint32_t retransmits = 0;
    double cpu = 0;
    std::uint64_t maxGapNs = 0;      // longest interval between two send() returns
    std::uint64_t offloadGapNs = 0;  // the interval that holds offloadAt
};

SenderReport* report = nullptr;

pid_t startSender(const std::string& ns, const char* to) {
    new (report) SenderReport;
    pid_t pid = fork();
    if (pid != 0) return pid;
    NamespaceEntry inside(ns);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(kPort);
    inet_pton(AF_INET, to, &address.sin_addr);
    if (!inside.ok() || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        report->error = errno;
        _exit(1);
    }
    std::vector<std::uint64_t> returns;
    returns.reserve(totalBytes / kSendChunk + 16);
    returns.push_back(nowNs());
    for (std::size_t sent = 0; sent < totalBytes;) {
        ssize_t n = send(fd, pattern.data() + sent % kPeriod, std::min(kSendChunk, totalBytes - sent), MSG_NOSIGNAL);
        if (n <= 0) {
            report->error = n < 0 ? errno : EIO;
            report->reset = errno == ECONNRESET;
            break;
        }
        sent += static_cast<std::size_t>(n);
        returns.push_back(nowNs());
    }
    shutdown(fd, SHUT_WR);
    for (int i = 0; i < 4000; ++i) {  // until everything is acknowledged (20 s at most)
        int unacknowledged = 0;
        if (ioctl(fd, SIOCOUTQ, &unacknowledged) != 0 || unacknowledged == 0) break;
        usleep(5000);
    }
    tcp_info info{};
    socklen_t size = sizeof info;
    getsockopt(fd, SOL_TCP, TCP_INFO, &info, &size);
    report->retransmits = info.tcpi_total_retrans;
    timeval timeout{20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char byte;
    if (recv(fd, &byte, 1, 0) < 0 && errno == ECONNRESET) report->reset = true;  // else the receiver's FIN
    std::uint64_t offloadAt = report->offloadAt.load();
    for (std::size_t i = 1; i < returns.size(); ++i) {
        std::uint64_t gap = returns[i] - returns[i - 1];
        report->maxGapNs = std::max(report->maxGapNs, gap);
        if (offloadAt != 0 && returns[i - 1] <= offloadAt && offloadAt < returns[i]) report->offloadGapNs = gap;
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    report->cpu = cpuSeconds(usage);
    _exit(0);
}

// ---- what one row measured ---------------------------------------------------------------------

struct Row {
    double gbits = 0;
    double cpuPerGb = 0;        // receiving process
    double systemPerGb = 0;     // of which in the kernel
    double senderCpuPerGb = 0;  // sending process
    double softirqPerGb = 0;    // the machine's
    std::uint32_t retransmits = 0;
    std::uint64_t rsts = 0;
    bool exact = false;
    double maxGapMs = 0;
    double offloadGapMs = 0;   // a: the sender's pause around the offload
    double offloadCallMs = 0;  // a: offload() itself
    double firstPlacedMs = 0;  // a: from offload() to the first byte from the wire placed
    std::string failure;
};

struct Window {
    Clock::time_point start;
    double cpu, system, softirq;
    void begin() {
        start = Clock::now();
        cpu = selfCpu();
        system = selfSystemCpu();
        softirq = machineSoftirq();
    }
    void end(Row& row, std::uint64_t bytes) {
        double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        double gb = static_cast<double>(bytes) / 1e9;
        row.gbits = static_cast<double>(bytes) * 8 / seconds / 1e9;
        row.cpuPerGb = (selfCpu() - cpu) / gb;
        row.systemPerGb = (selfSystemCpu() - system) / gb;
        row.softirqPerGb = (machineSoftirq() - softirq) / gb;
    }
};

void finishSender(pid_t pid, Row& row, std::uint64_t bytes) {
    waitpid(pid, nullptr, 0);  // ECHILD when already reaped
    row.retransmits = report->retransmits;
    row.senderCpuPerGb = report->cpu / (static_cast<double>(bytes) / 1e9);
    row.maxGapMs = static_cast<double>(report->maxGapNs) / 1e6;
    row.offloadGapMs = static_cast<double>(report->offloadGapNs) / 1e6;
    row.rsts += report->reset ? 1 : 0;
    if (report->error != 0 && row.failure.empty()) row.failure = "sender: " + std::string(std::strerror(report->error));
}

// The checks every row ends with: every byte arrived, and each matched.
void finishRow(Row& row, std::uint64_t bytes, bool exact, std::uint64_t rsts) {
    row.exact = exact && bytes == totalBytes - kHead;
    if (bytes != totalBytes - kHead && row.failure.empty()) row.failure = "short stream";
    row.rsts += rsts;
}

int listenIn(const NetworkNamespace& ns, int flags) {
    int listener = ns.openSocket(AF_INET, SOCK_STREAM | flags, 0);
    int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(kPort);
    if (bind(listener, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 || listen(listener, 4) != 0) {
        std::fprintf(stderr, "nexnet-toe-bench: listen: %s\n", std::strerror(errno));
        std::exit(1);
    }
    return listener;
}

// ---- the bridged topology (rows a and b) --------------------------------------------------------

// Counts RST segments crossing the wire tap, both directions.
class RstCounter : public InputConsumer, public OutputObserver {
public:
    std::uint64_t seen = 0;
    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        for (unsigned i = 0; i < count; ++i)
            if (packets[i] != nullptr) look(packets[i]);
    }
    void observeOutput(NetworkInterface&, unsigned, Netbuf* const* packets, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) look(packets[i]);
    }

private:
    void look(Netbuf* frame) {
        EthernetView ethernet = EthernetView::parse(*frame);
        if (!ethernet || ethernet.etherType() != EthernetView::kTypeIpv4) return;
        Ipv4View ip = Ipv4View::parse(ethernet.payload());
        if (!ip || ip.protocol() != Ipv4View::kTcp) return;
        TcpView tcp = TcpView::parse(ip.payload());
        if (tcp && tcp.has(TcpView::kRst)) seen++;
    }
};

struct Bridged {
    NetworkNamespace peer{"tbp"}, host{"tbh"};
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<NetworkInterface> wire;
    std::unique_ptr<HostStackBridge> bridge;
    std::unique_ptr<InetStack> stack;
    std::unique_ptr<TcpOffloadEngine> engine;
    RstCounter rsts;

    static void check(bool ok, const char* what) {
        if (ok) return;
        std::fprintf(stderr, "nexnet-toe-bench: %s failed\n", what);
        std::exit(1);
    }
    static bool move(const std::string& name, const NetworkNamespace& ns, const std::string& cidr) {
        return runCommand("ip link set " + name + " netns " + ns.name()).status == 0 &&
            ns.run("ip addr add " + cidr + " dev " + name).status == 0 &&
            ns.run("ip link set " + name + " up").status == 0;
    }
    void open() {
        check(peer.ok() && host.ok(), "ip netns add");
        loop = std::move(EventLoop::create().value());
        std::string tag = std::to_string(getpid() % 100000);
        std::string wireName = "nxtbw" + tag;
        std::string uri = "tap:" + wireName + (vnet ? ",vnet=1" : "") + ",rx=" + rxMode;
        auto driver = builtinDrivers().open(uri);
        check(driver.ok(), uri.c_str());
        wire = std::make_unique<NetworkInterface>(std::move(driver.value()));
        check(move(wireName, peer, "10.84.0.1/24"), "moving the wire tap");
        HostStackBridge::Options options;
        options.hostName = "nxtbh" + tag;
        auto made = HostStackBridge::create(*wire, options);
        check(made.ok(), "HostStackBridge::create");
        bridge = std::move(made.value());
        check(move(options.hostName, host, "10.84.0.2/24"), "moving the host tap");
        check(wire->setUp() == 0, "setUp");
        in_addr ours{};
        inet_pton(AF_INET, "10.84.0.2", &ours);
        check(wire->setAddress(ours, in_addr{htonl(0xffffff00)}) == 0, "setAddress");
        check(wire->attach(*loop, NetworkInterface::Mode::interrupt).ok(), "attach");
        check(bridge->attach(*loop) == 0, "bridge attach");
        InetStack::Options stackOptions;
        stackOptions.bridge = bridge.get();
        auto inet = InetStack::create(*wire, stackOptions);
        check(inet.ok(), "InetStack::create");
        stack = std::move(inet.value());
        check(stack->attach(*loop) == 0, "stack attach");
        auto made2 = TcpOffloadEngine::create(*stack, *bridge, TcpOffloadEngine::Options{});
        check(made2.ok(), "TcpOffloadEngine::create");
        engine = std::move(made2.value());
        check(engine->attach(*loop) == 0, "engine attach");
        wire->addInputConsumer(&rsts, 0);
        wire->addOutputObserver(&rsts);
    }
    ~Bridged() {
        if (wire) {
            wire->removeInputConsumer(&rsts);
            wire->removeOutputObserver(&rsts);
        }
        engine.reset();
        stack.reset();
        bridge.reset();
        if (wire) wire->detach();
        wire.reset();
    }
    template <typename Done>
    bool pump(Done&& done, std::chrono::seconds timeout = std::chrono::seconds(60)) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            loop->runOnce(std::chrono::milliseconds(2));
            if (done()) return true;
        }
        return false;
    }
    // RSTs so far: both kernels' and those that crossed the wire.
    std::uint64_t rstsNow() const { return rsts.seen + outRsts(peer.name()) + outRsts(host.name()); }
    // Runs the loop until child @p pid has exited (it waits for the receiver's FIN).
    void pumpUntilExited(pid_t pid) {
        pump([&] { return waitpid(pid, nullptr, WNOHANG) == pid; });
    }
    // Accepts the sender's connection and reads its first kHead bytes through the kernel.
    int acceptAndReadHead(int listener, Row& row, std::vector<std::uint8_t>& buffer) {
        int fd = -1;
        if (!pump([&] { return (fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0; })) {
            row.failure = "no connection";
            return -1;
        }
        std::size_t done = 0;
        pump([&] {
            ssize_t n = recv(fd, buffer.data(), std::min(buffer.size(), kHead - done), 0);
            if (n > 0) {
                if (!matches(buffer.data(), static_cast<std::size_t>(n), done)) row.failure = "corrupt head";
                done += static_cast<std::size_t>(n);
            }
            return done == kHead;
        });
        return fd;
    }
};

Row runOffloaded(Bridged& t) {
    Row row;
    std::uint64_t rstsBefore = t.rstsNow();
    int listener = listenIn(t.host, SOCK_NONBLOCK);
    pid_t sender = startSender(t.peer.name(), "10.84.0.2");
    std::vector<std::vector<std::uint8_t>> buffers(bufferCount, std::vector<std::uint8_t>(bufferSize));
    int fd = t.acceptAndReadHead(listener, row, buffers[0]);
    ::close(listener);
    std::uint64_t bytes = 0;
    bool exact = row.failure.empty(), ended = false;
    if (fd >= 0) {
        Window window;
        window.begin();
        std::uint64_t called = nowNs();
        report->offloadAt = called;
        auto handle = t.engine->offload(fd);
        row.offloadCallMs = static_cast<double>(nowNs() - called) / 1e6;
        if (!handle) {
            row.failure = handle.describe();
            ::close(fd);
        } else {
            for (unsigned i = 0; i < bufferCount; ++i)
                t.engine->postReceive(handle.value(), buffers[i].data(), bufferSize, i);
            std::uint64_t placedAtPost = t.engine->statistics(handle.value())->bytesPlaced;
            TcpCompletionQueue& queue = *t.engine->completionQueue();
            t.loop->watchReadable(queue.fd(), [&] {
                TcpCompletion completions[64];
                for (unsigned n; (n = queue.take(completions, 64)) > 0;) {
                    for (unsigned i = 0; i < n; ++i) {
                        const TcpCompletion& c = completions[i];
                        if (c.buffer != nullptr && !matches(c.buffer, c.bytes, kHead + bytes)) exact = false;
                        bytes += c.bytes;
                        if (c.error != 0 || c.endOfStream) ended = true;
                        else t.engine->postReceive(handle.value(), c.buffer, bufferSize, c.cookie);
                    }
                }
            });
            std::uint64_t firstPlaced = 0;
            t.pump([&] {
                if (firstPlaced == 0 && t.engine->statistics(handle.value())->bytesPlaced > placedAtPost)
                    firstPlaced = nowNs();
                return ended;
            });
            window.end(row, bytes);
            t.loop->unwatch(queue.fd());
            row.firstPlacedMs = firstPlaced == 0 ? 0 : static_cast<double>(firstPlaced - called) / 1e6;
            const TcpConnectionStatistics& counted = *t.engine->statistics(handle.value());
            std::fprintf(stderr, "# engine: %llu segments in (%.0f bytes each), %llu ACKs sent, %llu out of order\n",
                         static_cast<unsigned long long>(counted.segmentsIn),
                         static_cast<double>(counted.bytesIn) /
                             static_cast<double>(std::max<std::uint64_t>(counted.segmentsIn, 1)),
                         static_cast<unsigned long long>(counted.acksSent),
                         static_cast<unsigned long long>(counted.outOfOrder));
            t.engine->close(handle.value());
            t.pump([&] { return t.engine->connections() == 0; }, std::chrono::seconds(10));
        }
    }
    t.pumpUntilExited(sender);
    finishSender(sender, row, bytes);
    finishRow(row, bytes, exact, t.rstsNow() - rstsBefore);
    return row;
}

Row runBridged(Bridged& t) {
    Row row;
    std::uint64_t rstsBefore = t.rstsNow();
    int listener = listenIn(t.host, SOCK_NONBLOCK);
    pid_t sender = startSender(t.peer.name(), "10.84.0.2");
    std::vector<std::uint8_t> buffer(bufferSize);
    int fd = t.acceptAndReadHead(listener, row, buffer);
    ::close(listener);
    std::uint64_t bytes = 0;
    bool exact = row.failure.empty(), ended = false;
    if (fd >= 0) {
        Window window;
        window.begin();
        t.loop->watchReadable(fd, [&] {
            for (;;) {
                ssize_t n = recv(fd, buffer.data(), bufferSize, MSG_DONTWAIT);
                if (n > 0) {
                    if (!matches(buffer.data(), static_cast<std::size_t>(n), kHead + bytes)) exact = false;
                    bytes += static_cast<std::size_t>(n);
                    continue;
                }
                if (n == 0 || errno != EAGAIN) ended = true;
                break;
            }
        });
        t.pump([&] { return ended; });
        window.end(row, bytes);
        t.loop->unwatch(fd);
        ::close(fd);
    }
    t.pumpUntilExited(sender);  // the sender waits for our FIN, which the loop forwards
    finishSender(sender, row, bytes);
    finishRow(row, bytes, exact, t.rstsNow() - rstsBefore);
    return row;
}

// ---- the veth pair (row c) ----------------------------------------------------------------------

struct VethPair {
    NetworkNamespace sender{"tvs"}, receiver{"tvr"};
    void open() {
        std::string tag = std::to_string(getpid() % 100000);
        std::string a = "nxtva" + tag, b = "nxtvb" + tag;
        bool ok = sender.ok() && receiver.ok() &&
            runCommand("ip link add " + a + " netns " + sender.name() + " type veth peer name " + b + " netns " +
                       receiver.name())
                    .status == 0 &&
            sender.run("ip addr add 10.85.0.1/24 dev " + a).status == 0 &&
            receiver.run("ip addr add 10.85.0.2/24 dev " + b).status == 0 &&
            sender.run("ip link set " + a + " up").status == 0 && receiver.run("ip link set " + b + " up").status == 0;
        if (!ok) {
            std::fprintf(stderr, "nexnet-toe-bench: veth pair failed\n");
            std::exit(1);
        }
    }
};

Row runVeth(VethPair& v) {
    Row row;
    std::uint64_t rstsBefore = outRsts(v.sender.name()) + outRsts(v.receiver.name());
    int listener = listenIn(v.receiver, 0);
    pid_t sender = startSender(v.sender.name(), "10.85.0.2");
    int fd = accept4(listener, nullptr, nullptr, 0);
    ::close(listener);
    std::vector<std::uint8_t> buffer(bufferSize);
    std::uint64_t bytes = 0, head = 0;
    bool exact = fd >= 0;
    while (fd >= 0 && head < kHead) {
        ssize_t n = recv(fd, buffer.data(), std::min<std::size_t>(bufferSize, kHead - head), 0);
        if (n <= 0) break;
        exact = exact && matches(buffer.data(), static_cast<std::size_t>(n), head);
        head += static_cast<std::size_t>(n);
    }
    Window window;
    window.begin();
    for (ssize_t n; fd >= 0 && (n = recv(fd, buffer.data(), bufferSize, 0)) > 0;) {
        exact = exact && matches(buffer.data(), static_cast<std::size_t>(n), kHead + bytes);
        bytes += static_cast<std::size_t>(n);
    }
    window.end(row, bytes);
    if (fd >= 0) ::close(fd);
    finishSender(sender, row, bytes);
    finishRow(row, bytes, exact, outRsts(v.sender.name()) + outRsts(v.receiver.name()) - rstsBefore);
    return row;
}

// ---- the table ----------------------------------------------------------------------------------

struct Summary {
    std::vector<Row> rows;
    bench::Spread of(double Row::*field) const {
        std::vector<double> v;
        for (const Row& r : rows) v.push_back(r.*field);
        return bench::spread(v);
    }
    double med(double Row::*field) const { return of(field).median; }
    std::string range(double Row::*field) const {
        bench::Spread s = of(field);
        char text[64];
        std::snprintf(text, sizeof text, "%.2f [%.2f-%.2f]", s.median, s.low, s.high);
        return text;
    }
};

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string option = argv[i], value = argv[i + 1];
        if (option == "--megabytes") totalBytes = std::strtoull(value.c_str(), nullptr, 10) << 20;
        else if (option == "--runs") runs = std::atoi(value.c_str());
        else if (option == "--buffer") bufferSize = std::strtoull(value.c_str(), nullptr, 10);
        else if (option == "--buffers") bufferCount = static_cast<unsigned>(std::atoi(value.c_str()));
        else if (option == "--rx") rxMode = value;
        else if (option == "--vnet") vnet = value == "1";
        else if (option == "--rows") rows = value;
        else {
            std::fprintf(stderr,
                         "usage: nexnet-toe-bench [--megabytes M] [--runs N] [--buffer BYTES] [--buffers N] "
                         "[--rx readv|uring] [--vnet 0|1] [--rows abc]\n");
            return 2;
        }
    }
    if (geteuid() != 0) {
        std::fprintf(stderr, "nexnet-toe-bench: needs root (namespaces, taps, veth)\n");
        return 1;
    }
    if (totalBytes <= kHead || bufferSize == 0 || bufferCount == 0) return 2;
    makePattern();
    void* shared = mmap(nullptr, sizeof(SenderReport), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return 1;
    report = static_cast<SenderReport*>(shared);

    std::printf(
        "# nexnet-toe-bench: %zu MiB per stream (the first MiB read by the kernel), %u x %zu-byte buffers, "
        "wire tap rx=%s vnet=%d, %d run(s)\n",
        totalBytes >> 20, bufferCount, bufferSize, rxMode.c_str(), vnet ? 1 : 0, runs);
    std::printf("# load average at start: %s\n", loadAverage().c_str());
    std::fflush(stdout);
    Bridged bridged;
    bridged.open();
    VethPair veth;
    veth.open();
    std::map<char, Summary> results;
    for (int run = 0; run < runs; ++run) {
        for (char which : rows) {
            Row row = which == 'a' ? runOffloaded(bridged) : which == 'b' ? runBridged(bridged) : runVeth(veth);
            std::fprintf(stderr, "# run %d row %c: %.2f Gbit/s, receiver %.2f s/GB (%.2f system)%s%s\n", run + 1, which,
                         row.gbits, row.cpuPerGb, row.systemPerGb, row.failure.empty() ? "" : ": ",
                         row.failure.c_str());
            results[which].rows.push_back(row);
        }
    }
    std::printf("# load average at end: %s\n", loadAverage().c_str());
    const char* names[] = {"a. offloaded, placed into posted buffers", "b. bridged, kernel recv()",
                           "c. veth pair, kernel recv()"};
    std::printf("%-42s %-22s %-22s %-22s %-14s %-7s %-5s %-6s %-13s\n", "row", "Gbit/s median [min-max]",
                "receiver CPU s/GB", "sender CPU s/GB", "softirq s/GB*", "retrans", "RSTs", "exact", "max send gap ms");
    for (auto& [which, summary] : results) {
        unsigned retrans = 0;
        std::uint64_t rsts = 0;
        bool exact = true;
        for (const Row& r : summary.rows) retrans += r.retransmits, rsts += r.rsts, exact = exact && r.exact;
        std::printf("%-42s %-22s %-22s %-22s %-14.3f %-7u %-5llu %-6s %-13.1f\n", names[which - 'a'],
                    summary.range(&Row::gbits).c_str(), summary.range(&Row::cpuPerGb).c_str(),
                    summary.range(&Row::senderCpuPerGb).c_str(), summary.med(&Row::softirqPerGb), retrans,
                    static_cast<unsigned long long>(rsts), exact ? "yes" : "NO", summary.med(&Row::maxGapMs));
    }
    if (results.count('a') != 0) {
        const Summary& a = results['a'];
        std::printf(
            "hand-off (a): offload() %.2f ms; offload() to the first byte from the wire placed %.2f ms; the "
            "sender's pause around the offload %.2f ms (medians)\n",
            a.med(&Row::offloadCallMs), a.med(&Row::firstPlacedMs), a.med(&Row::offloadGapMs));
        for (const Row& r : a.rows)
            if (!r.failure.empty()) std::printf("a failed: %s\n", r.failure.c_str());
    }
    if (results.count('a') != 0 && results.count('b') != 0) {
        double a = results['a'].med(&Row::gbits), b = results['b'].med(&Row::gbits);
        double ca = results['a'].med(&Row::cpuPerGb), cb = results['b'].med(&Row::cpuPerGb);
        std::printf("ratio a/b: %.2fx Gbit/s (goal >= 1.5x), %.2fx receiver CPU s/GB (goal <= 0.6x)\n", a / b, ca / cb);
    }
    if (results.count('a') != 0 && results.count('c') != 0)
        std::printf("ratio a/c: %.2fx Gbit/s (goal >= 1.0x)\n",
                    results['a'].med(&Row::gbits) / results['c'].med(&Row::gbits));
    std::printf("* softirq: the whole machine's over the window, other processes included\n");
    return 0;
}
