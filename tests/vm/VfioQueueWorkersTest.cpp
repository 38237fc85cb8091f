// virtio-net with one thread per queue pair, in a guest with two vCPUs (run-guest.sh --nics mq
// --queues 4 --smp 2): QueueWorkers runs the NIC's four queue pairs on two pinned workers, each
// in interrupt mode on its queues' own MSI-X vectors, while the host's kernel sends 16 UDP flows
// that its multi-queue tap spreads over the queues. Every datagram arrives once, each flow on one
// queue and in order, each queue on its worker's thread, and the counters of the queues add up.
#include "GuestFrames.h"
#include "drivers/BuiltinDrivers.h"
#include "netif/InputConsumer.h"
#include "netif/NetworkInterface.h"
#include "netif/QueueWorkers.h"

#include <gtest/gtest.h>

#include <net/if.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace nexnet {
namespace {

using namespace std::chrono_literals;

constexpr unsigned kPairs = 4, kWorkers = 2;
constexpr unsigned kFlows = 16, kPerFlow = 8;  // what "NEXNET-HOST: udp-flows" sends
constexpr unsigned kFirstPort = 40000;
constexpr std::uint8_t kHostIp[4] = {10, 77, 0, 1};

// The flow (source port - 40000) and the datagram's number in it, from the payload
// "nexnet-flow PORT I" the host sends to 10.77.0.2 port 9; false for anything else (ARP, IPv6).
bool flowDatagram(const Netbuf& nb, unsigned& flow, unsigned& index) {
    const std::uint8_t* f = nb.data();
    const std::size_t n = nb.size();
    if (n < 42 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17 || std::memcmp(f + 26, kHostIp, 4) != 0) return false;
    const std::size_t udp = 14 + (f[14] & 0x0fu) * 4u;
    if (udp + 8 > n || ((f[udp + 2] << 8) | f[udp + 3]) != 9) return false;
    const unsigned port = (f[udp] << 8) | f[udp + 1];
    std::string payload(reinterpret_cast<const char*>(f + udp + 8), n - udp - 8);
    unsigned saidPort = 0;
    if (port < kFirstPort || port >= kFirstPort + kFlows ||
        std::sscanf(payload.c_str(), "nexnet-flow %u %u", &saidPort, &index) != 2 || saidPort != port)
        return false;
    flow = port - kFirstPort;
    return true;
}

// Records, per queue, the thread it ran on and the flows it received; each queue's record is
// written only by the worker that runs the queue.
class FlowRecorder : public InputConsumer {
public:
    struct alignas(64) Queue {
        std::atomic<long> thread{0};
        std::atomic<unsigned> threadChanges{0};
        std::atomic<unsigned> datagrams{0};
    };
    struct Flow {
        std::atomic<int> queue{-1};
        std::atomic<unsigned> next{0};  // the index expected next
        std::atomic<unsigned> received{0}, disorders{0}, queueChanges{0};
    };

    void consumeInput(NetworkInterface&, unsigned queue, Netbuf** packets, unsigned count) override {
        if (queue >= kPairs) return;
        Queue& q = queues[queue];
        const long me = static_cast<long>(::syscall(SYS_gettid));
        const long before = q.thread.exchange(me, std::memory_order_relaxed);
        if (before != 0 && before != me) q.threadChanges.fetch_add(1, std::memory_order_relaxed);
        for (unsigned i = 0; i < count; ++i) {
            unsigned flow = 0, index = 0;
            if (packets[i] == nullptr || !flowDatagram(*packets[i], flow, index)) continue;
            Flow& f = flows[flow];
            int was = f.queue.exchange(static_cast<int>(queue), std::memory_order_relaxed);
            if (was >= 0 && was != static_cast<int>(queue)) f.queueChanges.fetch_add(1, std::memory_order_relaxed);
            if (index != f.next.load(std::memory_order_relaxed)) f.disorders.fetch_add(1, std::memory_order_relaxed);
            f.next.store(index + 1, std::memory_order_relaxed);
            f.received.fetch_add(1, std::memory_order_relaxed);
            q.datagrams.fetch_add(1, std::memory_order_relaxed);
            total.fetch_add(1, std::memory_order_release);
        }
    }

    std::array<Queue, kPairs> queues;
    std::array<Flow, kFlows> flows;
    std::atomic<unsigned> total{0};
};

}  // namespace

