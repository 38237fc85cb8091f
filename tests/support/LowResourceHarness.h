#pragma once
/// @file LowResourceHarness.h
/// @brief Test helpers for LowResourceBuffer: a null driver on a pool without thread cache, a
/// sink that records what reaches the layers above, a client that records descriptors.

#include "drivers/null/NullDriver.h"
#include "netif/LowResourceBuffer.h"

#include <algorithm>

#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

namespace nexnet::test {

/// The sequence number NullDriver (fill=1) writes at offset 14 of each frame.
inline std::uint64_t nullSequence(const Netbuf* netbuf) {
    std::uint64_t sequence = 0;
    if (netbuf->size() >= 22) std::memcpy(&sequence, netbuf->data() + 14, sizeof sequence);
    return sequence;
}

/// One packet as the layers above saw it.
struct SeenPacket {
    std::uint64_t sequence;  ///< From the payload.
    std::uint16_t poolId;    ///< Shared pool or reserve.
    std::uint32_t index;     ///< Netbuf index.
    bool flagged;            ///< kMarkedForBuffering was set.
};

/// The layers above: records each packet, then frees it or keeps it (hold = true) until
/// releaseOldest/releaseAll. onDelivery runs after each burst was recorded.
class RecordingSink : public IONetworkClient {
public:
    bool hold = false;
    std::vector<SeenPacket> seen;
    std::deque<Netbuf*> kept;
    std::function<void()> onDelivery;

    void inputBurst(IONetwork&, unsigned, Netbuf** netbufs, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            Netbuf* nb = netbufs[i];
            seen.push_back(
                {nullSequence(nb), nb->poolId(), nb->index(), (nb->flags() & Netbuf::kMarkedForBuffering) != 0});
            if (hold) kept.push_back(nb);
            else nb->free();
        }
        if (onDelivery) onDelivery();
    }
    void releaseOldest(std::size_t count) {
        while (count-- > 0 && !kept.empty()) {
            kept.front()->free();
            kept.pop_front();
        }
    }
    void releaseAll() { releaseOldest(kept.size()); }
    ~RecordingSink() override { releaseAll(); }
};

/// Records descriptors and array reports.
class RecordingClient : public LowResourceClient {
public:
    std::vector<LowResourceDescriptor> descriptors;
    std::vector<ArrayReport> reports;
    std::function<void(const ArrayReport&)> onArray;

    void packetsDescribed(const LowResourceDescriptor* d, unsigned count) override {
        descriptors.insert(descriptors.end(), d, d + count);
    }
    void arrayProcessed(const ArrayReport& report) override {
        reports.push_back(report);
        if (onArray) onArray(report);
    }
};

/// Netbufs the test takes from a pool to put it under pressure; freed on destruction.
class PoolPressure {
public:
    explicit PoolPressure(NetbufPool& pool) : pool_(pool) {}
    ~PoolPressure() { release(held_.size()); }
    PoolPressure(const PoolPressure&) = delete;
    PoolPressure& operator=(const PoolPressure&) = delete;
    /// Takes up to @p count netbufs; returns how many it got.
    unsigned take(unsigned count) {
        unsigned got = 0;
        while (got < count) {
            Netbuf* nb = pool_.allocate();
            if (nb == nullptr) break;
            held_.push_back(nb);
            ++got;
        }
        return got;
    }
    /// Gives back up to @p count netbufs.
    void release(std::size_t count) {
        while (count-- > 0 && !held_.empty()) {
            held_.back()->free();
            held_.pop_back();
        }
    }
    std::size_t held() const { return held_.size(); }

private:
    NetbufPool& pool_;
    std::vector<Netbuf*> held_;
};

/// A running null driver (fill=1: sequence numbers in the payload) whose pool has @p poolSize
/// netbufs and no thread cache, so the free count the layer reads is exact.
inline std::unique_ptr<NullDriver> makeNullDriver(std::uint32_t poolSize, std::uint32_t frameSize = 64) {
    NullDriver::Options options;
    options.fill = true;
    options.frameSize = frameSize;
    auto driver = NullDriver::create(options, 1);
    if (!driver) return nullptr;
    NetbufPool::Options poolOptions;
    poolOptions.count = poolSize;
    poolOptions.cacheSize = 0;
    poolOptions.hugepages = false;
    poolOptions.name = "lowres-test";
    auto pool = NetbufPool::create(poolOptions);
    if (!pool) return nullptr;
    driver.value()->setPool(std::shared_ptr<NetbufPool>(std::move(pool.value())));
    driver.value()->resetAndEnable(true);
    return std::move(driver.value());
}

/// Receives one array of up to @p count packets from @p driver and hands it up (to the layer).
inline unsigned receiveArray(IONetwork& driver, unsigned count, unsigned queue = 0) {
    return driver.receiveAndDeliver(queue, std::min(count, LowResourceBuffer::kMaxArray));
}

}  // namespace nexnet::test
