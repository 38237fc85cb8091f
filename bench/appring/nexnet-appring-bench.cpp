// nexnet-appring-bench: app rings across processes, one "name value unit" line per figure.
//
//   nexnet-appring-bench [all|ring|reinject] [--seconds S] [--runs N] [--no-peer]
//
//   ring      ring 1 of app_ring.h between two processes pinned to CPUs 0 and 1, bulk 32, 1024
//             slots: the producer does what AppRing::postBurst and AppRing::reap do (write 16-byte
//             slots, publish head, record the consumer's token), the consumer what
//             AppRingClient::receive does (read the slots, CAS the tail, write its token back).
//             Same shape as DPDK's SP/SC rte_ring bulk 32 across cores (dpdk_peer_bench.c), which
//             runs in the same invocation through ../shared/bench/dpdk-anchors.sh micro.
//             The same ring is also run without the ownership records (no token write-back, no
//             reap), which rte_ring has no counterpart of: the cost of claims 9-10. Each side
//             runs --runs times, alternated; figures are medians with [min-max].
//   reinject  the whole rx-intercept path on the null driver: this process runs the interface and
//             AppRingServer (null driver burst -> ring 1); a child process maps the rings with
//             AppRingClient, removes bursts of 32 and re-inserts them into ring 2; this process
//             removes them and hands them to the network layer (a consumer that frees them).
//             Figure: frames re-injected per second (Mpps); then the same path with the
//             application's loop in the framework's thread (its CPU cost, no cross-process waits).
#include "drivers/null/NullDriver.h"
#include "framework/EventLoop.h"
#include "netif/AppRingClient.h"
#include "netif/AppRingServer.h"
#include "netif/NetworkInterface.h"

#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace nexnet;

