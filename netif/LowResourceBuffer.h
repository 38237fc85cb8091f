#pragma once
/// @file LowResourceBuffer.h
/// @brief LowResourceBuffer: receive buffering when the shared pool runs low (low-resource seed).

#include "framework/IONetworkClient.h"
#include "framework/IONetwork.h"
#include "netbuf/NetbufPool.h"
#include "netbuf/NetbufQueue.h"
#include "netbuf/Result.h"
#include "netif/LowResourceClient.h"
#include "netif/LowResourceDescriptor.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

namespace nexnet {

/// A receive stage between any driver and the layers above it that keeps the shared pool from
/// running dry: the method of the low-resource buffering seed.
///
/// Received frames land in the shared pool, the driver's NetbufPool (claim 2). While the pool
/// has at least Config::lowWater free netbufs, each array (receive burst) is handed up in the
/// driver's own netbufs, without a copy (claim 4): the cost is one atomic load per burst. When
/// the pool is under its low-water mark (the low-resource condition), the layer
///
/// 1. marks the current packet: the one whose receipt took the pool under the mark (or the
///    first packet of the array when the condition is older, or packets are still buffered);
/// 2. flags it and each further packet of the array (Netbuf::kMarkedForBuffering) and hands
///    the packets before the mark up, to host memory;
/// 3. re-checks the condition. If resources have recovered, it returns to the mark, removes
///    the flags and hands those packets up as well (claim 8). Otherwise it copies each flagged
///    packet into the reserve, a preallocated pool of its own, and frees the driver's netbuf
///    back to the shared pool, so the driver can keep receiving. A flagged packet that finds
///    the reserve full too is freed and counted as a drop: the only drop the layer makes.
///
/// Packets go up in the order they were received (claims 6, 12), whichever memory they are in.
/// With Release::immediately (default) reserve copies go up right away, behind the packets
/// before the mark; with Release::onRecovery the layer holds them until the pool has recovered
/// (every later array queues behind them) and then hands them up first. Each array ends with a
/// descriptor per packet (claim 3) and a report (claim 5) to the LowResourceClient, if any.
///
/// "Host memory" is the layers above: whatever they are handed they own, and they free it
/// (a reserve netbuf returns to the reserve, a driver's netbuf to the shared pool).
///
/// @verbatim
///   driver --inputBurst--> LowResourceBuffer --inputBurst--> downstream (NetworkInterface, ...)
///      |  netbufs in the         | copies flagged packets        ^
///      |  shared pool            v                               |
///      +------------------- reserve pool ---- (immediately / on recovery)
/// @endverbatim
///
/// The condition reads NetbufPool::sharedAvailable() (free netbufs outside thread caches) with
/// hysteresis: low under lowWater, recovered at highWater or more. The re-check first flushes
/// the calling thread's cache of the pool, so netbufs freed on this thread count.
///
/// Per queue: every receive queue has its own state (the condition, the mark, held packets,
/// descriptors, sequence numbers, counters), so queues running on their own threads share nothing
/// on the data path but the two pools (thread caches) and one read of the shared pool's free
/// count per burst: no lock. Each queue enters and leaves the condition by itself; sequence
/// numbers and order are per queue (each flow is on one queue); statistics() sums the queues.
///
/// Threading: queue q's thread calls inputBurst for q, drain(q) and flush(q); drain() and
/// flush() (every queue) are for an interface run by one thread. Configuration calls (insert,
/// remove, setDownstream, setClient) are control calls: with the layer inserted they stop the
/// driver's queues for the change. Other threads may free netbufs of either pool at any time.
class LowResourceBuffer : public IONetworkClient {
public:
    /// When buffered packets go up.
    enum class Release {
        immediately,  ///< Right after the array is processed, behind the packets before the mark.
        onRecovery,   ///< Held until the shared pool has recovered (inputBurst or drain notices).
    };

