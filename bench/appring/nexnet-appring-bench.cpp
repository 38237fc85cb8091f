// nexnet-appring-bench: app rings across processes, one "name value unit" line per figure.
//
//   nexnet-appring-bench [all|ring|reinject] [--seconds S] [--runs N] [--no-peer]
//
//   ring      ring 1 of app_ring.h between two processes pinned to CPUs 0 and 1, bulk 32, 1024
//             entries. The application process is a real AppRingClient mapped through a real
//             AppRingServer; this process writes the ring as AppRing::postBurst and reap do
//             (8-byte entries, publish head, read the tail only when short of room) straight
//             into the ring region (the null interface is not polled meanwhile). Three ways to
//             remove: receiveEntries as the single consumer (raw entries: the counterpart of
//             rte_ring's pointers), receive (checked packets with data pointers), and
//             receiveEntries with a second client mapped (shared: CAS, a claim per entry).
//             DPDK's SP/SC rte_ring bulk 32 across two cores (dpdk_peer_bench.c) runs in the
//             same invocation through ../shared/bench/dpdk-anchors.sh micro. Each runs --runs
//             times, alternated; figures are medians with [min-max].
//   reinject  the whole rx-intercept path on the null driver: this process runs the interface and
//             AppRingServer (null driver burst -> ring 1); a child process maps the rings with
//             AppRingClient, removes bursts of 32 and re-inserts them into ring 2; this process
//             removes them and hands them to the network layer (a consumer that frees them).
//             Figure: frames re-injected per second (Mpps); then the same path with the
//             application's loop in the framework's thread (its CPU cost, no cross-process waits).
//             Medians of --runs.
#include "drivers/null/NullDriver.h"
#include "framework/EventLoop.h"
#include "netif/AppRingClient.h"
#include "netif/AppRingEntry.h"
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

