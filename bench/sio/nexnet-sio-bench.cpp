// nexnet-sio-bench: the Drepper API on kernel sockets against the ways programs use the kernel
// today, side by side in one run, over a veth pair between two namespaces the benchmark makes.
//
//   nexnet-sio-bench [--seconds S] [--runs N] [--udp-only | --tcp-only | --null-only] [--no-nexnet] [--no-null]
//   (root; DPDK_ANCHORS=path/to/dpdk-anchors.sh adds DPDK testpmd's null io-fwd, measured in the same run)
//
// UDP: a sender thread in one namespace (pinned to CPU 1) blasts datagrams with sendmmsg;
// the receiver (pinned to CPU 0) receives them with each method in turn, counting, and in the
// echo runs answers each to its sender. Methods: sio_recvfrom/sio_sendto (io_uring mode, and
// epoll mode); aio_recvfrom pre-posted on an event channel, answered with lio_listio;
// epoll + recvmmsg/sendmmsg (batch 64); plain recvfrom/sendto. 64 and 1472 bytes. And the same
// sender blasting at a nexnet endpoint (sio_nexnet_open) on a tap whose kernel end is in the
// sender's namespace, received with sio_recvfrom in the tap driver's netbufs. And sio_recv on an
// endpoint of the null driver (no wire) in Mpps, beside DPDK testpmd's io-fwd on net_null.
// TCP: 1 MiB sends to a kernel receiver in the other namespace: sio_send (IORING_OP_SEND_ZC
// from registered DMA memory) against send(2), in Gbit/s and sender CPU seconds per GB, and how
// many zero-copy sends the kernel copied anyway (veth hands the pages to another namespace's
// socket, so it does).
//
// Prints median [min-max] of the runs for each, and ratios against recvmmsg (UDP) or send()
// (TCP). Figures, not assertions: only ratios of one run mean anything on a shared machine.
#include "bench/support/BenchFigures.h"
#include "sio/aio.h"
#include "sio/nexnet.h"
#include "sio/sio.h"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <functional>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace nexnet::bench;

using Clock = std::chrono::steady_clock;

std::string receiverNs, senderNs;
constexpr const char* kReceiverIp = "10.88.0.1";
constexpr const char* kSenderIp = "10.88.0.2";
constexpr int kPort = 9000;
constexpr unsigned kBatch = 64;
constexpr std::size_t kMemory = 32 << 20;

void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

// A socket made inside namespace @p ns (the thread enters it and comes back).
int socketIn(const std::string& ns, int type) {
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int target = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    setns(target, CLONE_NEWNET);
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    setns(self, CLONE_NEWNET);
    close(target);
    close(self);
    return fd;
}

sockaddr_in addressOf(const char* ip, int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<unsigned short>(port));
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

bool setUpNamespaces() {
    std::string suffix = std::to_string(getpid());
    receiverNs = "nxsb-rx-" + suffix;
    senderNs = "nxsb-tx-" + suffix;
    return sh("ip netns add " + receiverNs) == 0 && sh("ip netns add " + senderNs) == 0 &&
        sh("ip netns exec " + receiverNs + " ip link add sb0 type veth peer name sb1 netns " + senderNs) == 0 &&
        sh("ip netns exec " + receiverNs + " ip addr add " + kReceiverIp + "/24 dev sb0") == 0 &&
        sh("ip netns exec " + senderNs + " ip addr add " + kSenderIp + "/24 dev sb1") == 0 &&
        sh("ip netns exec " + receiverNs + " ip link set sb0 up") == 0 &&
        sh("ip netns exec " + senderNs + " ip link set sb1 up") == 0;
}

void tearDownNamespaces() {
    sh("ip netns del " + receiverNs);
    sh("ip netns del " + senderNs);
}

// ---- UDP ------------------------------------------------------------------------------------

struct Figures {
    std::vector<double> runs;
    double median() const {
        std::vector<double> sorted = runs;
        std::sort(sorted.begin(), sorted.end());
        return sorted.empty() ? 0 : sorted[sorted.size() / 2];
    }
    double min() const { return runs.empty() ? 0 : *std::min_element(runs.begin(), runs.end()); }
    double max() const { return runs.empty() ? 0 : *std::max_element(runs.begin(), runs.end()); }
};