    /// Configuration, fixed at create().
    struct Config {
        std::uint32_t lowWater = 256;            ///< Low resources: fewer free netbufs in the shared pool. 0 never.
        std::uint32_t highWater = 0;             ///< Recovered: at least this many free (0: lowWater).
        std::uint32_t reserveCount = 1024;       ///< Packets the reserve holds (netbufs preallocated). 0: none.
        Release release = Release::immediately;  ///< When buffered packets go up.
        bool hugepages = false;                  ///< Use hugepages for the reserve.
    };

    /// Counters since create().
    struct Statistics {
        std::uint64_t arrays = 0;              ///< Arrays (bursts) processed.
        std::uint64_t packets = 0;             ///< Packets received from the driver.
        std::uint64_t lowResourceEntries = 0;  ///< Times the low-resource condition began.
        std::uint64_t recoveries = 0;          ///< Times it ended.
        std::uint64_t packetsFlagged = 0;      ///< Packets flagged for buffering.
        std::uint64_t flagsRemoved = 0;        ///< Flags removed from the mark after a recovery.
        std::uint64_t packetsToHost = 0;       ///< Packets handed up in the driver's own netbuf.
        std::uint64_t packetsBuffered = 0;     ///< Packets copied into the reserve.
        std::uint64_t packetsReleased = 0;     ///< Reserve copies handed up after being held.
        std::uint64_t drops = 0;               ///< Packets freed without going up (reserve full, no downstream).
        std::uint32_t reserveHighWater = 0;    ///< Most reserve netbufs in use at once.
    };

    /// Largest array processed at once; longer bursts are processed in arrays of this size.
    static constexpr unsigned kMaxArray = 256;

    /// Makes a layer watching @p pool (the pool the driver receives into) with a reserve of
    /// Config::reserveCount netbufs as large as @p pool's. Errors: EINVAL (no pool, highWater
    /// below lowWater), or the reserve pool's errors (ENOMEM, EMFILE).
    static Result<std::unique_ptr<LowResourceBuffer>> create(std::shared_ptr<NetbufPool> pool, const Config& config);

    /// Removes the layer from its driver (remove()). The layers above must have freed every
    /// reserve netbuf they were handed: the reserve's memory goes with the layer.
    ~LowResourceBuffer() override;
    LowResourceBuffer(const LowResourceBuffer&) = delete;
    LowResourceBuffer& operator=(const LowResourceBuffer&) = delete;

    /// Puts the layer between @p driver and its current input sink (a NetworkInterface, a test's
    /// sink), which becomes downstream(). Call it on the driver's thread, before or while it runs.
    /// @return 0, or EBUSY when the layer is already inserted.
    int insert(IONetwork& driver);
    /// Hands any held packets up (flush()) and gives the driver its sink back. No effect when
    /// not inserted.
    void remove();

    /// Where the layer hands packets up (set by insert(), or directly when the layer is fed by
    /// hand). Without one, packets are freed and counted as drops.
    void setDownstream(IONetworkClient* downstream);
    /// The sink above the layer, or nullptr.
    IONetworkClient* downstream() const { return downstream_; }
    /// Receives descriptors and array reports (claims 3 and 5); nullptr for none (the default,
    /// and the cheapest). The layer does not own it.
    void setClient(LowResourceClient* client);

    /// Hands packets held for @p queue up, in order, if the shared pool has recovered: call it
    /// from the queue's thread when the link is idle (an event-loop poller or timer), since
    /// otherwise only the queue's next array releases them. @return the number handed up.
    unsigned drain(unsigned queue);
    /// drain(q) for every queue, from the one thread that runs them all. @return the number.
    unsigned drain();
    /// Hands every packet held for @p queue up now, in order, whatever the condition, on the
    /// queue's thread. @return the number.
    unsigned flush(unsigned queue);
    /// flush(q) for every queue, from the one thread that runs them all (or with the queues
    /// stopped). @return the number.
    unsigned flush();

