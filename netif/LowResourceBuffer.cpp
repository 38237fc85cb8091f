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

LowResourceBuffer::LowResourceBuffer(std::shared_ptr<NetbufPool> pool, const Config& config)
    : pool_(std::move(pool)), sharedFree_(pool_.get()), config_(config) {}

LowResourceBuffer::~LowResourceBuffer() {
    remove();
    for (auto& queue : heldQueues_) queue.freeAll();
}

int LowResourceBuffer::insert(IONetwork& driver) {
    if (inserted_) return EBUSY;
    setDownstream(driver.client());
    driver.setClient(this);
    driver_ = &driver;
    inserted_ = true;
    return 0;
}

void LowResourceBuffer::remove() {
    if (!inserted_) return;
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
    Statistics copy = stats_;
    copy.packetsToHost += stats_.packets - slowPackets_;  // the normal path counts no more than packets
    if (reserve_) copy.reserveHighWater = reserve_->highWaterMark();
    return copy;
}

void LowResourceBuffer::inputBurst(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) {
    // Claim 4: no low-resource condition and nothing buffered: the normal path, no copy. Kept
    // to a few stores and one atomic load per burst (bench/lowres measures it).
    if (!slow_ && count <= kMaxArray && sharedFree_->sharedAvailable() >= config_.lowWater) [[likely]] {
        stats_.arrays++;
        stats_.packets += count;
        lastFast_ = {nextSequence_, queue, count};
        nextSequence_ += count;
        downstream_->inputBurst(driver, queue, netbufs, count);
        return;
    }
    while (count > kMaxArray) {
        processArray(driver, queue, netbufs, kMaxArray);
        netbufs += kMaxArray;
        count -= kMaxArray;
    }
    if (count > 0) processArray(driver, queue, netbufs, count);
    updateShortcut();
}

void LowResourceBuffer::updateShortcut() {
    slow_ = low_ || held_ != 0 || client_ != nullptr || downstream_ == nullptr;
}

void LowResourceBuffer::setDownstream(IONetworkClient* downstream) {
    downstream_ = downstream;
    updateShortcut();
}

void LowResourceBuffer::setClient(LowResourceClient* client) {
    client_ = client;
    updateShortcut();
}

LowResourceClient::ArrayReport LowResourceBuffer::lastArray() const {
    if (!lastFast_.valid) return report_;
    LowResourceClient::ArrayReport report;
    report.firstSequence = lastFast_.firstSequence;
    report.queue = lastFast_.queue;
    report.count = lastFast_.count;
    report.toHost = lastFast_.count;
    return report;
}

void LowResourceBuffer::processArray(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) {
    stats_.arrays++;
    stats_.packets += count;
    slowPackets_ += count;
    lastFast_.valid = false;
    report_ = LowResourceClient::ArrayReport{};
    report_.firstSequence = nextSequence_;
    report_.queue = queue;
    report_.count = count;
    nextSequence_ += count;
    if (!low_ && held_ == 0 && pool_->sharedAvailable() >= config_.lowWater) {
        report_.toHost = count;
        for (unsigned i = 0; i < count; ++i) describe(i, netbufs[i], Location::host, false);
        deliver(driver, queue, netbufs, count);
    } else {
        processLowResource(driver, queue, netbufs, count);
    }
    stats_.packetsToHost += report_.toHost;
    finishArray(count);
}

// Moves between the normal and the low-resource state, with hysteresis.
bool LowResourceBuffer::checkCondition(std::uint32_t free) {
    if (!low_) {
        if (free < config_.lowWater) {
            low_ = true;
            stats_.lowResourceEntries++;
        }
    } else if (free >= config_.highWater) {
        low_ = false;
        stats_.recoveries++;
    }
    return low_;
}

// The current packet when the condition arose: the array's packets were taken from the pool in
// order, so packet i left free + (count - 1 - i) netbufs behind it; the first to leave fewer than
// lowWater is the one to mark. A condition older than this array, or packets still held (which
// nothing may overtake), mark the first packet.
unsigned LowResourceBuffer::markFor(std::uint32_t free, bool wasLow, unsigned count) const {
    if (wasLow || held_ > 0) return 0;
    std::uint64_t left = std::uint64_t{free} + count;
    if (left <= config_.lowWater) return 0;
    return static_cast<unsigned>(std::min<std::uint64_t>(left - config_.lowWater, count));
}