// What the sender offered in the last measurement's window (datagrams per second): when a method
// receives about as much, the sender, not the method, set its figure.
double gOffered = 0;

// Blasts datagrams of @p size at @p ip until @p stop, with sendmmsg batches of 64; counts into
// @p offered what it sent between @p from and @p until.
void blast(std::size_t size, const std::atomic<bool>& stop, const char* ip, Clock::time_point from,
           Clock::time_point until, std::atomic<std::uint64_t>& offered) {
    pin(1);
    int fd = socketIn(senderNs, SOCK_DGRAM);
    sockaddr_in to = addressOf(ip, kPort);
    connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
    std::vector<char> payload(size, 'b');
    mmsghdr messages[kBatch]{};
    iovec vector{payload.data(), size};
    for (auto& m : messages) {
        m.msg_hdr.msg_iov = &vector;
        m.msg_hdr.msg_iovlen = 1;
    }
    while (!stop.load(std::memory_order_relaxed)) {
        int n = sendmmsg(fd, messages, kBatch, 0);
        auto now = Clock::now();
        if (n > 0 && now >= from && now < until) offered.fetch_add(static_cast<unsigned>(n), std::memory_order_relaxed);
    }
    close(fd);
}

int receiverSocket() {
    int fd = socketIn(receiverNs, SOCK_DGRAM);
    int one = 1, queue = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &queue, sizeof queue);
    sockaddr_in at = addressOf(kReceiverIp, kPort);
    bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at);
    return fd;
}

// When a method counts: from `from` (after a warm-up) until `until`.
struct Window {
    Clock::time_point from, until;
};

// One receive method: runs until the window closes, returns datagrams received (and echoed)
// inside it. It reads the clock once per 64 datagrams: as often costs as much as a receive.
using Method = std::function<std::uint64_t(int fd, bool echo, Window window)>;

std::uint64_t plainMethod(int fd, bool echo, Window window) {
    std::vector<char> buffer(2048);
    std::uint64_t count = 0;
    for (auto now = Clock::now(); now < window.until; now = Clock::now()) {
        for (unsigned i = 0; i < kBatch; ++i) {
            sockaddr_in from{};
            socklen_t length = sizeof from;
            ssize_t n = recvfrom(fd, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &length);
            if (n < 0) break;
            if (echo)
                sendto(fd, buffer.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), length);
            count += now >= window.from;
        }
    }
    return count;
}

std::uint64_t mmsgMethod(int fd, bool echo, Window window) {
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    epoll_event event{};
    event.events = EPOLLIN;
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    std::vector<char> buffers(kBatch * 2048);
    mmsghdr messages[kBatch]{};
    iovec vectors[kBatch];
    sockaddr_in names[kBatch];
    std::uint64_t count = 0;
    for (auto now = Clock::now(); now < window.until; now = Clock::now()) {
        epoll_event ready;
        if (epoll_wait(epoll, &ready, 1, 100) <= 0) continue;
        for (;;) {
            for (unsigned i = 0; i < kBatch; ++i) {
                vectors[i] = {&buffers[i * 2048], 2048};
                messages[i].msg_hdr = msghdr{};
                messages[i].msg_hdr.msg_iov = &vectors[i];
                messages[i].msg_hdr.msg_iovlen = 1;
                messages[i].msg_hdr.msg_name = &names[i];
                messages[i].msg_hdr.msg_namelen = sizeof names[i];
            }
            int n = recvmmsg(fd, messages, kBatch, MSG_DONTWAIT, nullptr);
            if (n <= 0) break;
            if (echo) {
                for (int i = 0; i < n; ++i) vectors[i].iov_len = messages[i].msg_len;
                sendmmsg(fd, messages, static_cast<unsigned>(n), 0);
            }
            if (now >= window.from) count += static_cast<std::uint64_t>(n);
            now = Clock::now();
            if (now >= window.until) break;
        }
    }
    close(epoll);
    return count;
}