    /// True while the low-resource condition holds on any queue (as of its last array, drain or
    /// flush). Any thread.
    bool isLowResource() const;
    /// Reserve copies held for release (Release::onRecovery), all queues. Any thread.
    std::uint64_t held() const;
    /// Reserve netbufs in use: held here or owned by the layers above.
    std::uint32_t reserveInUse() const;
    /// The reserve's pool, or nullptr when Config::reserveCount is 0.
    NetbufPool* reservePool() const { return reserve_.get(); }
    /// The watched shared pool.
    NetbufPool& sharedPool() const { return *pool_; }
    /// The configuration (highWater resolved).
    const Config& config() const { return config_; }
    /// The counters, summed over the queues (lowResourceEntries and recoveries count each
    /// queue's own). Any thread.
    Statistics statistics() const;
    /// Report of the last array processed on @p queue (claim 5), on the queue's thread.
    LowResourceClient::ArrayReport lastArray(unsigned queue = 0) const;

    /// Processes one array received on @p queue of @p driver, as described above; the layer
    /// owns the netbufs from here on. Called by the driver (IONetwork::handleInputBurst), on
    /// the queue's thread.
    void inputBurst(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) override;
    /// Passes the link change up.
    void linkChanged(IONetwork& driver, bool up) override;

private:
    using Counter = std::atomic<std::uint64_t>;
    struct FastArray {  // the last array, when it took the normal path's shortcut
        std::uint64_t firstSequence = 0;
        unsigned queue = 0;
        unsigned count = 0;
        bool valid = true;
    };
    // One receive queue's state, written only by the queue's thread (the counters and flags are
    // read from any); on cache lines of its own.
    struct alignas(64) QueueState {
        bool slow = false;             // low, or packets held: no shortcut
        std::atomic<bool> low{false};  // the low-resource condition, as this queue last saw it
        std::uint64_t nextSequence = 0;
        FastArray lastFast;
        Counter held{0};
        IONetwork* heldDriver = nullptr;  // the driver of the held packets
        Counter arrays{0}, packets{0}, slowPackets{0}, lowResourceEntries{0}, recoveries{0};
        Counter packetsFlagged{0}, flagsRemoved{0}, packetsToHost{0}, packetsBuffered{0}, packetsReleased{0}, drops{0};
        LowResourceClient::ArrayReport report;
        NetbufQueue heldPackets;
        std::array<LowResourceDescriptor, kMaxArray> descriptors{};
        std::array<Netbuf*, kMaxArray> copies{};
    };

    LowResourceBuffer(std::shared_ptr<NetbufPool> pool, const Config& config);
    void processArray(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count);
    void processLowResource(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count);
    bool checkCondition(QueueState& state, std::uint32_t free);
    unsigned markFor(const QueueState& state, std::uint32_t free, bool wasLow, unsigned count) const;
    void bufferFlagged(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned mark, unsigned count);
    unsigned copyToReserve(Netbuf** netbufs, unsigned count, Netbuf** copies);
    void describe(QueueState& state, unsigned at, const Netbuf* netbuf, LowResourceDescriptor::Location location,
                  bool flagged);
    void deliver(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count);
    unsigned releaseHeld(unsigned queue);
    void finishArray(QueueState& state, unsigned count);
    void updateShortcut(QueueState& state) {
        state.slow = state.low.load(std::memory_order_relaxed) || state.held.load(std::memory_order_relaxed) != 0;
    }
    void updateShortcuts();
    template <typename Action>
    unsigned holdingQueue(unsigned queue, Action&& action);

    std::shared_ptr<NetbufPool> pool_;
    const NetbufPool* sharedFree_;  // pool_.get(): one load less on the normal path
    std::unique_ptr<NetbufPool> reserve_;
    Config config_;
    IONetworkClient* downstream_ = nullptr;
    LowResourceClient* client_ = nullptr;
    IONetwork* driver_ = nullptr;  // set by insert()
    bool inserted_ = false;
    bool slowAlways_ = true;  // a client, or no downstream: every queue takes the slow path
    std::array<std::unique_ptr<QueueState>, IONetwork::kMaxQueues> queues_;
};

}  // namespace nexnet