// A null interface ("null0", 8192 netbufs) behind an AppRingServer, with a network layer that
// frees what reaches it: what both re-inject figures run on.
struct ReinjectBench {
    explicit ReinjectBench(const char* name)
        : path("/tmp/nexnet-" + std::string(name) + "-" + std::to_string(getpid()) + ".sock") {
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
    template <typename Body>
    double measure(double seconds, Body body) {
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

// The framework side of ring 1, as AppRingDelivery::post and reap write and read it, straight
// into the real regions: the interface is not polled, so the AppRing itself posts nothing
// meanwhile.
void produce(std::uint8_t* posted, std::uint8_t* taken, std::uint64_t objects, bool shared) {
    app_ring_posted& control = *reinterpret_cast<app_ring_posted*>(posted);
    const app_ring_header& header = control.header;
    auto* entries = reinterpret_cast<std::uint64_t*>(posted + header.entries_offset);
    auto* claims = reinterpret_cast<std::uint64_t*>(taken + header.claims_offset);
    app_ring_taken& cursors = *reinterpret_cast<app_ring_taken*>(taken);
    std::uint32_t slots = header.slot_count, mask = slots - 1;
    std::uint32_t head = word(control.head).load(), reap = head;
    for (std::uint64_t sent = 0; sent < objects;) {
        if (slots - (head - reap) < kBurst) {  // reads what the application wrote only when short of room
            if (!shared)
                reap = word(cursors.single_tail).load(std::memory_order_acquire);  // everything before it is its own
            while (shared && reap != head) {                                       // each claimed run at once
                AppRingClaim claim = AppRingClaim::load(claims[reap & mask]);
                if (!claim.decides(reap)) break;
                reap += claim.count > 0 ? claim.count : 1;
            }
            if (slots - (head - reap) < kBurst) continue;
        }
        for (unsigned i = 0; i < kBurst; ++i) {
            AppRingEntry::packet(static_cast<std::uint32_t>(sent + i) & 4095, 128, 64)
                .store(entries[(head + i) & mask], std::memory_order_release);
        }
        head += kBurst;
        word(control.head).store(head, std::memory_order_release);
        sent += kBurst;
    }
}

// How the application removes: receiveEntries (raw 8-byte entries, as rte_ring moves pointers)
// or receive (checked packets with data pointers); alone, or with a second client mapped (shared:
// CAS and claims).
struct RingVariant {
    bool shared = false;
    bool packets = false;
};

// The application: a real AppRingClient removing bursts of 32; with variant.shared a second,
// idle client has mapped the rings too, so removal takes the CAS-and-claim path.
void consumeChild(const std::string& path, std::uint64_t objects, RingVariant variant) {
    pin(0);
    AppRingClient::Options options;
    options.mode = APP_RING_RX_INTERCEPT;
    auto client = AppRingClient::connect(path, "null0", options);
    if (!client) _exit(1);
    std::unique_ptr<AppRingClient> idle;
    if (variant.shared) {
        auto joined = AppRingClient::connect(path, "null0", AppRingClient::Options{});
        if (!joined) _exit(1);
        idle = std::move(joined.value());
        client.value()->receive(nullptr, 0);  // sees the hand-over: shared removal from now on
    }
    app_ring_packet packets[kBurst];
    app_ring_entry entries[kBurst];
    std::uint64_t wrong = 0;
    for (std::uint64_t got = 0; got < objects;) {
        // Like DPDK's loop, which never looks at the objects it dequeues: only the last of each
        // burst is checked against the producer's sequence.
        unsigned n = 0;
        std::uint32_t last = 0;
        if (variant.packets) {
            n = client.value()->receive(packets, kBurst);
            if (n > 0) last = packets[n - 1].index;
        } else {
            n = client.value()->receiveEntries(entries, kBurst);
            if (n > 0) last = entries[n - 1].index;
        }
        got += n;
        if (n > 0 && last != ((got - 1) & 4095)) ++wrong;
    }
    _exit(wrong == 0 ? 0 : 2);
}

double benchRing(double seconds, RingVariant variant) {
    // Calibrate the object count to roughly the requested time at ~500 Mobj/s.
    std::uint64_t objects = static_cast<std::uint64_t>(seconds * 500e6) / kBurst * kBurst;
    ReinjectBench bench("appring-ring");
    if (!bench.ready()) return 0;
    pid_t child = fork();
    if (child == 0) consumeChild(bench.path, objects, variant);
    pin(1);
    double wait = now() + 5;
    while (bench.server->applicationCount() < (variant.shared ? 2u : 1u) && now() < wait)
        bench.loop->runOnce(std::chrono::milliseconds(5));
    AppRing* ring = bench.server->ring("null0");
    AppRingDelivery* delivery = ring != nullptr ? ring->deliveryOf(0) : nullptr;
    auto map = [](const DmaRegion& region) {
        return mmap(nullptr, region.size(), PROT_READ | PROT_WRITE, MAP_SHARED, region.fd(), 0);
    };
    void* posted = delivery != nullptr ? map(delivery->postedRegion()) : MAP_FAILED;
    void* taken = delivery != nullptr ? map(delivery->takenRegion()) : MAP_FAILED;
    if (posted == MAP_FAILED || taken == MAP_FAILED) {
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
        return 0;
    }
    double start = now();
    produce(static_cast<std::uint8_t*>(posted), static_cast<std::uint8_t*>(taken), objects, variant.shared);
    int status = 0;
    waitpid(child, &status, 0);
    double elapsed = now() - start;
    munmap(posted, delivery->postedRegion().size());
    munmap(taken, delivery->takenRegion().size());
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::printf("# the application process failed or saw entries out of sequence\n");
        return 0;
    }
    return objects / elapsed / 1e6;
}

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
        std::vector<double> entries, packets, shared, theirs;
        for (int run = 0; run < runs; ++run) {
            entries.push_back(benchRing(seconds, RingVariant{false, false}));
            packets.push_back(benchRing(seconds, RingVariant{false, true}));
            shared.push_back(benchRing(seconds, RingVariant{true, false}));
            double value = 0;
            if (peer && peerRing(value)) theirs.push_back(value);
        }
        std::printf(
            "nexnet_appring_ring1_bulk32_cross_process %.2f Mobj/s  # receiveEntries, one application, median of %d, "
            "%s\n",
            median(entries), runs, spread(entries).c_str());
        std::printf("nexnet_appring_ring1_packets_bulk32_cross_process %.2f Mobj/s  # receive (checked packets), %s\n",
                    median(packets), spread(packets).c_str());
        std::printf(
            "nexnet_appring_ring1_shared_bulk32_cross_process %.2f Mobj/s  # receiveEntries, two applications mapped "
            "(CAS + claims), %s\n",
            median(shared), spread(shared).c_str());
        if (!theirs.empty()) {
            std::printf("dpdk_ring_spsc_bulk32_cross_core %.2f Mobj/s  # median of %zu, %s\n", median(theirs),
                        theirs.size(), spread(theirs).c_str());
            std::printf("ratio_appring_vs_dpdk_ring %.2f\n", median(entries) / median(theirs));
            std::printf("ratio_appring_packets_vs_dpdk_ring %.2f\n", median(packets) / median(theirs));
            std::printf("ratio_appring_shared_vs_dpdk_ring %.2f\n", median(shared) / median(theirs));
        } else {
            std::printf("DPDK peer not available\n");
        }
    }
    if (what == "all" || what == "reinject") {
        std::vector<double> across, alone;
        for (int run = 0; run < runs; ++run) {
            across.push_back(benchReinject(seconds));
            alone.push_back(benchReinjectOneThread(seconds));
        }
        std::printf("nexnet_appring_rx_intercept_reinject_null %.2f Mpps  # median of %d, %s\n", median(across), runs,
                    spread(across).c_str());
        std::printf("nexnet_appring_rx_intercept_reinject_null_one_thread %.2f Mpps  # %s\n", median(alone),
                    spread(alone).c_str());
    }
    return 0;
}