std::uint64_t sioMethod(int fd, bool echo, Window window) {
    dma_mem_t mem;
    if (dma_alloc(&mem, kMemory, 0) != 0 || dma_assoc(fd, mem, kMemory, 0) != 0) {
        std::fprintf(stderr, "sio: %s\n", sio_last_error());
        return 0;
    }
    std::uint64_t count = 0;
    for (auto now = Clock::now(); now < window.until; now = Clock::now()) {
        for (unsigned i = 0; i < kBatch; ++i) {
            void* data;
            sockaddr_in from{};
            socklen_t length = sizeof from;
            ssize_t n = sio_recvfrom(fd, &data, 2048, 0, reinterpret_cast<sockaddr*>(&from), &length);
            if (n < 0) break;
            if (echo) sio_sendto(fd, data, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), length);
            sio_release(mem, data, static_cast<std::size_t>(n));
            count += now >= window.from;
        }
    }
    dma_disassoc(fd, mem, kMemory);
    dma_free(mem, kMemory);
    return count;
}

std::uint64_t aioMethod(int fd, bool echo, Window window) {
    dma_mem_t mem;
    ec_t ec = ec_create_sized(0, 4096);
    if (dma_alloc(&mem, kMemory, 0) != 0 || dma_assoc(fd, mem, kMemory, 0) != 0 || ec == nullptr) {
        std::fprintf(stderr, "aio: %s\n", sio_last_error());
        return 0;
    }
    // Per pre-posted receive: its control block, the message that brings the sender's
    // address, and the send answering it.
    constexpr unsigned kPosted = 256;
    struct Slot {
        sio_aiocb receive, reply;
        msghdr message, replyMessage;
        iovec vector, replyVector;
        sockaddr_in from;
    };
    std::vector<Slot> slots(kPosted);
    auto prepareReceive = [&](Slot& s) {
        s.receive = sio_aiocb{};
        s.message = msghdr{};
        s.vector = iovec{nullptr, 2048};
        s.message.msg_name = &s.from;
        s.message.msg_namelen = sizeof s.from;
        s.message.msg_iov = &s.vector;
        s.message.msg_iovlen = 1;
        s.receive.aio_fildes = fd;
        s.receive.aio_dma_buf = mem;
        s.receive.aio_msg = &s.message;
        s.receive.aio_lio_opcode = LIO_DMA_READ;
        s.receive.aio_sigevent.sigev_notify = SIGEV_EC;
        s.receive.aio_sigevent.sigev_ec = ec;
        s.receive.aio_sigevent.sigev_value.sival_ptr = &s;
    };
    std::vector<sio_aiocb*> list;
    for (auto& s : slots) {
        prepareReceive(s);
        list.push_back(&s.receive);
    }
    sio_lio_listio(LIO_NOWAIT, list.data(), static_cast<int>(list.size()), nullptr);
    std::uint64_t count = 0;
    std::vector<event_data_t> events(kPosted * 2);
    for (auto now = Clock::now(); now < window.until; now = Clock::now()) {
        int n = ec_next_events(ec, events.data(), static_cast<int>(events.size()), 100);
        list.clear();
        for (int i = 0; i < n; ++i) {
            sio_aiocb* cb = events[i].ev_un.ev_aio;
            auto* slot = static_cast<Slot*>(events[i].ev_data);
            if (cb == nullptr || slot == nullptr) continue;
            ssize_t length = sio_aio_return(cb);
            if (cb == &slot->reply) {  // the answer went out: its buffer goes back, the receive again
                sio_release(mem, slot->replyVector.iov_base, 1);
                prepareReceive(*slot);
                list.push_back(&slot->receive);
                continue;
            }
            if (length < 0) {
                prepareReceive(*slot);
                list.push_back(&slot->receive);
                continue;
            }
            count += now >= window.from;
            if (!echo) {
                sio_release(mem, slot->vector.iov_base, 1);
                prepareReceive(*slot);
                list.push_back(&slot->receive);
                continue;
            }
            slot->reply = sio_aiocb{};
            slot->replyVector = iovec{slot->vector.iov_base, static_cast<std::size_t>(length)};
            slot->replyMessage = msghdr{};
            slot->replyMessage.msg_name = &slot->from;
            slot->replyMessage.msg_namelen = slot->message.msg_namelen;
            slot->replyMessage.msg_iov = &slot->replyVector;
            slot->replyMessage.msg_iovlen = 1;
            slot->reply.aio_fildes = fd;
            slot->reply.aio_dma_buf = mem;
            slot->reply.aio_msg = &slot->replyMessage;
            slot->reply.aio_lio_opcode = LIO_DMA_WRITE;
            slot->reply.aio_sigevent.sigev_notify = SIGEV_EC;
            slot->reply.aio_sigevent.sigev_ec = ec;
            slot->reply.aio_sigevent.sigev_value.sival_ptr = slot;
            list.push_back(&slot->reply);
        }
        if (!list.empty()) sio_lio_listio(LIO_NOWAIT, list.data(), static_cast<int>(list.size()), nullptr);
    }
    sio_aio_cancel(fd, nullptr);  // the receives end now, sends in flight soon: their events come
    int n;
    while ((n = ec_next_events(ec, events.data(), static_cast<int>(events.size()), 200)) > 0) {
        for (int i = 0; i < n; ++i) {
            auto* slot = static_cast<Slot*>(events[i].ev_data);
            if (slot != nullptr && events[i].ev_un.ev_aio == &slot->receive && events[i].ev_result > 0)
                sio_release(mem, slot->vector.iov_base, 1);
            else if (slot != nullptr && events[i].ev_un.ev_aio == &slot->reply)
                sio_release(mem, slot->replyVector.iov_base, 1);
        }
    }
    if (ec_destroy(ec) != 0) std::fprintf(stderr, "aio: %s\n", sio_last_error());
    dma_disassoc(fd, mem, kMemory);
    dma_free(mem, kMemory);
    return count;
}

