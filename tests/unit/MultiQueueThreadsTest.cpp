// One thread per queue pair: NetworkInterfaces run by QueueWorkers forward multi-queue null
// traffic without losing, duplicating or reordering a flow, with capture and low-resource
// buffering per queue, and with up and down while traffic runs. Multi-threaded: also built and
// run under ThreadSanitizer (NEXNET_TSAN, every *ThreadsTest).
#include "drivers/BuiltinDrivers.h"
#include "drivers/null/NullDriver.h"
#include "netif/CaptureTap.h"
#include "netif/LowResourceBuffer.h"
#include "netif/NetworkInterface.h"
#include "netif/QueueWorkers.h"
#include "support/QueueForwarder.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <sched.h>
#include <thread>
#include <vector>

namespace nexnet {
namespace {

using namespace std::chrono_literals;
using Mode = NetworkInterface::Mode;

constexpr unsigned kQueues = 4;

// The frame's flow and sequence number, as null:,fill=1 writes them.
struct FlowMark {
    unsigned flow;
    std::uint64_t sequence;
};
FlowMark markOf(const std::uint8_t* frame) {
    FlowMark mark{frame[22], 0};
    std::memcpy(&mark.sequence, frame + 14, sizeof mark.sequence);
    return mark;
}

// A sink with kQueues queue pairs that checks what it is given: each flow must arrive in order,
// each frame once (or, with gaps allowed, in increasing order). Each flow's state is touched by
// the one queue thread its frames come on: a flow seen on two threads is a race ThreadSanitizer
// reports, and an order the checks report.
class FlowCheckingSink : public IOEthernet {
public:
    struct alignas(64) Flow {
        std::uint64_t next = 0;  // the sequence expected next
        std::atomic<std::uint64_t> received{0};
        std::atomic<std::uint64_t> disorders{0};  // behind an earlier one, or (no gaps) not the next
        int queue = -1;                           // the queue its frames came on
        std::atomic<std::uint64_t> queueChanges{0};
    };
    explicit FlowCheckingSink(bool gapsAllowed) : gapsAllowed_(gapsAllowed) {
        setName("sink");
        attachToNetworkWithAddress(EthernetAddress::randomLocal());
    }
    unsigned queueCount() const override { return kQueues; }
    std::uint64_t received() const {
        std::uint64_t total = 0;
        for (const Flow& flow : flows) total += flow.received.load();
        return total;
    }
    std::array<Flow, 256> flows;

protected:
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            FlowMark mark = markOf(packets[i]->data());
            Flow& flow = flows[mark.flow];
            bool inOrder = gapsAllowed_ ? mark.sequence >= flow.next : mark.sequence == flow.next;
            if (!inOrder) flow.disorders.store(flow.disorders.load() + 1);
            flow.next = mark.sequence + 1;
            if (flow.queue != static_cast<int>(queue)) {
                if (flow.queue >= 0) flow.queueChanges.store(flow.queueChanges.load() + 1);
                flow.queue = static_cast<int>(queue);
            }
            flow.received.store(flow.received.load() + 1);
        }
        NetbufPool::freeToOwners(packets, count);
        return count;
    }

private:
    bool gapsAllowed_;
};

using Forwarder = test::QueueForwarder;

