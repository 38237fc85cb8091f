// nexnet-bench: nexnet's foundation micro-benchmarks, one "name value unit" line per figure.
//
//   nexnet-bench [all|pool|null|gate] [--nohuge] [--seconds S]
//
// Each loop has the shape of its DPDK counterpart, so the two can be printed side by side:
//   pool  NetbufPool::allocateBulk(32) + freeBulk(32), thread cache 256, 8191 netbufs
//         (rte_pktmbuf_alloc_bulk/free_bulk in dpdk_peer_bench.c), then the raw
//         getBulk/freeBulk(32) on the same pool (rte_mempool_get_bulk/put_bulk).
//   null  two null drivers forwarding to each other on one core in bursts of 32, as testpmd's
//         io-fwd does: for each port, receiveBurst, transmitBurst to the other, free what was
//         not accepted; the figure is packets received per second on both ports (Rx-pps summed).
//   gate  (not in all) what one thread per queue pair costs: QueueGate enter + leave around a
//         burst (each receive and send pays it), and a control call's barrier (close + open)
//         while another thread spins on bursts of another queue: docs/scaling.md's inputs.
// --nohuge keeps every pool on 4 KiB pages (DPDK's --no-huge): compare on the same page size.
#include "drivers/BuiltinDrivers.h"
#include "framework/IOCommands.h"
#include "framework/QueueGate.h"
#include "netbuf/NetbufPool.h"

#include <net/if.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

using namespace nexnet;

namespace {

constexpr unsigned kBurst = 32;
constexpr std::uint64_t kRounds = 20'000'000;  // as dpdk_peer_bench.c

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Keeps the compiler from folding a get into the following put: the array escapes to "memory".
inline void escape(void* pointer) { asm volatile("" : : "g"(pointer) : "memory"); }

void printPageSize(const char* what, const NetbufPool& pool) {
    std::printf("nexnet_%s_page_size %zu KiB\n", what, pool.dataRegion().pageSize() / 1024);
}

int benchPool(bool hugepages) {
    NetbufPool::Options options;
    options.count = 8191;  // rte_pktmbuf_pool_create("bench", 8191, 256, ...)
    options.cacheSize = 256;
    options.hugepages = hugepages;
    auto created = NetbufPool::create(options);
    if (!created) {
        std::fprintf(stderr, "nexnet-bench: pool: %s\n", std::strerror(created.error()));
        return 1;
    }
    NetbufPool& pool = *created.value();
    printPageSize("pool", pool);
    Netbuf* m[kBurst];
    for (int w = 0; w < 1000; w++) {
        pool.allocateBulk(m, kBurst);
        pool.freeBulk(m, kBurst);
    }
    double t0 = now();
    for (std::uint64_t i = 0; i < kRounds; i++) {
        if (pool.allocateBulk(m, kBurst) != 0) {
            std::fprintf(stderr, "nexnet-bench: allocate failed\n");
            return 1;
        }
        escape(m);
        pool.freeBulk(m, kBurst);
    }
    double dt = now() - t0;
    std::printf("nexnet_pool_alloc_free_bulk32 %.2f Mbuf/s\n", kRounds * kBurst / dt / 1e6);
    std::printf("nexnet_pool_alloc_free_bulk32_ns %.3f ns/buf\n", dt * 1e9 / (kRounds * kBurst));
    t0 = now();
    for (std::uint64_t i = 0; i < kRounds; i++) {
        if (pool.getBulk(m, kBurst) != 0) {
            std::fprintf(stderr, "nexnet-bench: get failed\n");
            return 1;
        }
        escape(m);
        pool.freeBulk(m, kBurst);
    }
    dt = now() - t0;
    std::printf("nexnet_pool_get_put_bulk32 %.2f Mobj/s\n", kRounds * kBurst / dt / 1e6);
    return 0;
}

std::unique_ptr<IONetwork> openNull(bool hugepages) {
    auto driver = builtinDrivers().open("null:");
    if (!driver) return nullptr;
    if (!hugepages) {
        NetbufPool::Options options;
        options.count = 8192;
        options.hugepages = false;
        options.name = "nexnet-null";
        auto pool = NetbufPool::create(options);
        if (!pool) return nullptr;
        driver.value()->setPool(std::shared_ptr<NetbufPool>(std::move(pool.value())));
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    if (driver.value()->performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru) != 0) return nullptr;
    return std::move(driver.value());
}

// testpmd io-fwd on one core: a stream per port, run in turn; counts what each port received.
std::uint64_t forwardFor(IONetwork* const* ports, double seconds) {
    std::uint64_t received = 0;
    double end = now() + seconds;
    for (unsigned turn = 0;; ++turn) {
        for (unsigned p = 0; p < 2; ++p) {
            Netbuf* burst[kBurst];
            unsigned n = ports[p]->receive(0, burst, kBurst);
            if (n == 0) continue;
            received += n;
            unsigned sent = ports[1 - p]->send(0, burst, n);
            if (sent < n) [[unlikely]]
                NetbufPool::freeToOwners(burst + sent, n - sent);
        }
        if (turn % 1024 == 0 && now() >= end) return received;
    }
}

int benchNull(bool hugepages, double seconds) {
    std::unique_ptr<IONetwork> a = openNull(hugepages), b = openNull(hugepages);
    if (!a || !b) {
        std::fprintf(stderr, "nexnet-bench: cannot open null:\n");
        return 1;
    }
    printPageSize("null", *a->pool());
    IONetwork* ports[2] = {a.get(), b.get()};
    forwardFor(ports, 1.0);  // warm up, as testpmd's first stats window is discarded
    double t0 = now();
    std::uint64_t received = forwardFor(ports, seconds);
    double dt = now() - t0;
    std::printf("nexnet_null_iofwd %.2f Mpps\n", received / dt / 1e6);
    return 0;
}

int benchGate() {
    QueueGate gate;
    constexpr std::uint64_t kPasses = 100'000'000;
    double t0 = now();
    for (std::uint64_t i = 0; i < kPasses; ++i) {
        if (gate.enter(1)) [[likely]]
            gate.leave(1);
        escape(&gate);
    }
    double dt = now() - t0;
    std::printf("nexnet_gate_pass_ns %.2f ns/burst\n", dt * 1e9 / kPasses);
    // A control call while a queue thread runs bursts: the membarrier and the wait for its burst.
    std::atomic<bool> done{false};
    std::thread queue([&] {
        while (!done.load(std::memory_order_relaxed)) {
            if (gate.enter(0)) gate.leave(0);
        }
    });
    constexpr int kControls = 2000;
    t0 = now();
    for (int i = 0; i < kControls; ++i) {
        gate.close();
        gate.open();
    }
    dt = now() - t0;
    done = true;
    queue.join();
    std::printf("nexnet_gate_control_us %.2f us/control call\n", dt * 1e6 / kControls);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string part = "all";
    bool hugepages = true;
    double seconds = 5;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--nohuge") hugepages = false;
        else if (arg == "--seconds" && i + 1 < argc && (seconds = std::atof(argv[i + 1])) > 0) ++i;
        else if (arg == "all" || arg == "pool" || arg == "null" || arg == "gate") part = arg;
        else {
            std::fputs("usage: nexnet-bench [all|pool|null|gate] [--nohuge] [--seconds S]\n", stderr);
            return 2;
        }
    }
    if ((part == "all" || part == "pool") && benchPool(hugepages) != 0) return 1;
    if ((part == "all" || part == "null") && benchNull(hugepages, seconds) != 0) return 1;
    if (part == "gate" && benchGate() != 0) return 1;
    return 0;
}