double measureUdp(const Method& method, std::size_t size, bool echo, double seconds) {
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> offered{0};
    int fd = receiverSocket();
    Window window;
    window.from = Clock::now() + std::chrono::milliseconds(300);  // warm-up, not counted
    window.until = window.from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    std::thread sender(blast, size, std::cref(stop), kReceiverIp, window.from, window.until, std::ref(offered));
    pin(0);
    std::uint64_t count = method(fd, echo, window);
    stop = true;
    sender.join();
    gOffered = static_cast<double>(offered.load()) / seconds;
    sio_close(fd);  // (a plain close for a socket the sio calls never saw)
    return static_cast<double>(count) / seconds;
}

// ---- a nexnet endpoint on a tap -------------------------------------------------------------

// The endpoint (sio_nexnet_open) on a tap whose kernel end sits in the sender's namespace: the
// same sender, the same sendmmsg blast, to the endpoint's address instead of the veth.
constexpr const char* kEndpointIp = "10.89.0.2";
int nexnetFd = -1;
dma_mem_t nexnetMemory = nullptr;
std::string tapName;

bool openNexnetEndpoint() {
    tapName = "nxsbt" + std::to_string(getpid() % 100000);
    nexnetFd = sio_nexnet_open(("tap:" + tapName).c_str(), "10.89.0.2/24", kPort, &nexnetMemory);
    if (nexnetFd < 0) {
        std::fprintf(stderr, "nexnet endpoint: %s\n", sio_last_error());
        return false;
    }
    return sh("ip link set " + tapName + " netns " + senderNs) == 0 &&
        sh("ip netns exec " + senderNs + " ip addr add 10.89.0.1/24 dev " + tapName) == 0 &&
        sh("ip netns exec " + senderNs + " ip link set " + tapName + " up") == 0;
}

// sio_recvfrom (+ sio_sendto) + sio_release on the endpoint: the payload stays in the netbuf
// the tap driver received into.
double measureNexnet(std::size_t size, bool echo, double seconds) {
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> offered{0};
    auto from = Clock::now() + std::chrono::milliseconds(300),
         until = from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    std::thread sender(blast, size, std::cref(stop), kEndpointIp, from, until, std::ref(offered));
    pin(0);
    std::uint64_t count = 0;
    for (auto now = Clock::now(); now < until; now = Clock::now()) {
        for (unsigned i = 0; i < kBatch; ++i) {
            void* data;
            sockaddr_in peer{};
            socklen_t length = sizeof peer;
            ssize_t n = sio_recvfrom(nexnetFd, &data, 2048, 0, reinterpret_cast<sockaddr*>(&peer), &length);
            if (n < 0) break;
            if (echo)
                sio_sendto(nexnetFd, data, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&peer), length);
            sio_release(nexnetMemory, data, static_cast<std::size_t>(n));
            count += now >= from;
        }
    }
    stop = true;
    sender.join();
    // What the sender left in flight is drained, so the next run starts empty.
    void* data;
    while (sio_recv(nexnetFd, &data, 2048, MSG_DONTWAIT) >= 0) sio_release(nexnetMemory, data, 1);
    gOffered = static_cast<double>(offered.load()) / seconds;
    return static_cast<double>(count) / seconds;
}