void LowResourceBuffer::processLowResource(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) {
    std::uint32_t free = pool_->sharedAvailable();
    bool wasLow = low_;
    if (!checkCondition(free)) {
        // Recovered since the last array: what was held goes up first, then this array.
        report_.released = releaseHeld();
        report_.toHost = count;
        for (unsigned i = 0; i < count; ++i) describe(i, netbufs[i], Location::host, false);
        deliver(driver, queue, netbufs, count);
        return;
    }
    // Claim 1: mark the current packet, flag it and each further packet of the array.
    unsigned mark = markFor(free, wasLow, count);
    report_.mark = mark;
    report_.flagged = count - mark;
    stats_.packetsFlagged += count - mark;
    for (unsigned i = mark; i < count; ++i)
        netbufs[i]->setFlags(static_cast<std::uint16_t>(netbufs[i]->flags() | Netbuf::kMarkedForBuffering));
    // The packets before the mark were received while resources were fine: host memory.
    for (unsigned i = 0; i < mark; ++i) describe(i, netbufs[i], Location::host, false);
    report_.toHost = mark;
    if (mark > 0) deliver(driver, queue, netbufs, mark);

    // Re-check; the layers above may have freed netbufs meanwhile, on this thread or others.
    pool_->flushThreadCache();
    if (!checkCondition(pool_->sharedAvailable())) {
        // Claim 8: resources are available: return to the mark and remove the flags.
        for (unsigned i = mark; i < count; ++i) {
            netbufs[i]->setFlags(static_cast<std::uint16_t>(netbufs[i]->flags() & ~Netbuf::kMarkedForBuffering));
            describe(i, netbufs[i], Location::host, false);
        }
        report_.unflagged = count - mark;
        stats_.flagsRemoved += count - mark;
        report_.released = releaseHeld();
        report_.toHost += count - mark;
        deliver(driver, queue, netbufs + mark, count - mark);
        return;
    }
    bufferFlagged(driver, queue, netbufs, mark, count);
}

// Still low: flagged packets go to the reserve, their netbufs back to the shared pool.
void LowResourceBuffer::bufferFlagged(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned mark,
                                      unsigned count) {
    unsigned flagged = count - mark;
    unsigned copied = copyToReserve(netbufs + mark, flagged, copies_.data());
    for (unsigned i = 0; i < flagged; ++i) {
        Netbuf* copy = copies_[i];
        if (copy != nullptr)
            describe(mark + i, copy, Location::reserve, true);
        else
            describe(mark + i, netbufs[mark + i], Location::dropped, true);
    }
    NetbufPool::freeToOwners(netbufs + mark, flagged);
    unsigned kept = 0;
    for (unsigned i = 0; i < flagged; ++i)
        if (copies_[i] != nullptr) copies_[kept++] = copies_[i];
    report_.toReserve = copied;
    report_.reserveFree = reserve_ ? reserve_->sharedAvailable() : 0;
    report_.dropped = flagged - copied;
    stats_.packetsBuffered += copied;
    stats_.drops += flagged - copied;
    if (config_.release == Release::immediately) {
        deliver(driver, queue, copies_.data(), kept);
        return;
    }
    NetbufQueue& held = heldQueues_[queue % IONetwork::kMaxQueues];
    for (unsigned i = 0; i < kept; ++i) held.enqueue(copies_[i]);
    held_ += kept;
    lastDriver_ = &driver;
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

void LowResourceBuffer::describe(unsigned at, const Netbuf* netbuf, Location location, bool flagged) {
    if (client_ == nullptr) return;
    LowResourceDescriptor& d = descriptors_[at];
    d.sequence = report_.firstSequence + at;
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
    stats_.drops += count;
}

unsigned LowResourceBuffer::releaseHeld() {
    if (held_ == 0) return 0;
    unsigned total = 0;
    Netbuf* burst[kReleaseBurst];
    for (unsigned q = 0; q < heldQueues_.size(); ++q) {
        while (unsigned n = heldQueues_[q].dequeueBurst(burst, kReleaseBurst)) {
            deliver(*lastDriver_, q, burst, n);
            total += n;
        }
    }
    held_ -= total;
    stats_.packetsReleased += total;
    return total;
}

void LowResourceBuffer::finishArray(unsigned count) {
    if (client_ == nullptr) return;
    client_->packetsDescribed(descriptors_.data(), count);
    client_->arrayProcessed(report_);
}

unsigned LowResourceBuffer::drain() {
    if (held_ == 0) return 0;
    pool_->flushThreadCache();
    unsigned released = checkCondition(pool_->sharedAvailable()) ? 0 : releaseHeld();
    updateShortcut();
    return released;
}

unsigned LowResourceBuffer::flush() {
    unsigned released = releaseHeld();
    updateShortcut();
    return released;
}

}  // namespace nexnet