// Waits until @p done, at most @p limit: a bound on a wait, never a timed assertion.
bool waitUntil(const std::function<bool()>& done, std::chrono::seconds limit = 60s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

class MultiQueueThreadsTest : public ::testing::Test {
protected:
    // A source of kQueues flows (one per queue, @p perFlow frames each; 0: endless) forwarding into
    // a checking sink, run by @p threads workers.
    void make(std::uint64_t perFlow, unsigned threads, bool gapsAllowed = false, const std::string& extra = "") {
        std::string uri = "null:,fill=1,queues=" + std::to_string(kQueues) + extra;
        if (perFlow != 0) uri += ",limit=" + std::to_string(perFlow);
        auto opened = builtinDrivers().open(uri);
        ASSERT_TRUE(opened.ok()) << opened.describe();
        source = std::make_unique<NetworkInterface>(std::move(opened.value()));
        auto sinkDriver = std::make_unique<FlowCheckingSink>(gapsAllowed);
        sinkDriver->setPool(source->driver().sharedPool());
        checker = sinkDriver.get();
        sink = std::make_unique<NetworkInterface>(std::move(sinkDriver));
        forwarder = std::make_unique<Forwarder>(*sink);
        source->addInputConsumer(forwarder.get());
        QueueWorkers::Options options;
        options.threads = threads;
        auto made = QueueWorkers::create(options);
        ASSERT_TRUE(made.ok()) << made.describe();
        workers = std::move(made.value());
        ASSERT_EQ(source->setUp(), 0);
        ASSERT_EQ(sink->setUp(), 0);
        auto mode = workers->add(*source, Mode::poll);
        ASSERT_TRUE(mode.ok()) << mode.describe();
        ASSERT_TRUE(workers->add(*sink, Mode::poll).ok());
    }
    void TearDown() override {
        if (workers) workers->stop();
        workers.reset();  // detaches the interfaces
        if (source && forwarder) source->removeInputConsumer(forwarder.get());
    }
    // Every flow arrived whole, once, in order, on one queue.
    void expectEveryFlowWholeAndInOrder(std::uint64_t perFlow) {
        for (unsigned flow = 0; flow < kQueues; ++flow) {
            const FlowCheckingSink::Flow& f = checker->flows[flow];
            EXPECT_EQ(f.received.load(), perFlow) << "flow " << flow;
            EXPECT_EQ(f.disorders.load(), 0u) << "flow " << flow;
            EXPECT_EQ(f.queueChanges.load(), 0u) << "flow " << flow;
        }
    }

    std::unique_ptr<NetworkInterface> source, sink;
    FlowCheckingSink* checker = nullptr;
    std::unique_ptr<Forwarder> forwarder;
    std::unique_ptr<QueueWorkers> workers;
};

TEST_F(MultiQueueThreadsTest, TwoThreadsForwardFourFlowsLosingDuplicatingAndReorderingNothing) {
    constexpr std::uint64_t kPerFlow = 200000;
    make(kPerFlow, 2);
    ASSERT_TRUE(workers->start().ok());
    ASSERT_TRUE(waitUntil([&] { return checker->received() >= kQueues * kPerFlow; })) << checker->received();
    workers->stop();
    expectEveryFlowWholeAndInOrder(kPerFlow);
    EXPECT_EQ(source->driver().inputPackets(), kQueues * kPerFlow);
    EXPECT_EQ(sink->driver().outputPackets(), kQueues * kPerFlow);
    EXPECT_EQ(source->driver().pool()->inUse(), 0u);
}

TEST_F(MultiQueueThreadsTest, AsManyThreadsAsQueuesForwardEveryFlowInOrder) {
    constexpr std::uint64_t kPerFlow = 50000;
    make(kPerFlow, kQueues);
    ASSERT_TRUE(workers->start().ok());
    ASSERT_TRUE(waitUntil([&] { return checker->received() >= kQueues * kPerFlow; })) << checker->received();
    workers->stop();
    expectEveryFlowWholeAndInOrder(kPerFlow);
}

TEST_F(MultiQueueThreadsTest, CountersOfEveryQueueAddUpToTheInterfaceTotals) {
    constexpr std::uint64_t kPerFlow = 30000;
    make(kPerFlow, 2);
    ASSERT_TRUE(workers->start().ok());
    ASSERT_TRUE(waitUntil([&] { return checker->received() >= kQueues * kPerFlow; }));
    workers->stop();
    QueueStatistics received, sent;
    for (unsigned q = 0; q < kQueues; ++q) {
        EXPECT_EQ(source->driver().receiveStatistics(q).packets, kPerFlow) << "queue " << q;
        EXPECT_EQ(sink->driver().transmitStatistics(q).packets, kPerFlow) << "queue " << q;
        received += source->driver().receiveStatistics(q);
        sent += sink->driver().transmitStatistics(q);
    }
    EXPECT_EQ(received.packets, source->receiveStatistics().packets);
    EXPECT_EQ(received.bytes, source->receiveStatistics().bytes);
    EXPECT_EQ(sent.packets, sink->transmitStatistics().packets);
    EXPECT_EQ(sent.bytes, received.bytes);
}

TEST_F(MultiQueueThreadsTest, UpAndDownWhileTrafficRunsCountsEveryFrameOnceAndLeaksNone) {
    make(0, 2, /*gapsAllowed=*/true);
    ASSERT_TRUE(workers->start().ok());
    ASSERT_TRUE(waitUntil([&] { return checker->received() > 10000; }));
    for (int i = 0; i < 40; ++i) {
        NetworkInterface& which = i % 4 < 2 ? *sink : *source;  // each goes down and comes back
        ASSERT_EQ(which.setFlags(i % 2 == 0 ? 0 : IFF_UP), 0);
        std::this_thread::sleep_for(1ms);
    }
    std::uint64_t before = checker->received();
    ASSERT_TRUE(waitUntil([&] { return checker->received() > before + 10000; })) << "traffic did not resume";
    workers->stop();
    // Frames went out, or were dropped and counted (the sink down), never lost or counted twice;
    // each flow kept its order across the gaps.
    const IONetwork& in = source->driver();
    const IONetwork& out = sink->driver();
    EXPECT_EQ(in.inputPackets(), out.outputPackets() + out.outputDrops() + sink->outputQueued());
    EXPECT_EQ(out.outputPackets(), checker->received());
    for (unsigned flow = 0; flow < kQueues; ++flow) EXPECT_EQ(checker->flows[flow].disorders.load(), 0u);
    EXPECT_GT(out.outputDrops(), 0u);  // the sink was down while frames came
}

TEST_F(MultiQueueThreadsTest, CaptureWritesEveryQueuesFramesEachFlowInOrder) {
    constexpr std::uint64_t kPerFlow = 5000;
    make(kPerFlow, 2);
    auto path = std::filesystem::temp_directory_path() / ("nexnet-mq-capture-" + std::to_string(getpid()) + ".pcap");
    CaptureTap::Options options;
    options.path = path;
    options.transmit = false;
    auto tap = CaptureTap::create(options);
    ASSERT_TRUE(tap.ok());
    ASSERT_EQ(tap.value()->attach(*source), 0);
    ASSERT_TRUE(workers->start().ok());
    ASSERT_TRUE(waitUntil([&] { return checker->received() >= kQueues * kPerFlow; }));
    workers->stop();
    ASSERT_EQ(tap.value()->flush(), 0);
    EXPECT_EQ(tap.value()->captured() + tap.value()->drops(), kQueues * kPerFlow);
    char error[PCAP_ERRBUF_SIZE];
    pcap_t* file = pcap_open_offline(path.c_str(), error);
    ASSERT_NE(file, nullptr) << error;
    std::map<unsigned, std::uint64_t> next;
    std::uint64_t frames = 0, disorders = 0;
    pcap_pkthdr* header;
    const u_char* data;
    while (pcap_next_ex(file, &header, &data) == 1) {
        FlowMark mark = markOf(data);
        if (mark.sequence < next[mark.flow]) ++disorders;
        next[mark.flow] = mark.sequence + 1;
        ++frames;
    }
    pcap_close(file);
    std::filesystem::remove(path);
    EXPECT_EQ(frames, tap.value()->captured());
    EXPECT_EQ(disorders, 0u);
    tap.value()->detach();
}

TEST_F(MultiQueueThreadsTest, LowResourceBufferingPerQueueKeepsEveryFlowInOrder) {
    constexpr std::uint64_t kPerFlow = 20000;
    // A small pool whose frames in flight alone keep it under the low-water mark: every queue buffers.
    make(kPerFlow, 2, false, ",pool=1024");
    LowResourceBuffer::Config config;
    config.lowWater = 1000;
    config.reserveCount = 4096;
    auto layer = LowResourceBuffer::create(source->driver().sharedPool(), config);
    ASSERT_TRUE(layer.ok());
    ASSERT_EQ(layer.value()->insert(source->driver()), 0);
    ASSERT_TRUE(workers->start().ok());
    ASSERT_TRUE(
        waitUntil([&] { return checker->received() + layer.value()->statistics().drops >= kQueues * kPerFlow; }));
    workers->stop();
    LowResourceBuffer::Statistics stats = layer.value()->statistics();
    EXPECT_GT(stats.packetsBuffered, 0u);  // the low-resource path ran, on several threads
    EXPECT_EQ(stats.drops, 0u);
    EXPECT_EQ(stats.packets, kQueues * kPerFlow);
    expectEveryFlowWholeAndInOrder(kPerFlow);
    layer.value()->remove();
}

// ---- QueueWorkers ------------------------------------------------------------------------------

TEST(QueueWorkers, StartsAndStopsAgainAndAgain) {
    auto workers = QueueWorkers::create({2, {}, "nexnet-t"});
    ASSERT_TRUE(workers.ok());
    std::atomic<unsigned> turns[2] = {0, 0};
    for (unsigned w = 0; w < 2; ++w) workers.value()->loop(w).addPoller([&turns, w] { return ++turns[w] < 1000; });
    for (int round = 0; round < 3; ++round) {
        ASSERT_TRUE(workers.value()->start().ok());
        EXPECT_TRUE(workers.value()->isRunning());
        EXPECT_EQ(workers.value()->start().error(), EBUSY);
        ASSERT_TRUE(waitUntil([&] { return turns[0] > 0 && turns[1] > 0; }));
        workers.value()->stop();
        EXPECT_FALSE(workers.value()->isRunning());
    }
}

TEST(QueueWorkers, PinsEachWorkerToItsCpu) {
    cpu_set_t allowed;
    ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    std::vector<unsigned> cpus;
    for (unsigned cpu = 0; cpu < CPU_SETSIZE && cpus.size() < 2; ++cpu)
        if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
    auto workers = QueueWorkers::create({2, cpus, "nexnet-t"});
    ASSERT_TRUE(workers.ok()) << workers.describe();
    std::atomic<int> seen[2] = {-1, -1};
    for (unsigned w = 0; w < 2; ++w) {
        workers.value()->loop(w).addPoller([&seen, w] {
            seen[w] = sched_getcpu();
            return false;
        });
    }
    ASSERT_TRUE(workers.value()->start().ok());
    ASSERT_TRUE(waitUntil([&] { return seen[0] >= 0 && seen[1] >= 0; }));
    workers.value()->stop();
    for (unsigned w = 0; w < 2; ++w) {
        EXPECT_EQ(seen[w].load(), workers.value()->cpu(w));
        EXPECT_EQ(seen[w].load(), static_cast<int>(cpus[w % cpus.size()]));
    }
}

TEST(QueueWorkers, RefusesACpuThisProcessMayNotRunOnAndSaysWhich) {
    auto workers = QueueWorkers::create({1, {CPU_SETSIZE - 1}, "nexnet-t"});
    ASSERT_FALSE(workers.ok());
    EXPECT_EQ(workers.error(), EINVAL);
    EXPECT_NE(workers.message().find(std::to_string(CPU_SETSIZE - 1)), std::string::npos) << workers.message();
    EXPECT_EQ(QueueWorkers::create({0, {}, "x"}).error(), EINVAL);
    EXPECT_EQ(QueueWorkers::create({17, {}, "x"}).error(), EINVAL);
}

TEST(QueueWorkers, InterfacesAreAddedAndRemovedOnlyWhileStopped) {
    auto driver = builtinDrivers().open("null:,queues=2");
    ASSERT_TRUE(driver.ok());
    NetworkInterface interface(std::move(driver.value()));
    auto workers = QueueWorkers::create({2, {}, "nexnet-t"});
    ASSERT_TRUE(workers.ok());
    ASSERT_TRUE(workers.value()->start().ok());
    EXPECT_EQ(workers.value()->add(interface, Mode::poll).error(), EBUSY);
    workers.value()->stop();
    auto mode = workers.value()->add(interface, Mode::interrupt);
    ASSERT_TRUE(mode.ok());
    EXPECT_EQ(mode.value(), Mode::poll);  // null: has no interrupts, and says so
    EXPECT_TRUE(interface.isMultiThreaded());
    EXPECT_EQ(interface.attach(workers.value()->loop(0), Mode::poll).error(), EBUSY);
    ASSERT_TRUE(workers.value()->start().ok());
    EXPECT_EQ(workers.value()->remove(interface), EBUSY);
    workers.value()->stop();
    EXPECT_EQ(workers.value()->remove(interface), 0);
    EXPECT_EQ(workers.value()->remove(interface), ENOENT);
}

TEST(QueueWorkers, ParsesCpuListsAsTasksetDoes) {
    auto cpus = QueueWorkers::parseCpuList("0-2,5,7-8");
    ASSERT_TRUE(cpus.ok());
    EXPECT_EQ(cpus.value(), (std::vector<unsigned>{0, 1, 2, 5, 7, 8}));
    for (const char* bad : {"", "a", "3-1", "1,", "1-", "-2", "99999"})
        EXPECT_EQ(QueueWorkers::parseCpuList(bad).error(), EINVAL) << bad;
}

}  // namespace
}  // namespace nexnet