// ---- a nexnet endpoint on the null driver ----------------------------------------------------

// sio_recv + sio_release on an endpoint whose driver is null: with udp= it makes every received
// frame a 64-byte UDP datagram to the endpoint (no wire, no kernel): the cost of the driver's
// receive burst, the protocol layer and the sio calls, in Mpps, beside DPDK testpmd's io-fwd on
// net_null. The interface's thread (made by sio_nexnet_open) runs on CPU 1, the receiver on CPU 0.
// Every pointer sio_recv returns is checked to lie in the pool the driver filled (no copy).
struct NullFigures {
    double mpps = 0;
    std::uint64_t outside = 0;  // pointers outside the driver's pool (must be 0)
    std::uint64_t received = 0;
};

NullFigures measureNull(double seconds) {
    NullFigures figures;
    pin(1);  // the interface's thread is made here and keeps this CPU
    dma_mem_t mem;
    int fd = sio_nexnet_open("null:,udp=10.90.0.2:9000,size=64", "10.90.0.2/24", 9000, &mem);
    pin(0);
    if (fd < 0) {
        std::fprintf(stderr, "null endpoint: %s\n", sio_last_error());
        return figures;
    }
    dma_info pool{};
    dma_getinfo(mem, &pool);
    auto* start = static_cast<const char*>(pool.di_addr);
    auto from = Clock::now() + std::chrono::milliseconds(300),
         until = from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    std::uint64_t count = 0;
    for (auto now = Clock::now(); now < until; now = Clock::now()) {
        for (unsigned i = 0; i < kBatch; ++i) {
            void* data;
            ssize_t n = sio_recv(fd, &data, 2048, 0);
            if (n < 0) break;
            auto* p = static_cast<const char*>(data);
            figures.outside += p < start || p + n > start + pool.di_size;
            sio_release(mem, data, static_cast<std::size_t>(n));
            count += now >= from;
        }
    }
    sio_close(fd);
    figures.received = count;
    figures.mpps = static_cast<double>(count) / seconds / 1e6;
    return figures;
}

// DPDK testpmd io-fwd on two net_null ports, measured now by the peer script named in
// DPDK_ANCHORS (../shared/bench/dpdk-anchors.sh, as scripts/bench.sh uses it): 0 when not given.
double dpdkNullMpps() {
    const char* script = std::getenv("DPDK_ANCHORS");
    if (script == nullptr || access(script, R_OK) != 0) return 0;
    FILE* p = popen(("bash " + std::string(script) + " null 2>/dev/null").c_str(), "r");
    if (p == nullptr) return 0;
    char line[256];
    double mpps = 0;
    while (std::fgets(line, sizeof line, p) != nullptr)
        if (std::sscanf(line, "dpdk_testpmd_null_iofwd %lf", &mpps) == 1) break;
    pclose(p);
    return mpps;
}

// ---- TCP ------------------------------------------------------------------------------------

struct TcpFigures {
    double gbits = 0;
    double cpuPerGb = 0;
};

double threadCpuSeconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Sends 1 MiB buffers to a kernel receiver for @p seconds, with sio_send (zero-copy from
// registered DMA memory) when @p zeroCopy, else send(2) from ordinary memory.
TcpFigures measureTcp(bool zeroCopy, double seconds) {
    constexpr std::size_t kChunk = 1 << 20;
    int listener = socketIn(senderNs, SOCK_STREAM);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in at = addressOf(kSenderIp, kPort + 1);
    bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at);
    listen(listener, 1);
    std::atomic<bool> done{false};
    std::thread receiver([&] {
        pin(1);
        int fd = accept(listener, nullptr, nullptr);
        std::vector<char> sink(kChunk);
        while (recv(fd, sink.data(), sink.size(), 0) > 0) {
        }
        close(fd);
        done = true;
    });
    pin(0);
    int fd = socketIn(receiverNs, SOCK_STREAM);
    connect(fd, reinterpret_cast<sockaddr*>(&at), sizeof at);
    dma_mem_t mem = nullptr;
    void* buffer = nullptr;
    std::vector<char> plain(kChunk, 'p');
    if (zeroCopy) {
        if (dma_alloc(&mem, 4 * kChunk, 0) != 0 || dma_assoc(fd, mem, 4 * kChunk, DMA_ASSOC_SEND) != 0 ||
            sio_reserve(mem, &buffer, kChunk) != 0) {
            std::fprintf(stderr, "tcp: %s\n", sio_last_error());
        }
        std::memset(buffer, 'z', kChunk);
    }
    auto start = Clock::now();
    auto deadline = start + std::chrono::duration<double>(seconds);
    double cpuStart = threadCpuSeconds();
    std::uint64_t bytes = 0;
    while (Clock::now() < deadline) {
        ssize_t n = zeroCopy ? sio_send(fd, buffer, kChunk, 0) : send(fd, plain.data(), kChunk, 0);
        if (n <= 0) break;
        bytes += static_cast<std::uint64_t>(n);
    }
    double cpu = threadCpuSeconds() - cpuStart;
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (zeroCopy) {
        sio_release(mem, buffer, kChunk);
        sio_close(fd);
        dma_free(mem, 4 * kChunk);
    } else {
        close(fd);
    }
    receiver.join();
    close(listener);
    TcpFigures figures;
    figures.gbits = static_cast<double>(bytes) * 8 / elapsed / 1e9;
    figures.cpuPerGb = cpu / (static_cast<double>(bytes) / 1e9);
    return figures;
}