TEST(VfioMultiqueueThreads, TwoWorkersCarryEveryKernelFlowInOrderEachQueueOnItsWorkersThread) {
    ASSERT_GE(std::thread::hardware_concurrency(), kWorkers) << "run with --smp 2";
    const std::string bdf = test::allBdfs().empty() ? "" : test::allBdfs()[0];
    auto opened = builtinDrivers().open("vfio:" + bdf + ",queues=" + std::to_string(kPairs));
    ASSERT_TRUE(opened.ok()) << opened.describe() << " (run with --nic virtio-net --nics mq --queues 4)";
    NetworkInterface interface(std::move(opened.value()));
    FlowRecorder recorder;
    interface.addInputConsumer(&recorder);
    ASSERT_EQ(interface.setUp(), 0);

    QueueWorkers::Options options;
    options.threads = kWorkers;
    options.cpus = {0, 1};
    auto made = QueueWorkers::create(options);
    ASSERT_TRUE(made.ok()) << made.describe();
    QueueWorkers& workers = *made.value();
    auto mode = workers.add(interface, NetworkInterface::Mode::interrupt);
    ASSERT_TRUE(mode.ok()) << mode.describe();
    EXPECT_EQ(mode.value(), NetworkInterface::Mode::interrupt) << "each receive queue has its own vector";
    EXPECT_TRUE(interface.isMultiThreaded());
    auto started = workers.start();
    ASSERT_TRUE(started.ok()) << started.describe();

    std::printf("NEXNET-HOST: udp-flows\n");
    std::fflush(stdout);
    // A bound on the wait, not a timed assertion: TCG under load is slow, never this slow.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (recorder.total.load(std::memory_order_acquire) < kFlows * kPerFlow &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    workers.stop();

    unsigned used = 0;
    for (unsigned q = 0; q < kPairs; ++q) {
        const FlowRecorder::Queue& queue = recorder.queues[q];
        std::printf("threads: rx queue %u on thread %ld (worker %u, CPU %d): %u datagrams, %llu frames counted\n", q,
                    queue.thread.load(), q % kWorkers, workers.cpu(q % kWorkers), queue.datagrams.load(),
                    static_cast<unsigned long long>(interface.driver().receiveStatistics(q).packets));
        used += queue.datagrams.load() != 0;
        EXPECT_EQ(queue.threadChanges.load(), 0u) << "queue " << q << " ran on two threads";
    }
    // Queues q and q + 2 share worker q % 2; queues 0 and 1 do not.
    for (unsigned q = 0; q + kWorkers < kPairs; ++q) {
        long a = recorder.queues[q].thread.load(), b = recorder.queues[q + kWorkers].thread.load();
        if (a != 0 && b != 0) {
            EXPECT_EQ(a, b) << "queues " << q << " and " << q + kWorkers << " share a worker";
        }
    }
    for (unsigned q = 0; q + 1 < kPairs; ++q) {
        long a = recorder.queues[q].thread.load(), b = recorder.queues[q + 1].thread.load();
        if (a != 0 && b != 0) {
            EXPECT_NE(a, b) << "queues " << q << " and " << q + 1 << " are on different workers";
        }
    }
    EXPECT_GE(used, 2u) << "the tap spread no flows";
    for (unsigned flow = 0; flow < kFlows; ++flow) {
        const FlowRecorder::Flow& f = recorder.flows[flow];
        EXPECT_EQ(f.received.load(), kPerFlow) << "flow " << flow;
        EXPECT_EQ(f.disorders.load(), 0u) << "flow " << flow << " out of order";
        EXPECT_EQ(f.queueChanges.load(), 0u) << "flow " << flow << " on two queues";
    }
    std::uint64_t perQueue = 0;
    for (unsigned q = 0; q < kPairs; ++q) perQueue += interface.driver().receiveStatistics(q).packets;
    EXPECT_EQ(interface.driver().receiveTotals().packets, perQueue);
    EXPECT_GE(perQueue, std::uint64_t{kFlows} * kPerFlow);

    ASSERT_EQ(workers.remove(interface), 0);
    EXPECT_EQ(interface.setFlags(interface.flags() & ~IFF_UP), 0);
    interface.removeInputConsumer(&recorder);
}

}  // namespace nexnet