namespace {

constexpr unsigned kBurst = 32;
constexpr std::uint32_t kSlots = 1024;
constexpr std::uint32_t kMask = kSlots - 1;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

// The framework and the application each on its own CPU (as the ring figure and DPDK's lcores):
// unpinned, two spinning processes on a busy 2-core machine measured 0.05-12 Mpps instead of ~26.
// NEXNET_BENCH_PIN=0 leaves the scheduler free.
bool pinning() {
    const char* setting = getenv("NEXNET_BENCH_PIN");
    return sysconf(_SC_NPROCESSORS_ONLN) >= 2 && (setting == nullptr || std::strcmp(setting, "0") != 0);
}

std::atomic_ref<std::uint32_t> word(std::uint32_t& value) { return std::atomic_ref<std::uint32_t>(value); }

struct RingMemory {
    app_ring_control ring1;
    app_ring_slot slots[kSlots];
};

// The framework side of ring 1 (AppRing::postBurst + reap): private head and reap cursors.
void produce(RingMemory& memory, std::uint64_t objects, bool claims) {
    std::uint32_t head = 0, reap = 0;
    for (std::uint64_t sent = 0; sent < objects;) {
        std::uint32_t tail = word(memory.ring1.tail).load(std::memory_order_acquire);
        if (!claims) reap = tail;
        while (reap != tail && word(memory.slots[reap & kMask].owner).load(std::memory_order_acquire) != 0) ++reap;
        if (kSlots - (head - reap) < kBurst) continue;
        for (unsigned i = 0; i < kBurst; ++i) {
            app_ring_slot& slot = memory.slots[(head + i) & kMask];
            word(slot.index).store(static_cast<std::uint32_t>(sent + i), std::memory_order_relaxed);
            word(slot.length).store(64, std::memory_order_relaxed);
            slot.offset = 128;
            slot.flags = 0;
            if (claims) word(slot.owner).store(0, std::memory_order_relaxed);
        }
        head += kBurst;
        word(memory.ring1.head).store(head, std::memory_order_release);
        sent += kBurst;
    }
}

// The application side (AppRingClient::receive): read, CAS the tail, write the token back.
std::uint64_t consume(RingMemory& memory, std::uint64_t objects, bool claims) {
    std::uint64_t checksum = 0;
    app_ring_packet packets[kBurst];
    for (std::uint64_t got = 0; got < objects;) {
        std::uint32_t tail = word(memory.ring1.tail).load(std::memory_order_acquire);
        if (word(memory.ring1.head).load(std::memory_order_acquire) - tail < kBurst) continue;
        for (unsigned i = 0; i < kBurst; ++i) {
            app_ring_slot& slot = memory.slots[(tail + i) & kMask];
            packets[i].index = word(slot.index).load(std::memory_order_relaxed);
            packets[i].length = word(slot.length).load(std::memory_order_relaxed);
        }
        if (!word(memory.ring1.tail).compare_exchange_strong(tail, tail + kBurst, std::memory_order_acq_rel)) continue;
        for (unsigned i = 0; i < kBurst; ++i) {
            if (claims) word(memory.slots[(tail + i) & kMask].owner).store(7, std::memory_order_release);
            checksum += packets[i].index;
        }
        got += kBurst;
    }
    return checksum;
}

double benchRing(double seconds, bool claims) {
    // Calibrate the object count to roughly the requested time at ~300 Mobj/s.
    std::uint64_t objects = static_cast<std::uint64_t>(seconds * 300e6) / kBurst * kBurst;
    void* shared = mmap(nullptr, sizeof(RingMemory), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return 0;
    auto* memory = new (shared) RingMemory{};
    pid_t child = fork();
    if (child == 0) {
        pin(1);
        produce(*memory, objects, claims);
        _exit(0);
    }
    pin(0);
    double start = now();
    std::uint64_t checksum = consume(*memory, objects, claims);
    double elapsed = now() - start;
    waitpid(child, nullptr, 0);
    munmap(shared, sizeof(RingMemory));
    if (checksum == 0) std::printf("# checksum 0\n");
    return objects / elapsed / 1e6;
}

class FreeingLayer : public InputConsumer {
public:
    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        unsigned n = 0;
        for (unsigned i = 0; i < count; ++i) {
            if (packets[i] != nullptr) packets[n++] = packets[i];
        }
        NetbufPool::freeToOwners(packets, n);
        for (unsigned i = 0; i < count; ++i) packets[i] = nullptr;
        frames += n;
    }
    std::uint64_t frames = 0;
};

void reinjectChild(const std::string& path, double seconds) {
    if (pinning()) pin(1);
    AppRingClient::Options options;
    options.mode = APP_RING_RX_INTERCEPT;
    auto client = AppRingClient::connect(path, "null0", options);
    if (!client) _exit(1);
    app_ring_packet packets[kBurst];
    double end = now() + seconds + 1;
    while (now() < end) {
        unsigned n = client.value()->receive(packets, kBurst);
        if (n == 0) continue;
        while (client.value()->sendWithoutKick(packets, n) == 0) {
        }  // no kick: the framework side polls ring 2 (poll mode)
    }
    _exit(0);
}

// A null interface ("null0", 8192 netbufs) behind an AppRingServer, with a network layer that
// frees what reaches it: what both re-inject figures run on.
struct ReinjectBench {
    explicit ReinjectBench(const char* name) : path("/tmp/nexnet-" + std::string(name) + "-" + std::to_string(getpid()) + ".sock") {
        loop = std::move(EventLoop::create().value());
        auto driver = NullDriver::create(NullDriver::Options{}, 8192);
        if (!driver) return;
        driver.value()->setName("null0");
        interface = std::make_unique<NetworkInterface>(std::move(driver.value()));
        interface->setUp();
        interface->addInputConsumer(&layer, 100);
        auto created = AppRingServer::create(*loop, path);
        if (created) server = std::move(created.value());
        if (server) server->addInterface(*interface);
    }
    ~ReinjectBench() {
        if (loop) loop->runOnce(std::chrono::milliseconds(10));
        server.reset();
        if (interface) interface->removeInputConsumer(&layer);
    }
    bool ready() const { return server != nullptr; }
    /// Frames per second (millions) that reached the network layer while @p body ran for @p seconds.
    template <typename Body> double measure(double seconds, Body body) {
        std::uint64_t before = layer.frames;
        double start = now();
        while (now() - start < seconds) body();
        return (layer.frames - before) / (now() - start) / 1e6;
    }