void print(const char* name, const Figures& f, const char* unit, double reference) {
    std::printf("%-44s %9.3f [%.3f-%.3f] %s", name, f.median(), f.min(), f.max(), unit);
    if (reference > 0) std::printf("   %.2fx", f.median() / reference);
    std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 2;
    int runs = 3;
    bool udp = true, tcp = true, nexnet = true, null = true;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
        else if (a == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
        else if (a == "--udp-only") tcp = false;
        else if (a == "--tcp-only") udp = false;
        else if (a == "--no-nexnet") nexnet = false;
        else if (a == "--no-null") null = false;
        else if (a == "--null-only") udp = tcp = nexnet = false;
        else {
            std::fprintf(stderr,
                         "usage: %s [--seconds S] [--runs N] [--udp-only | --tcp-only | --null-only] [--no-nexnet] "
                         "[--no-null]\n",
                         argv[0]);
            return 2;
        }
    }
    if (geteuid() != 0) {
        std::fprintf(stderr, "nexnet-sio-bench: needs root (network namespaces)\n");
        return 2;
    }
    if ((udp || tcp || nexnet) && !setUpNamespaces()) {
        std::fprintf(stderr, "nexnet-sio-bench: cannot make the namespaces and veth pair\n");
        tearDownNamespaces();
        return 1;
    }
    std::printf("# %s\n", sio_mode_message());
    std::printf("# load average at start: %s", loadAverage().c_str());
    if (nexnet && !openNexnetEndpoint()) std::printf("# no nexnet endpoint on a tap: %s\n", sio_last_error());
    else if (nexnet)
        std::printf("# nexnet endpoint on tap %s (its kernel end in the sender's namespace), 10.89.0.2\n",
                    tapName.c_str());
    std::printf(
        "# veth between two namespaces; receiver on CPU 0, sender on CPU 1; %d runs of %.1f s, median [min-max]\n",
        runs, seconds);
    struct Entry {
        const char* name;
        Method method;
        int mode;  // SIO_MODE_* for the sio methods, 0 for plain kernel calls
    };
    std::vector<Entry> entries = {
        {"epoll + recvmmsg/sendmmsg (batch 64)", mmsgMethod, 0},
        {"plain recvfrom/sendto", plainMethod, 0},
        {"sio_recvfrom/sio_sendto (io_uring)", sioMethod, SIO_MODE_URING},
        {"aio_recvfrom + lio_listio (io_uring)", aioMethod, SIO_MODE_URING},
        {"sio_recvfrom/sio_sendto (epoll mode)", sioMethod, SIO_MODE_EPOLL},
        {"aio_recvfrom + lio_listio (epoll mode)", aioMethod, SIO_MODE_EPOLL},
    };
    for (std::size_t size : {std::size_t{64}, std::size_t{1472}}) {
        for (bool echo : {false, true}) {
            if (!udp) break;
            std::vector<Figures> figures(entries.size()), offeredRuns(entries.size());
            Figures endpoint, endpointOffered;
            // Alternated: run r of every method before run r+1 of any, so drift hits all alike.
            for (int r = 0; r < runs; ++r) {
                for (std::size_t e = 0; e < entries.size(); ++e) {
                    if (entries[e].mode != 0 && sio_set_mode(entries[e].mode) != 0) continue;
                    figures[e].runs.push_back(measureUdp(entries[e].method, size, echo, seconds) / 1e6);
                    offeredRuns[e].runs.push_back(gOffered / 1e6);
                }
                if (nexnetFd >= 0) {
                    endpoint.runs.push_back(measureNexnet(size, echo, seconds) / 1e6);
                    endpointOffered.runs.push_back(gOffered / 1e6);
                }
            }
            std::printf("\nUDP %zu B, %s (Mmsg/s; ratio to recvmmsg)\n", size,
                        echo ? "received and echoed" : "received");
            for (std::size_t e = 0; e < entries.size(); ++e)
                if (!figures[e].runs.empty()) {
                    print(entries[e].name, figures[e], "Mmsg/s", figures[0].median());
                    std::printf("    (sender offered %.3f Mmsg/s)\n", offeredRuns[e].median());
                }
            if (!endpoint.runs.empty()) {
                print("nexnet endpoint on a tap: sio_recvfrom/sio_sendto", endpoint, "Mmsg/s", figures[0].median());
                std::printf("    (sender offered %.3f Mmsg/s)\n", endpointOffered.median());
                std::printf("  (ratio to the kernel socket with sio_recvfrom/sio_sendto in io_uring mode: %.2fx)\n",
                            figures[2].median() > 0 ? endpoint.median() / figures[2].median() : 0.0);
            }
        }
    }
    if (null) {
        Figures endpoint;
        std::uint64_t outside = 0, received = 0;
        for (int r = 0; r < runs; ++r) {
            NullFigures f = measureNull(seconds);
            endpoint.runs.push_back(f.mpps);
            outside += f.outside;
            received += f.received;
        }
        double dpdk = dpdkNullMpps();
        std::printf("\nnull driver, 64-byte UDP frames to a nexnet endpoint (Mpps; ratio to DPDK testpmd io-fwd)\n");
        print("sio_recv + sio_release (nexnet endpoint on null:)", endpoint, "Mpps", dpdk);
        if (dpdk > 0)
            std::printf("%-44s %9.3f Mpps (measured now, one forwarding core)\n", "DPDK testpmd io-fwd, net_null",
                        dpdk);
        else std::printf("# DPDK testpmd: not measured (DPDK_ANCHORS=path/to/dpdk-anchors.sh runs it)\n");
        std::printf("# %llu of %llu pointers outside the driver's pool (no payload copy: must be 0)\n",
                    static_cast<unsigned long long>(outside), static_cast<unsigned long long>(received));
    }
    if (tcp) {
        sio_set_mode(SIO_MODE_URING);
        Figures zcRate, zcCpu, copyRate, copyCpu;
        for (int r = 0; r < runs; ++r) {
            TcpFigures zc = measureTcp(true, seconds), copy = measureTcp(false, seconds);
            zcRate.runs.push_back(zc.gbits);
            zcCpu.runs.push_back(zc.cpuPerGb);
            copyRate.runs.push_back(copy.gbits);
            copyCpu.runs.push_back(copy.cpuPerGb);
        }
        unsigned long long sent = 0, copied = 0;
        sio_zerocopy_stats(&sent, &copied);
        std::printf("\nTCP, 1 MiB sends to a kernel receiver (ratio to send())\n");
        print("send(2)", copyRate, "Gbit/s", copyRate.median());
        print("sio_send (SEND_ZC, registered memory)", zcRate, "Gbit/s", copyRate.median());
        print("send(2), sender CPU", copyCpu, "s/GB", copyCpu.median());
        print("sio_send, sender CPU", zcCpu, "s/GB", copyCpu.median());
        std::printf(
            "# zero-copy sends %llu, of which the kernel copied %llu (veth delivers into another "
            "namespace's socket, which needs the data copied out of the sender's pages)\n",
            sent, copied);
    }
    std::printf("# load average at end: %s", loadAverage().c_str());
    if (nexnetFd >= 0) sio_close(nexnetFd);
    tearDownNamespaces();
    return 0;
}
