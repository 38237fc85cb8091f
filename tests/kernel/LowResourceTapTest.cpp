// LowResourceBuffer against the Linux kernel: the kernel floods a tap (its end in a namespace made
// by the test) with numbered UDP datagrams while the layers above return buffers in batches, so
// the tap driver's deliberately small pool runs low. What reaches the layers above is in order,
// and the layer drops only when its reserve is full too.
#include "kernel/TapHarness.h"
#include "netif/LowResourceBuffer.h"

#include <arpa/inet.h>
#include <cstring>
#include <deque>
#include <functional>
#include <netinet/in.h>
#include <thread>

using namespace nexnet;
using namespace nexnet::test;

namespace {

constexpr std::uint16_t kPort = 47999;
constexpr std::uint32_t kDatagrams = 20000;
constexpr std::uint32_t kPool = 256;  // the tap keeps 32 of them ready for reading

// The layers above as a slow application: keeps what it is handed and gives it all back only
// once it holds `batch` packets. Reads the sequence number at the start of each UDP payload.
class BatchingConsumer : public IONetworkClient {
public:
    explicit BatchingConsumer(std::size_t batch) : batch_(batch) {}
    ~BatchingConsumer() override { releaseAll(); }
    void inputBurst(IONetwork&, unsigned, Netbuf** netbufs, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            std::uint32_t sequence = 0;
            if (sequenceOf(netbufs[i], sequence)) {
                if (!sequences.empty() && sequence <= sequences.back()) outOfOrder++;
                sequences.push_back(sequence);
            } else {
                others++;
            }
            kept_.push_back(netbufs[i]);
        }
        if (kept_.size() >= batch_) releaseAll();
    }
    void releaseAll() {
        for (Netbuf* nb : kept_) nb->free();
        kept_.clear();
        lastRelease_ = std::chrono::steady_clock::now();
    }
    /// Also gives everything back when @p period has passed since the last time (a timer).
    void releaseIfDue(std::chrono::microseconds period) {
        if (std::chrono::steady_clock::now() - lastRelease_ >= period) releaseAll();
    }
    std::vector<std::uint32_t> sequences;
    std::uint64_t outOfOrder = 0;
    std::uint64_t others = 0;

private:
    static bool sequenceOf(const Netbuf* frame, std::uint32_t& sequence) {
        const std::uint8_t* f = frame->data();
        if (frame->size() < 14 + 20 + 8 + 4 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17) return false;
        unsigned ihl = (f[14] & 0x0f) * 4u;
        if (frame->size() < 14 + ihl + 8 + 4) return false;
        const std::uint8_t* udp = f + 14 + ihl;
        if ((udp[2] << 8 | udp[3]) != kPort) return false;
        std::memcpy(&sequence, udp + 8, 4);
        sequence = ntohl(sequence);
        return true;
    }
    std::size_t batch_;
    std::deque<Netbuf*> kept_;
    std::chrono::steady_clock::time_point lastRelease_ = std::chrono::steady_clock::now();
};

// Counts arrays whose drops happened while the reserve still had room (must stay 0).
class DropWitness : public LowResourceClient {
public:
    void arrayProcessed(const ArrayReport& report) override {
        if (report.dropped > 0 && report.reserveFree != 0) dropsWithRoom++;
    }
    std::uint64_t dropsWithRoom = 0;
};

struct FloodResult {
    std::uint32_t sent = 0;           // datagrams the socket accepted
    std::uint64_t kernelDropped = 0;  // tx_dropped of the kernel's end (its queue to us was full)
};

class LowResourceTapTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        ns_ = std::make_unique<NetworkNamespace>("lowres");
        ASSERT_TRUE(ns_->ok());
        name_ = uniqueTapName("l");
        driver_ = openTap("tap:" + name_);
        ASSERT_NE(driver_, nullptr);
        // A deliberately small pool, without a thread cache so its free count is exact.
        NetbufPool::Options options;
        options.count = kPool;
        options.cacheSize = 0;
        options.hugepages = false;
        options.name = "lowres-tap";
        auto pool = NetbufPool::create(options);
        ASSERT_TRUE(pool);
        driver_->setPool(std::shared_ptr<NetbufPool>(std::move(pool.value())));
        ASSERT_TRUE(moveIntoNamespace(name_, *ns_, "10.79.0.1/24"));
        ASSERT_EQ(
            ns_->run("ip neigh replace 10.79.0.2 lladdr 02:00:00:00:79:02 dev " + name_ + " nud permanent").status, 0);
        ASSERT_EQ(setFlags(*driver_, IFF_UP), 0);
    }

    void makeLayer(std::uint32_t reserveCount, BatchingConsumer& consumer) {
        LowResourceBuffer::Config config;
        config.lowWater = 96;
        config.reserveCount = reserveCount;
        auto made = LowResourceBuffer::create(driver_->sharedPool(), config);
        ASSERT_TRUE(made) << made.error();
        layer_ = std::move(made.value());
        driver_->setClient(&consumer);
        ASSERT_EQ(layer_->insert(*driver_), 0);
        layer_->setClient(&witness_);
    }

    // Sends kDatagrams numbered datagrams from the namespace while this thread receives; stops
    // receiving once the sender is done and nothing came for 300 ms (at most 20 s).
    FloodResult flood(const std::function<void()>& tick = {}) {
        FloodResult result;
        int fd = ns_->openSocket(AF_INET, SOCK_DGRAM, 0);
        EXPECT_GE(fd, 0);
        if (fd < 0) return result;
        std::atomic<bool> done{false};
        std::thread sender([&] {
            sockaddr_in to{};
            to.sin_family = AF_INET;
            to.sin_port = htons(kPort);
            inet_pton(AF_INET, "10.79.0.2", &to.sin_addr);
            std::uint8_t payload[32] = {};
            for (std::uint32_t i = 0; i < kDatagrams; ++i) {
                std::uint32_t sequence = htonl(i);
                std::memcpy(payload, &sequence, 4);
                if (sendto(fd, payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
                    sizeof payload)
                    result.sent++;
            }
            done = true;
        });
        auto idleSince = std::chrono::steady_clock::now();
        auto deadline = idleSince + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline) {
            if (tick) tick();
            if (driver_->receiveAndDeliver(0, TapDriver::kBurst) > 0) {
                idleSince = std::chrono::steady_clock::now();
                continue;
            }
            layer_->drain();
            if (done && std::chrono::steady_clock::now() - idleSince > std::chrono::milliseconds(300)) break;
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
        sender.join();
        close(fd);
        result.kernelDropped = std::strtoull(
            ns_->run("cat /sys/class/net/" + name_ + "/statistics/tx_dropped").output.c_str(), nullptr, 10);
        return result;
    }

    void expectEveryDatagramAccountedFor(const FloodResult& flood, const BatchingConsumer& consumer) {
        auto stats = layer_->statistics();
        const QueueStatistics& rx = driver_->receiveStatistics(0);
        std::uint64_t delivered = consumer.sequences.size();
        std::cout << "sent " << flood.sent << ", kernel dropped " << flood.kernelDropped << ", driver dropped "
                  << rx.drops + rx.errors << ", delivered " << delivered << ", layer: low-resource entries "
                  << stats.lowResourceEntries << ", buffered " << stats.packetsBuffered << ", flags removed "
                  << stats.flagsRemoved << ", drops " << stats.drops << ", reserve high water "
                  << stats.reserveHighWater << "/" << layer_->config().reserveCount << "\n";
        EXPECT_EQ(stats.packets, delivered + consumer.others + stats.drops);
        EXPECT_LE(delivered + stats.drops, flood.sent);
        EXPECT_EQ(delivered + consumer.others + stats.drops + flood.kernelDropped + rx.drops + rx.errors, flood.sent);
    }

    std::unique_ptr<NetworkNamespace> ns_;
    std::string name_;
    std::unique_ptr<TapDriver> driver_;
    std::unique_ptr<LowResourceBuffer> layer_;
    DropWitness witness_;
};

TEST_F(LowResourceTapTest, FloodWithASmallPoolIsDeliveredInOrderWithoutDropsWhileTheReserveHasRoom) {
    BatchingConsumer consumer(160);
    makeLayer(4096, consumer);
    FloodResult result = flood();
    consumer.releaseAll();
    EXPECT_GT(result.sent, 0u);
    EXPECT_GT(consumer.sequences.size(), kDatagrams / 4);
    EXPECT_EQ(consumer.outOfOrder, 0u);
    EXPECT_GT(layer_->statistics().lowResourceEntries, 0u);
    EXPECT_GT(layer_->statistics().packetsBuffered, 0u);
    EXPECT_LT(layer_->statistics().reserveHighWater, 4096u);
    EXPECT_EQ(layer_->statistics().drops, 0u);
    EXPECT_EQ(witness_.dropsWithRoom, 0u);
    expectEveryDatagramAccountedFor(result, consumer);
    layer_.reset();
}

TEST_F(LowResourceTapTest, FloodDropsOnlyWhenTheReserveIsFullTooAndKeepsOrder) {
    // Holds up to 200 (more than the pool and reserve together) and gives back every 2 ms: in
    // between, the pool runs low and the 16-packet reserve fills.
    BatchingConsumer consumer(200);
    makeLayer(16, consumer);
    FloodResult result = flood([&consumer] { consumer.releaseIfDue(std::chrono::milliseconds(2)); });
    consumer.releaseAll();
    EXPECT_EQ(consumer.outOfOrder, 0u);
    EXPECT_GT(consumer.sequences.size(), 200u);
    EXPECT_GT(layer_->statistics().drops, 0u);
    EXPECT_EQ(layer_->statistics().reserveHighWater, 16u);
    EXPECT_EQ(witness_.dropsWithRoom, 0u);
    expectEveryDatagramAccountedFor(result, consumer);
    layer_.reset();
}

}  // namespace
