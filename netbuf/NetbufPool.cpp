#include "netbuf/NetbufPool.h"

#include "netbuf/SystemMemory.h"

#include <cerrno>
#include <cstring>
#include <limits>
#include <new>

namespace nexnet {

namespace {

constexpr std::uint32_t kEmpty = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t pack(std::uint32_t tag, std::uint32_t index) { return std::uint64_t{tag} << 32 | index; }
constexpr std::uint32_t indexOf(std::uint64_t head) { return static_cast<std::uint32_t>(head); }
constexpr std::uint32_t tagOf(std::uint64_t head) { return static_cast<std::uint32_t>(head >> 32); }

// Live pools by id, and a generation per id so a thread cache of a destroyed pool is never reused
// by a new pool that got the same id.
std::atomic<NetbufPool*> gPools[NetbufPool::kMaxPools];
std::atomic<std::uint32_t> gGenerations[NetbufPool::kMaxPools];
std::mutex gPoolsLock;

}  // namespace

/// Flushes the calling thread's caches back to their pools when the thread ends.
struct ThreadCacheGuard {
    bool armed = false;
    ~ThreadCacheGuard() {
        std::lock_guard lock(gPoolsLock);
        for (std::uint16_t id = 0; id < NetbufPool::kMaxPools; ++id) {
            NetbufPool::ThreadCacheSlot& slot = NetbufPool::tCaches_.slots[id];
            NetbufPool* pool = gPools[id].load(std::memory_order_acquire);
            if (slot.cache != nullptr && pool != nullptr &&
                gGenerations[id].load(std::memory_order_relaxed) == slot.generation)
                pool->flushThreadCache();
            slot.cache = nullptr;
        }
    }
};
namespace {
thread_local ThreadCacheGuard tGuard;
}  // namespace

Result<std::unique_ptr<NetbufPool>> NetbufPool::create(std::uint32_t count) {
    Options options;
    options.count = count;
    return create(options);
}

Result<std::unique_ptr<NetbufPool>> NetbufPool::create(const Options& options) {
    using R = Result<std::unique_ptr<NetbufPool>>;
    std::uint64_t bufferSize = std::uint64_t{options.headroom} + options.dataRoom;
    if (options.count == 0 || options.dataRoom == 0 || options.cacheSize > kMaxCacheSize || options.count >= kEmpty ||
        bufferSize > std::numeric_limits<std::uint32_t>::max() / 2)
        return R::failure(EINVAL);
    // Made, populated and locked at once: check first that the machine has the memory, rather than
    // push it into swap or the OOM killer while making a pool nobody can use.
    std::uint64_t bytes = std::uint64_t{options.count} * (((bufferSize + 63) & ~63ull) + sizeof(Netbuf) + 4);
    if (Status memory = SystemMemory::now().fits(bytes, options.hugepages,
                                                 "a pool of " + std::to_string(options.count) + " netbufs");
        !memory)
        return R::failure(memory.error(), memory.message());
    std::unique_ptr<NetbufPool> pool(new (std::nothrow) NetbufPool(options));
    if (!pool) return R::failure(ENOMEM);
    if (int error = pool->setUp(options); error != 0) return R::failure(error);
    return R(std::move(pool));
}

NetbufPool::NetbufPool(const Options& options)
    : count_(options.count),
      bufferSize_((options.headroom + options.dataRoom + 63u) & ~63u),  // cache-line aligned buffers
      headroom_(options.headroom),
      cacheSize_(options.cacheSize) {}

int NetbufPool::setUp(const Options& options) {
    {
        std::lock_guard lock(gPoolsLock);
        std::uint16_t id = 0;
        while (id < kMaxPools && gPools[id].load(std::memory_order_relaxed) != nullptr) ++id;
        if (id == kMaxPools) return EMFILE;
        id_ = id;
        generation_ = gGenerations[id].fetch_add(1, std::memory_order_relaxed) + 1;
        gPools[id].store(this, std::memory_order_release);
    }
    DmaRegion::Options dataOptions;
    dataOptions.name = options.name;
    dataOptions.hugepages = options.hugepages;
    auto data = DmaRegion::allocate(std::uint64_t{count_} * bufferSize_, dataOptions);
    if (!data) return data.error();
    data_ = std::move(data.value());

    DmaRegion::Options metaOptions;
    metaOptions.name = options.name + "-meta";
    metaOptions.hugepages = false;
    auto meta = DmaRegion::allocate(std::uint64_t{count_} * sizeof(Netbuf), metaOptions);
    if (!meta) return meta.error();
    metadataRegion_ = std::move(meta.value());
    metadata_ = reinterpret_cast<Netbuf*>(metadataRegion_.data());

    next_.reset(new (std::nothrow) std::atomic<std::uint32_t>[count_]);
    if (!next_) return ENOMEM;
    for (std::uint32_t i = 0; i < count_; ++i) {
        Netbuf* nb = new (&metadata_[i]) Netbuf();
        nb->buffer_ = data_.data() + std::uint64_t{i} * bufferSize_;
        nb->capacity_ = bufferSize_;
        nb->index_ = i;
        nb->poolId_ = id_;
        nb->offset_ = headroom_;
        next_[i].store(i + 1 < count_ ? i + 1 : kEmpty, std::memory_order_relaxed);
    }
    head_.store(pack(0, 0), std::memory_order_relaxed);
    sharedFree_.store(count_, std::memory_order_relaxed);
    return 0;
}

NetbufPool::~NetbufPool() {
    std::lock_guard lock(gPoolsLock);
    if (gPools[id_].load(std::memory_order_relaxed) == this) {
        gPools[id_].store(nullptr, std::memory_order_release);
        gGenerations[id_].fetch_add(1, std::memory_order_relaxed);
    }
}

NetbufPool* NetbufPool::fromId(std::uint16_t id) {
    return id < kMaxPools ? gPools[id].load(std::memory_order_acquire) : nullptr;
}

NetbufPool::ThreadCache* NetbufPool::threadCache() {
    if (ThreadCache* cache = cachedThreadCache()) return cache;
    return cacheSize_ == 0 ? nullptr : makeThreadCache();
}

NetbufPool::ThreadCache* NetbufPool::makeThreadCache() {
    auto cache = std::unique_ptr<ThreadCache>(new (std::nothrow) ThreadCache);
    if (!cache) return nullptr;
    tGuard.armed = true;  // touching the guard registers its destructor for this thread
    ThreadCache* raw = cache.get();
    {
        std::lock_guard lock(cachesLock_);
        caches_.push_back(std::move(cache));
    }
    tCaches_.slots[id_] = ThreadCacheSlot{raw, generation_};
    return raw;
}

Netbuf* NetbufPool::allocate() {
    Netbuf* nb = nullptr;
    return allocateBulk(&nb, 1) == 0 ? nb : nullptr;
}

int NetbufPool::getSlow(Netbuf** out, unsigned count) {
    ThreadCache* cache = threadCache();
    if (cache == nullptr || count > cacheSize_) {
        // Too many for a cache (or none): straight from the shared stack, all or nothing.
        unsigned got = popShared(out, count);
        if (got < count) {
            pushShared(out, got);
            failures_.fetch_add(1, std::memory_order_relaxed);
            return ENOBUFS;
        }
        checkWaterMarks();
        return 0;
    }
    // Refill the cache to hold the request plus half a cache, as DPDK's mempool does.
    std::uint32_t have = cache->count.load(std::memory_order_relaxed);
    have += popShared(&cache->items[have], count - have + cacheSize_ / 2);
    cache->count.store(have, std::memory_order_relaxed);
    checkWaterMarks();
    if (have < count) {
        failures_.fetch_add(1, std::memory_order_relaxed);
        return ENOBUFS;
    }
    have -= count;
    std::memcpy(out, &cache->items[have], count * sizeof(Netbuf*));
    cache->count.store(have, std::memory_order_relaxed);
    return 0;
}

void NetbufPool::freeToOwners(Netbuf* const* netbufs, unsigned count) {
    unsigned start = 0;
    while (start < count) {
        Netbuf* first = netbufs[start];
        if ((first->flags_ & (Netbuf::kWrapped | Netbuf::kLent)) != 0) {
            first->free();
            ++start;
            continue;
        }
        unsigned end = start + 1;
        while (end < count && netbufs[end]->poolId_ == first->poolId_ &&
               (netbufs[end]->flags_ & (Netbuf::kWrapped | Netbuf::kLent)) == 0)
            ++end;
        if (NetbufPool* pool = fromId(first->poolId_)) pool->freeBulk(netbufs + start, end - start);
        start = end;
    }
}

void NetbufPool::takeBack(Netbuf* netbuf) {
    netbuf->flags_ = static_cast<std::uint16_t>(netbuf->flags_ & ~Netbuf::kLent);
    lent_.fetch_sub(1, std::memory_order_relaxed);
    if (NetbufLender* lender = lender_.load(std::memory_order_acquire)) {
        lender->netbufReturned(netbuf);
        return;
    }
    freeUnlent(&netbuf, 1);
}

void NetbufPool::freeSortingLent(Netbuf* const* netbufs, unsigned count) {
    // Runs of netbufs not lent go to the cache together; each lent one goes back to its lender.
    unsigned start = 0;
    for (unsigned i = 0; i < count; ++i) {
        if ((netbufs[i]->flags_ & Netbuf::kLent) == 0) continue;
        if (i > start) freeUnlent(netbufs + start, i - start);
        takeBack(netbufs[i]);
        start = i + 1;
    }
    if (count > start) freeUnlent(netbufs + start, count - start);
}

void NetbufPool::putSlow(Netbuf* const* netbufs, unsigned count) {
    ThreadCache* cache = threadCache();
    if (cache == nullptr || count > cacheSize_) {
        pushShared(netbufs, count);
    } else {
        // Keep half a cache, hand the rest (and the new ones) to the shared stack.
        std::uint32_t have = cache->count.load(std::memory_order_relaxed);
        std::memcpy(&cache->items[have], netbufs, count * sizeof(Netbuf*));
        have += count;
        std::uint32_t keep = cacheSize_ / 2;
        if (have > keep) {
            pushShared(&cache->items[keep], have - keep);
            have = keep;
        }
        cache->count.store(have, std::memory_order_relaxed);
    }
    checkWaterMarks();
}

void NetbufPool::flushThreadCache() {
    ThreadCache* cache = cachedThreadCache();
    if (cache == nullptr) return;
    std::uint32_t have = cache->count.load(std::memory_order_relaxed);
    pushShared(cache->items, have);
    cache->count.store(0, std::memory_order_relaxed);
    checkWaterMarks();
}

// Pops up to @p count netbufs with one CAS: the chain below an unchanged head (same tag) cannot
// have changed, because every push and pop moves the head and bumps its tag.
unsigned NetbufPool::popShared(Netbuf** out, unsigned count) {
    if (count == 0) return 0;
    std::uint64_t head = head_.load(std::memory_order_acquire);
    for (;;) {
        std::uint32_t index = indexOf(head);
        unsigned got = 0;
        while (got < count && index != kEmpty) {
            out[got++] = &metadata_[index];
            index = next_[index].load(std::memory_order_relaxed);
        }
        if (got == 0) return 0;
        if (head_.compare_exchange_weak(head, pack(tagOf(head) + 1, index), std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
            sharedFree_.fetch_sub(got, std::memory_order_relaxed);
            std::uint32_t out_ = count_ - sharedFree_.load(std::memory_order_relaxed);
            std::uint32_t seen = highWater_.load(std::memory_order_relaxed);
            while (out_ > seen && !highWater_.compare_exchange_weak(seen, out_, std::memory_order_relaxed)) {
            }
            return got;
        }
    }
}

void NetbufPool::pushShared(Netbuf* const* netbufs, unsigned count) {
    if (count == 0) return;
    for (unsigned i = 0; i + 1 < count; ++i)
        next_[netbufs[i]->index_].store(netbufs[i + 1]->index_, std::memory_order_relaxed);
    std::uint32_t last = netbufs[count - 1]->index_;
    std::uint64_t head = head_.load(std::memory_order_relaxed);
    do {
        next_[last].store(indexOf(head), std::memory_order_relaxed);
    } while (!head_.compare_exchange_weak(head, pack(tagOf(head) + 1, netbufs[0]->index_), std::memory_order_release,
                                          std::memory_order_relaxed));
    sharedFree_.fetch_add(count, std::memory_order_relaxed);
}

void NetbufPool::checkWaterMarks() {
    std::uint32_t free = sharedFree_.load(std::memory_order_relaxed);
    if (!belowLowWater_.load(std::memory_order_relaxed)) {
        if (lowMark_ > 0 && free < lowMark_ && !belowLowWater_.exchange(true)) {
            if (lowCallback_) lowCallback_(*this);
        }
    } else if (free >= highMark_ && belowLowWater_.exchange(false)) {
        if (highCallback_) highCallback_(*this);
    }
}

void NetbufPool::setLowWaterCallback(std::uint32_t mark, std::function<void(NetbufPool&)> callback) {
    lowMark_ = callback ? mark : 0;
    lowCallback_ = std::move(callback);
    if (highMark_ < lowMark_) highMark_ = lowMark_;
}

void NetbufPool::setHighWaterCallback(std::uint32_t mark, std::function<void(NetbufPool&)> callback) {
    highMark_ = std::max(mark, lowMark_);
    highCallback_ = std::move(callback);
}

std::uint32_t NetbufPool::inUse() const {
    std::uint32_t free = sharedFree_.load(std::memory_order_relaxed);
    std::lock_guard lock(cachesLock_);
    for (const auto& cache : caches_) free += cache->count.load(std::memory_order_relaxed);
    return free >= count_ ? 0 : count_ - free;
}

Netbuf* NetbufPool::netbufContaining(const void* address) const {
    if (!data_.contains(address)) return nullptr;
    auto offset = static_cast<std::uint64_t>(static_cast<const std::uint8_t*>(address) - data_.data());
    return netbuf(static_cast<std::uint32_t>(offset / bufferSize_));
}

void NetbufPool::setIoBase(std::uint64_t iova) {
    data_.setIova(iova);
    for (std::uint32_t i = 0; i < count_; ++i) metadata_[i].iova_ = iova + std::uint64_t{i} * bufferSize_;
}

int NetbufPool::setBufferIoAddresses(const std::vector<std::uint64_t>& addresses) {
    if (addresses.size() != count_) return EINVAL;
    data_.setIova(0);
    for (std::uint32_t i = 0; i < count_; ++i) metadata_[i].iova_ = addresses[i];
    return 0;
}

}  // namespace nexnet
