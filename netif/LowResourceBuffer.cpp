#include "netif/LowResourceBuffer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

namespace nexnet {

namespace {
using Location = LowResourceDescriptor::Location;
constexpr unsigned kReleaseBurst = 32;
}  // namespace

Result<std::unique_ptr<LowResourceBuffer>> LowResourceBuffer::create(std::shared_ptr<NetbufPool> pool,
                                                                     const Config& config) {
    using R = Result<std::unique_ptr<LowResourceBuffer>>;
    if (!pool) return R::failure(EINVAL);
    Config resolved = config;
    if (resolved.highWater == 0) resolved.highWater = resolved.lowWater;
    if (resolved.highWater < resolved.lowWater) return R::failure(EINVAL);
    std::unique_ptr<LowResourceBuffer> layer(new (std::nothrow) LowResourceBuffer(pool, resolved));
    if (!layer) return R::failure(ENOMEM);
    for (auto& state : layer->queues_) {
        state.reset(new (std::nothrow) QueueState);
        if (!state) return R::failure(ENOMEM);
    }
    if (resolved.reserveCount > 0) {
        // The reserve: buffers as large as the shared pool's, so every packet fits; no thread
        // cache, so reserveInUse() is exact and netbufs freed on any thread come straight back.
        NetbufPool::Options options;
        options.count = resolved.reserveCount;
        options.headroom = pool->headroom();
        options.dataRoom = pool->bufferSize() - pool->headroom();
        options.cacheSize = 0;
        options.hugepages = resolved.hugepages;
        options.name = "nexnet-lowres-reserve";
        auto reserve = NetbufPool::create(options);
        if (!reserve) return R::failure(reserve.error());
        layer->reserve_ = std::move(reserve.value());
    }
    return R(std::move(layer));
}

namespace {
// Adds to a counter only one thread writes: a load and a store, no locked instruction.
void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
std::uint64_t read(const std::atomic<std::uint64_t>& counter) { return counter.load(std::memory_order_relaxed); }
}  // namespace

LowResourceBuffer::LowResourceBuffer(std::shared_ptr<NetbufPool> pool, const Config& config)
    : pool_(std::move(pool)), sharedFree_(pool_.get()), config_(config) {}

LowResourceBuffer::~LowResourceBuffer() {
    remove();
    for (auto& state : queues_)
        if (state) state->heldPackets.freeAll();
}

int LowResourceBuffer::insert(IONetwork& driver) {
    if (inserted_) return EBUSY;
    QueueGate::Control control(driver.queueGate());  // the driver's queues hand bursts to its client
    downstream_ = driver.client();
    updateShortcuts();
    driver.setClient(this);
    driver_ = &driver;
    inserted_ = true;
    return 0;
}

void LowResourceBuffer::remove() {
    if (!inserted_) return;
    QueueGate::Control control(driver_->queueGate());
    flush();
    driver_->setClient(downstream_);
    inserted_ = false;
    driver_ = nullptr;
}

void LowResourceBuffer::linkChanged(IONetwork& driver, bool up) {
    if (downstream_ != nullptr) downstream_->linkChanged(driver, up);
}

std::uint32_t LowResourceBuffer::reserveInUse() const {
    return reserve_ ? reserve_->capacity() - reserve_->sharedAvailable() : 0;
}

LowResourceBuffer::Statistics LowResourceBuffer::statistics() const {
    Statistics total;
    for (const auto& state : queues_) {
        const QueueState& q = *state;
        total.arrays += read(q.arrays);
        total.packets += read(q.packets);
        total.lowResourceEntries += read(q.lowResourceEntries);
        total.recoveries += read(q.recoveries);
        total.packetsFlagged += read(q.packetsFlagged);
        total.flagsRemoved += read(q.flagsRemoved);
        // The normal path counts no more than packets: the rest of them went up in their netbuf.
        total.packetsToHost += read(q.packetsToHost) + read(q.packets) - read(q.slowPackets);
        total.packetsBuffered += read(q.packetsBuffered);
        total.packetsReleased += read(q.packetsReleased);
        total.drops += read(q.drops);
    }
    if (reserve_) total.reserveHighWater = reserve_->highWaterMark();
    return total;
}

bool LowResourceBuffer::isLowResource() const {
    for (const auto& state : queues_)
        if (state->low.load(std::memory_order_relaxed)) return true;
    return false;
}

std::uint64_t LowResourceBuffer::held() const {
    std::uint64_t total = 0;
    for (const auto& state : queues_) total += read(state->held);
    return total;
}

void LowResourceBuffer::inputBurst(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) {
    if (queue >= IONetwork::kMaxQueues) [[unlikely]]
        queue = 0;
    QueueState& state = *queues_[queue];
    // Claim 4: no low-resource condition and nothing buffered: the normal path, no copy. Kept
    // to a few stores to the queue's own line and one atomic load per burst (bench/lowres).
    if (!state.slow && !slowAlways_ && count <= kMaxArray && sharedFree_->sharedAvailable() >= config_.lowWater)
        [[likely]] {
        bump(state.arrays, 1);
        bump(state.packets, count);
        state.lastFast = {state.nextSequence, queue, count};
        state.nextSequence += count;
        downstream_->inputBurst(driver, queue, netbufs, count);
        return;
    }
    while (count > kMaxArray) {
        processArray(driver, queue, netbufs, kMaxArray);
        netbufs += kMaxArray;
        count -= kMaxArray;
    }
    if (count > 0) processArray(driver, queue, netbufs, count);
    updateShortcut(state);
}

void LowResourceBuffer::updateShortcuts() {
    slowAlways_ = client_ != nullptr || downstream_ == nullptr;
    for (auto& state : queues_) updateShortcut(*state);
}

void LowResourceBuffer::setDownstream(IONetworkClient* downstream) {
    if (driver_ != nullptr) {
        QueueGate::Control control(driver_->queueGate());
        downstream_ = downstream;
        updateShortcuts();
        return;
    }
    downstream_ = downstream;
    updateShortcuts();
}

void LowResourceBuffer::setClient(LowResourceClient* client) {
    if (driver_ != nullptr) {
        QueueGate::Control control(driver_->queueGate());
        client_ = client;
        updateShortcuts();
        return;
    }
    client_ = client;
    updateShortcuts();
}

LowResourceClient::ArrayReport LowResourceBuffer::lastArray(unsigned queue) const {
    const QueueState& state = *queues_[queue < IONetwork::kMaxQueues ? queue : 0];
    if (!state.lastFast.valid) return state.report;
    LowResourceClient::ArrayReport report;
    report.firstSequence = state.lastFast.firstSequence;
    report.queue = state.lastFast.queue;
    report.count = state.lastFast.count;
    report.toHost = state.lastFast.count;
    return report;
}

void LowResourceBuffer::processArray(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) {
    QueueState& state = *queues_[queue];
    bump(state.arrays, 1);
    bump(state.packets, count);
    bump(state.slowPackets, count);
    state.lastFast.valid = false;
    LowResourceClient::ArrayReport& report = state.report;
    report = LowResourceClient::ArrayReport{};
    report.firstSequence = state.nextSequence;
    report.queue = queue;
    report.count = count;
    state.nextSequence += count;
    if (!state.low.load(std::memory_order_relaxed) && read(state.held) == 0 &&
        pool_->sharedAvailable() >= config_.lowWater) {
        report.toHost = count;
        for (unsigned i = 0; i < count; ++i) describe(state, i, netbufs[i], Location::host, false);
        deliver(driver, queue, netbufs, count);
    } else {
        processLowResource(driver, queue, netbufs, count);
    }
    bump(state.packetsToHost, report.toHost);
    finishArray(state, count);
}

// Moves between the normal and the low-resource state, with hysteresis.
bool LowResourceBuffer::checkCondition(QueueState& state, std::uint32_t free) {
    bool low = state.low.load(std::memory_order_relaxed);
    if (!low && free < config_.lowWater) {
        low = true;
        bump(state.lowResourceEntries, 1);
    } else if (low && free >= config_.highWater) {
        low = false;
        bump(state.recoveries, 1);
    }
    state.low.store(low, std::memory_order_relaxed);
    return low;
}

// The current packet when the condition arose: the array's packets were taken from the pool in
// order, so packet i left free + (count - 1 - i) netbufs behind it; the first to leave fewer than
// lowWater is the one to mark. A condition older than this array, or packets still held (which
// nothing may overtake), mark the first packet.
unsigned LowResourceBuffer::markFor(const QueueState& state, std::uint32_t free, bool wasLow, unsigned count) const {
    if (wasLow || read(state.held) > 0) return 0;
    std::uint64_t left = std::uint64_t{free} + count;
    if (left <= config_.lowWater) return 0;
    return static_cast<unsigned>(std::min<std::uint64_t>(left - config_.lowWater, count));
}

void LowResourceBuffer::processLowResource(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) {
    QueueState& state = *queues_[queue];
    LowResourceClient::ArrayReport& report = state.report;
    std::uint32_t free = pool_->sharedAvailable();
    bool wasLow = state.low.load(std::memory_order_relaxed);
    if (!checkCondition(state, free)) {
        // Recovered since the last array: what was held goes up first, then this array.
        report.released = releaseHeld(queue);
        report.toHost = count;
        for (unsigned i = 0; i < count; ++i) describe(state, i, netbufs[i], Location::host, false);
        deliver(driver, queue, netbufs, count);
        return;
    }
    // Claim 1: mark the current packet, flag it and each further packet of the array.
    unsigned mark = markFor(state, free, wasLow, count);
    report.mark = mark;
    report.flagged = count - mark;
    bump(state.packetsFlagged, count - mark);
    for (unsigned i = mark; i < count; ++i)
        netbufs[i]->setFlags(static_cast<std::uint16_t>(netbufs[i]->flags() | Netbuf::kMarkedForBuffering));
    // The packets before the mark were received while resources were fine: host memory.
    for (unsigned i = 0; i < mark; ++i) describe(state, i, netbufs[i], Location::host, false);
    report.toHost = mark;
    if (mark > 0) deliver(driver, queue, netbufs, mark);

    // Re-check; the layers above may have freed netbufs meanwhile, on this thread or others.
    pool_->flushThreadCache();
    if (!checkCondition(state, pool_->sharedAvailable())) {
        // Claim 8: resources are available: return to the mark and remove the flags.
        for (unsigned i = mark; i < count; ++i) {
            netbufs[i]->setFlags(static_cast<std::uint16_t>(netbufs[i]->flags() & ~Netbuf::kMarkedForBuffering));
            describe(state, i, netbufs[i], Location::host, false);
        }
        report.unflagged = count - mark;
        bump(state.flagsRemoved, count - mark);
        report.released = releaseHeld(queue);
        report.toHost += count - mark;
        deliver(driver, queue, netbufs + mark, count - mark);
        return;
    }
    bufferFlagged(driver, queue, netbufs, mark, count);
}

// Still low: flagged packets go to the reserve, their netbufs back to the shared pool.
void LowResourceBuffer::bufferFlagged(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned mark,
                                      unsigned count) {
    QueueState& state = *queues_[queue];
    LowResourceClient::ArrayReport& report = state.report;
    Netbuf** copies = state.copies.data();
    unsigned flagged = count - mark;
    unsigned copied = copyToReserve(netbufs + mark, flagged, copies);
    for (unsigned i = 0; i < flagged; ++i) {
        if (copies[i] != nullptr) describe(state, mark + i, copies[i], Location::reserve, true);
        else describe(state, mark + i, netbufs[mark + i], Location::dropped, true);
    }
    NetbufPool::freeToOwners(netbufs + mark, flagged);
    unsigned kept = 0;
    for (unsigned i = 0; i < flagged; ++i)
        if (copies[i] != nullptr) copies[kept++] = copies[i];
    report.toReserve = copied;
    report.reserveFree = reserve_ ? reserve_->sharedAvailable() : 0;
    report.dropped = flagged - copied;
    bump(state.packetsBuffered, copied);
    bump(state.drops, flagged - copied);
    if (config_.release == Release::immediately) {
        deliver(driver, queue, copies, kept);
        return;
    }
    for (unsigned i = 0; i < kept; ++i) state.heldPackets.enqueue(copies[i]);
    bump(state.held, kept);
    state.heldDriver = &driver;
}
// Copies each packet into a reserve netbuf, copies[i] nullptr where none was left (or the packet
// does not fit, as a wrapped netbuf may not). Returns the number copied.
unsigned LowResourceBuffer::copyToReserve(Netbuf** netbufs, unsigned count, Netbuf** copies) {
    unsigned got = 0;
    if (reserve_) {
        if (reserve_->allocateBulk(copies, count) == 0) {
            got = count;
        } else {
            while (got < count && (copies[got] = reserve_->allocate()) != nullptr) ++got;
        }
    }
    for (unsigned i = got; i < count; ++i) copies[i] = nullptr;
    unsigned copied = 0;
    for (unsigned i = 0; i < got; ++i) {
        const Netbuf* source = netbufs[i];
        Netbuf* copy = copies[i];
        if (copy->reset(std::min(source->headroom(), copy->capacity())) != 0 || copy->setSize(source->size()) != 0) {
            copy->free();
            copies[i] = nullptr;
            continue;
        }
        std::memcpy(copy->data(), source->data(), source->size());
        copy->offload() = source->offload();
        copy->setTimestamp(source->timestamp());
        copy->setFlags(static_cast<std::uint16_t>(source->flags() & ~Netbuf::kWrapped));
        ++copied;
    }
    return copied;
}

void LowResourceBuffer::describe(QueueState& state, unsigned at, const Netbuf* netbuf, Location location,
                                 bool flagged) {
    if (client_ == nullptr) return;
    LowResourceDescriptor& d = state.descriptors[at];
    d.sequence = state.report.firstSequence + at;
    d.offset = netbuf->headroom();
    d.length = netbuf->size();
    d.index = netbuf->index();
    d.poolId = netbuf->poolId();
    d.location = location;
    d.flagged = flagged;
}

void LowResourceBuffer::deliver(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) {
    if (count == 0) return;
    if (downstream_ != nullptr) {
        downstream_->inputBurst(driver, queue, netbufs, count);
        return;
    }
    NetbufPool::freeToOwners(netbufs, count);
    bump(queues_[queue]->drops, count);
}

unsigned LowResourceBuffer::releaseHeld(unsigned queue) {
    QueueState& state = *queues_[queue];
    if (read(state.held) == 0) return 0;
    unsigned total = 0;
    Netbuf* burst[kReleaseBurst];
    while (unsigned n = state.heldPackets.dequeueBurst(burst, kReleaseBurst)) {
        deliver(*state.heldDriver, queue, burst, n);
        total += n;
    }
    bump(state.held, 0 - std::uint64_t{total});
    bump(state.packetsReleased, total);
    return total;
}

void LowResourceBuffer::finishArray(QueueState& state, unsigned count) {
    if (client_ == nullptr) return;
    client_->packetsDescribed(state.descriptors.data(), count);
    client_->arrayProcessed(state.report);
}

// Runs @p action holding @p queue of the driver the layer is inserted in, as its bursts do: what
// the layer hands up then runs where the consumers expect it. Not inserted: as it is.
template <typename Action>
unsigned LowResourceBuffer::holdingQueue(unsigned queue, Action&& action) {
    if (driver_ == nullptr) return action();
    QueueGate::Pass pass(driver_->queueGate(), queue);
    return pass ? action() : 0;
}

unsigned LowResourceBuffer::drain(unsigned queue) {
    if (queue >= IONetwork::kMaxQueues || read(queues_[queue]->held) == 0) return 0;
    return holdingQueue(queue, [&] {
        QueueState& state = *queues_[queue];
        pool_->flushThreadCache();
        unsigned released = checkCondition(state, pool_->sharedAvailable()) ? 0 : releaseHeld(queue);
        updateShortcut(state);
        return released;
    });
}

unsigned LowResourceBuffer::drain() {
    unsigned released = 0;
    for (unsigned q = 0; q < IONetwork::kMaxQueues; ++q) released += drain(q);
    return released;
}

unsigned LowResourceBuffer::flush(unsigned queue) {
    if (queue >= IONetwork::kMaxQueues) return 0;
    return holdingQueue(queue, [&] {
        unsigned released = releaseHeld(queue);
        updateShortcut(*queues_[queue]);
        return released;
    });
}

unsigned LowResourceBuffer::flush() {
    unsigned released = 0;
    for (unsigned q = 0; q < IONetwork::kMaxQueues; ++q) released += flush(q);
    return released;
}

}  // namespace nexnet