    std::string path;
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<NetworkInterface> interface;
    std::unique_ptr<AppRingServer> server;
    FreeingLayer layer;
};

double benchReinject(double seconds) {
    ReinjectBench bench("appring-bench");
    if (!bench.ready()) return 0;
    pid_t child = fork();
    if (child == 0) {
        usleep(200000);
        reinjectChild(bench.path, seconds);
    }
    if (pinning()) pin(0);
    // Serve the child's request: it creates the rings (rx intercept).
    double wait = now() + 5;
    while (bench.server->applicationCount() == 0 && now() < wait) bench.loop->runOnce(std::chrono::milliseconds(5));
    double mpps = bench.measure(seconds, [&] {
        for (int i = 0; i < 64; ++i) {
            AppRing* ring = bench.server->ring("null0");
            if (ring == nullptr || ring->ring1Pending() < 512) bench.interface->poll();
            if (ring != nullptr) ring->service();
        }
        bench.loop->runOnce(std::chrono::milliseconds(0));
    });
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    return mpps;
}

// The same path with the application's loop in this thread (connect on a helper thread while
// the loop serves it): the CPU cost of intercept + re-inject without cross-process scheduling.
double benchReinjectOneThread(double seconds) {
    ReinjectBench bench("appring-bench1");
    if (!bench.ready()) return 0;
    AppRingClient::Options options;
    options.mode = APP_RING_RX_INTERCEPT;
    Result<std::unique_ptr<AppRingClient>> client = Result<std::unique_ptr<AppRingClient>>::failure(EAGAIN);
    std::thread connecting([&] { client = AppRingClient::connect(bench.path, "null0", options); });
    while (bench.server->applicationCount() == 0) bench.loop->runOnce(std::chrono::milliseconds(5));
    connecting.join();
    if (!client) return 0;
    AppRing& ring = *bench.server->ring("null0");
    app_ring_packet packets[kBurst];
    double mpps = bench.measure(seconds, [&] {
        for (int i = 0; i < 1024; ++i) {
            bench.interface->poll();
            unsigned n = client.value()->receive(packets, kBurst);
            client.value()->sendWithoutKick(packets, n);
            ring.service();
        }
    });
    client.value().reset();
    return mpps;
}

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

std::string spread(const std::vector<double>& values) {
    if (values.empty()) return "no runs";
    auto [low, high] = std::minmax_element(values.begin(), values.end());
    char text[64];
    std::snprintf(text, sizeof text, "[%.2f-%.2f]", *low, *high);
    return text;
}

bool peerRing(double& value) {
    const char* script = "../shared/bench/dpdk-anchors.sh";
    if (access(script, X_OK) != 0) script = "/work/shared/bench/dpdk-anchors.sh";
    if (access(script, X_OK) != 0) return false;
    std::string command = std::string(script) + " micro 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return false;
    char line[256];
    bool found = false;
    while (std::fgets(line, sizeof line, pipe) != nullptr) {
        if (std::sscanf(line, "dpdk_ring_spsc_bulk32_cross_core %lf", &value) == 1) found = true;
    }
    pclose(pipe);
    return found;
}

}  // namespace

int main(int argc, char** argv) {
    std::string what = argc > 1 && argv[1][0] != '-' ? argv[1] : "all";
    double seconds = 2;
    bool peer = true;
    int runs = 3;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) seconds = std::atof(argv[++i]);
        if (std::strcmp(argv[i], "--no-peer") == 0) peer = false;
        if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    }
    if (what == "all" || what == "ring") {
        // Alternated runs, medians: on a shared 2-core machine one run of either side means little.
        std::vector<double> ours, ceiling, theirs;
        for (int run = 0; run < runs; ++run) {
            ours.push_back(benchRing(seconds, true));
            ceiling.push_back(benchRing(seconds, false));
            double value = 0;
            if (peer && peerRing(value)) theirs.push_back(value);
        }
        std::printf("nexnet_appring_ring1_bulk32_cross_process %.2f Mobj/s  # median of %d, %s\n", median(ours), runs, spread(ours).c_str());
        std::printf("nexnet_ring1_layout_without_claims_bulk32 %.2f Mobj/s  # the same ring without ownership records, %s\n",
                    median(ceiling), spread(ceiling).c_str());
        if (!theirs.empty()) {
            std::printf("dpdk_ring_spsc_bulk32_cross_core %.2f Mobj/s  # median of %zu, %s\n", median(theirs), theirs.size(), spread(theirs).c_str());
            std::printf("ratio_appring_vs_dpdk_ring %.2f\n", median(ours) / median(theirs));
            std::printf("ratio_without_claims_vs_dpdk_ring %.2f\n", median(ceiling) / median(theirs));
        } else {
            std::printf("DPDK peer not available\n");
        }
    }
    if (what == "all" || what == "reinject") {
        std::printf("nexnet_appring_rx_intercept_reinject_null %.2f Mpps\n", benchReinject(seconds));
        std::printf("nexnet_appring_rx_intercept_reinject_null_one_thread %.2f Mpps\n", benchReinjectOneThread(seconds));
    }
    return 0;
}
