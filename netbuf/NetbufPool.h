#pragma once
/// @file NetbufPool.h
/// @brief NetbufPool: fixed-size netbufs carved from one DMA region, with per-thread caches.

#include "netbuf/DmaRegion.h"
#include "netbuf/Netbuf.h"
#include "netbuf/NetbufLender.h"
#include "netbuf/Result.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nexnet {

/// A pool of fixed-size netbufs in shared, DMA-able memory: nexnet's rte_mempool.
///
/// Layout: the packet buffers sit in one DmaRegion (hugepages when available, IOVA known to
/// drivers), the 64-byte Netbuf metadata in a second, small memfd region. Both can be handed to
/// another process; the metadata region can be given read-only, so an application mapping the
/// pool cannot corrupt what the framework relies on.
///
/// @verbatim
///  metadataRegion():  | Netbuf 0 | Netbuf 1 | ... | Netbuf N-1 |      64 bytes each
///  dataRegion():      | buffer 0            | buffer 1            | ... bufferSize() each
///                       ^ headroom, then data
/// @endverbatim
///
/// Free netbufs are a lock-free stack of indices shared by all threads, in front of which each
/// thread keeps a cache (as DPDK's per-lcore mempool cache): getting and freeing a burst of 32
/// touches only the calling thread's cache, with no atomic operation, lock or syscall. The cache
/// is flushed back when the thread ends, when flushThreadCache() is called, and when the pool is
/// destroyed.
///
/// The pool's capacity is its cap: when every netbuf is in use, allocate() returns nullptr and
/// allocateBulk() ENOBUFS, and allocationFailures() counts it. Water-mark callbacks tell a layer
/// when free netbufs run low and when they have recovered (low-resource buffering).
///
/// Thread safety: every method may be called from any thread; the callbacks run on the thread
/// whose call crossed the mark and must not allocate from or free to this pool.
///
/// Lifetime: a pool held by a std::shared_ptr (as drivers hold theirs) can be kept alive by
/// whoever holds netbufs of it for a while, e.g. another driver's transmit ring (weak_from_this).
class NetbufPool : public std::enable_shared_from_this<NetbufPool> {
public:
    /// How a pool is made.
    struct Options {
        std::uint32_t count = 4096;        ///< Number of netbufs: the cap.
        std::uint32_t dataRoom = 2048;     ///< Bytes for packet data after the headroom.
        std::uint32_t headroom = 128;      ///< Bytes kept free in front of the data of a fresh netbuf.
        std::uint32_t cacheSize = 256;     ///< Netbufs each thread may keep cached; 0 disables caching.
        bool hugepages = true;             ///< Use hugepages for the buffers when the system has free ones.
        std::string name = "nexnet-pool";  ///< Name of the memfds (visible in /proc/PID/maps).
    };

    /// Largest number of pools alive at once in one process.
    static constexpr std::uint16_t kMaxPools = 64;
    /// Largest per-thread cache.
    static constexpr std::uint32_t kMaxCacheSize = 512;

    /// Makes a pool. Errors: EINVAL (count 0, dataRoom 0, cacheSize > kMaxCacheSize, sizes
    /// overflowing 32 bits), EMFILE (kMaxPools pools alive), ENOMEM with a message when the
    /// machine has not the memory for it (SystemMemory::fits: checked before anything is taken),
    /// or the errno of the memory.
    static Result<std::unique_ptr<NetbufPool>> create(const Options& options);
    /// Makes a pool with default options and @p count netbufs.
    static Result<std::unique_ptr<NetbufPool>> create(std::uint32_t count);

    NetbufPool(const NetbufPool&) = delete;
    NetbufPool& operator=(const NetbufPool&) = delete;
    /// Frees the memory. Every netbuf must have been returned; threads that cached netbufs of
    /// this pool must not use it any more.
    ~NetbufPool();

    /// An empty netbuf with the default headroom, or nullptr when the pool is exhausted.
    Netbuf* allocate();
    /// Fills @p out with @p count empty netbufs (default headroom), all or nothing.
    /// @return 0, or ENOBUFS when fewer than @p count are free (nothing is taken).
    int allocateBulk(Netbuf** out, unsigned count) {
        int error = getBulk(out, count);
        if (error == 0) [[likely]]
            initialise(out, count);
        return error;
    }
    /// As allocateBulk, but the netbufs keep whatever offset, size and flags they had: the raw
    /// get of a mempool, for drivers that set every field themselves.
    int getBulk(Netbuf** out, unsigned count) {
        // Inline fast path, as rte_mempool_get_bulk: a copy out of this thread's cache.
        if (ThreadCache* cache = cachedThreadCache()) [[likely]] {
            std::uint32_t have = cache->count.load(std::memory_order_relaxed);
            if (count <= have) [[likely]] {
                have -= count;
                copyPointers(out, &cache->items[have], count);
                cache->count.store(have, std::memory_order_relaxed);
                return 0;
            }
        }
        return getSlow(out, count);
    }
    /// Returns one netbuf. It must come from this pool and not be used afterwards.
    void free(Netbuf* netbuf) { freeBulk(&netbuf, 1); }
    /// Returns @p count netbufs, all from this pool. A lent one (lend()) goes to the lender.
    void freeBulk(Netbuf* const* netbufs, unsigned count) {
        // One relaxed load per burst: only while netbufs are lent does a free look at each one.
        if (lent_.load(std::memory_order_relaxed) != 0) [[unlikely]] {
            freeSortingLent(netbufs, count);
            return;
        }
        freeUnlent(netbufs, count);
    }

    /// Lends @p netbuf, of this pool and held by the caller, to a path that will free it (a
    /// transmit path): when it is freed, by any call on any thread, the lender set with
    /// setLender() gets it back (NetbufLender::netbufReturned) instead of the free netbufs.
    /// Any thread; the caller hands the netbuf on after this returns. No allocation, no lock.
    void lend(Netbuf* netbuf) {
        lent_.fetch_add(1, std::memory_order_relaxed);
        netbuf->flags_ = static_cast<std::uint16_t>(netbuf->flags_ | Netbuf::kLent);
    }
    /// Sets who gets lent netbufs back (nullptr: nobody; a lent netbuf freed then returns to the
    /// pool). Set it before the first lend(); clear it only once no netbuf is lent any more.
    void setLender(NetbufLender* lender) { lender_.store(lender, std::memory_order_release); }
    /// Netbufs lent and not returned yet.
    std::uint32_t lent() const { return lent_.load(std::memory_order_relaxed); }
    /// Hands lent @p netbuf back to the lender, no longer marked lent (Netbuf::free and the free
    /// calls use it; not for callers).
    void takeBack(Netbuf* netbuf);

private:
    // freeBulk without the lent check: into this thread's cache.
    void freeUnlent(Netbuf* const* netbufs, unsigned count) {
        if (ThreadCache* cache = cachedThreadCache()) [[likely]] {
            std::uint32_t have = cache->count.load(std::memory_order_relaxed);
            if (have + count <= cacheSize_) [[likely]] {
                copyPointers(&cache->items[have], netbufs, count);
                cache->count.store(have + count, std::memory_order_relaxed);
                return;
            }
        }
        putSlow(netbufs, count);
    }
    void freeSortingLent(Netbuf* const* netbufs, unsigned count);

public:
    /// Frees @p count netbufs that may come from different pools (or be wrapped), each to its
    /// own: what a transmit path calls on netbufs another driver received. Runs of netbufs from
    /// one pool are freed in bulk.
    static void freeToOwners(Netbuf* const* netbufs, unsigned count);

    /// The netbuf at @p index, or nullptr when @p index is out of range: how an index received
    /// from another process (or a device) is turned back into a netbuf.
    Netbuf* netbuf(std::uint32_t index) const { return index < count_ ? &metadata_[index] : nullptr; }
    /// The netbuf whose buffer contains @p address, or nullptr.
    Netbuf* netbufContaining(const void* address) const;

    /// Hands this thread's cached netbufs back to the shared stack.
    void flushThreadCache();

    /// Number of netbufs: the cap.
    std::uint32_t capacity() const { return count_; }
    /// Netbufs taken by users (not free in the shared stack nor in a thread cache); exact
    /// when no other thread is allocating or freeing.
    std::uint32_t inUse() const;
    /// Netbufs free (shared stack plus thread caches): capacity() - inUse().
    std::uint32_t available() const { return count_ - inUse(); }
    /// Netbufs free in the shared stack, not counting thread caches: one relaxed atomic load, no
    /// lock, so a receive path may read it once per burst. It is what the water marks compare.
    std::uint32_t sharedAvailable() const { return sharedFree_.load(std::memory_order_relaxed); }
    /// Most netbufs ever out of the shared stack at once, counting those held in thread caches.
    std::uint32_t highWaterMark() const { return highWater_.load(std::memory_order_relaxed); }
    /// Requests refused because the pool was exhausted.
    std::uint64_t allocationFailures() const { return failures_.load(std::memory_order_relaxed); }

    /// Calls @p callback when the free netbufs in the shared stack drop below @p mark (once per
    /// crossing). An empty callback removes it.
    void setLowWaterCallback(std::uint32_t mark, std::function<void(NetbufPool&)> callback);
    /// Calls @p callback when the free netbufs in the shared stack rise back to @p mark or more
    /// after a low-water crossing. An empty callback removes it.
    void setHighWaterCallback(std::uint32_t mark, std::function<void(NetbufPool&)> callback);
    /// True between a low-water crossing and the following high-water crossing.
    bool isBelowLowWater() const { return belowLowWater_.load(std::memory_order_relaxed); }

    /// This pool's id: stored in each of its netbufs, unique among live pools.
    std::uint16_t id() const { return id_; }
    /// Bytes of each buffer (headroom + data room).
    std::uint32_t bufferSize() const { return bufferSize_; }
    /// Headroom of a freshly allocated netbuf.
    std::uint32_t headroom() const { return headroom_; }
    /// Netbufs each thread may cache.
    std::uint32_t cacheSize() const { return cacheSize_; }
    /// The memory holding the packet buffers (map it into an IOMMU, share it).
    DmaRegion& dataRegion() { return data_; }
    /// The memory holding the packet buffers (read only).
    const DmaRegion& dataRegion() const { return data_; }
    /// The memory holding the Netbuf metadata.
    const DmaRegion& metadataRegion() const { return metadataRegion_; }
    /// Records the device address of dataRegion() (after an IOMMU mapping, or the physical
    /// address for DMA without an IOMMU) and updates every netbuf's ioAddress().
    void setIoBase(std::uint64_t iova);
    /// Records the device address of every netbuf's buffer one by one (@p addresses[i] becomes
    /// netbuf i's bufferIoAddress()), for DMA by physical address (VFIO without an IOMMU), where
    /// the buffers are not one base plus their offset apart. dataRegion().iova() becomes 0: the
    /// region has no single device address. @return 0, or EINVAL when @p addresses does not
    /// hold capacity() entries.
    int setBufferIoAddresses(const std::vector<std::uint64_t>& addresses);

    /// The live pool with id @p id, or nullptr.
    static NetbufPool* fromId(std::uint16_t id);

private:
    // A thread's cache of free netbufs of one pool (DPDK's rte_mempool_cache). Owned by the pool;
    // only its thread touches items and count, other threads read count to compute inUse().
    // Cache-line aligned so that bursts of 32 copy whole aligned lines.
    struct alignas(64) ThreadCache {
        Netbuf* items[2 * kMaxCacheSize];
        std::atomic<std::uint32_t> count{0};
    };
    // The calling thread's caches, one slot per pool id, with the generation of the pool that made
    // it (a new pool reusing an id never sees a dead pool's cache). Trivially constructible and
    // initial-exec, so the inline fast path reads it with one %fs-relative load and no TLS init
    // guard; a guard object in the .cpp flushes the caches at thread exit.
    struct ThreadCacheSlot {
        ThreadCache* cache;
        std::uint32_t generation;
    };
    struct ThreadCacheTable {
        ThreadCacheSlot slots[kMaxPools];
    };
    static inline thread_local ThreadCacheTable tCaches_ __attribute__((tls_model("initial-exec"))) = {};
    friend struct ThreadCacheGuard;

    // Copies 32 bytes at a time: GCC turns a memcpy of a run-time size (or a plain copy loop) into
    // `rep movsq`, whose start-up cost is most of a burst of 32 (measured: raw get/put 1.7x slower).
    static void copyPointers(Netbuf** to, Netbuf* const* from, unsigned count) {
        unsigned i = 0;
        for (; i + 4 <= count; i += 4) std::memcpy(to + i, from + i, 4 * sizeof(Netbuf*));
        for (; i < count; ++i) to[i] = from[i];
    }
    // This thread's cache when it exists, else nullptr (the slow paths make it).
    ThreadCache* cachedThreadCache() const {
        const ThreadCacheSlot& slot = tCaches_.slots[id_];
        return slot.generation == generation_ ? slot.cache : nullptr;
    }
    // Resets what allocateBulk promises: default headroom, empty, no flags, owner, timestamp or offload.
    void initialise(Netbuf** netbufs, unsigned count) const {
        for (unsigned i = 0; i < count; ++i) {
            Netbuf* nb = netbufs[i];
            nb->offset_ = headroom_;
            nb->length_ = 0;
            nb->flags_ = 0;
            nb->owner_ = 0;
            nb->timestamp_ = 0;
            nb->offload_ = NetbufOffload{};
        }
    }
    explicit NetbufPool(const Options& options);
    int setUp(const Options& options);
    ThreadCache* threadCache();
    ThreadCache* makeThreadCache();
    int getSlow(Netbuf** out, unsigned count);
    void putSlow(Netbuf* const* netbufs, unsigned count);
    unsigned popShared(Netbuf** out, unsigned count);
    void pushShared(Netbuf* const* netbufs, unsigned count);
    void checkWaterMarks();

    std::uint32_t count_ = 0;
    std::uint32_t bufferSize_ = 0;
    std::uint32_t headroom_ = 0;
    std::uint32_t cacheSize_ = 0;
    std::uint16_t id_ = 0;
    std::uint32_t generation_ = 0;
    DmaRegion data_;
    DmaRegion metadataRegion_;
    Netbuf* metadata_ = nullptr;

    // The shared stack: head packs (tag << 32 | index) so a stale CAS fails (ABA); next_ links it.
    alignas(64) std::atomic<std::uint64_t> head_{0};
    std::atomic<std::uint32_t> sharedFree_{0};
    std::unique_ptr<std::atomic<std::uint32_t>[]> next_;
    // Read by every freeBulk, written per lend: a line of its own, so lending (sio sends) does not
    // disturb the fields every fast path reads, nor the shared stack's head.
    alignas(64) std::atomic<std::uint32_t> lent_{0};
    std::atomic<NetbufLender*> lender_{nullptr};

    alignas(64) std::atomic<std::uint32_t> highWater_{0};
    std::atomic<std::uint64_t> failures_{0};
    std::atomic<bool> belowLowWater_{false};
    std::uint32_t lowMark_ = 0;
    std::uint32_t highMark_ = 0;
    std::function<void(NetbufPool&)> lowCallback_;
    std::function<void(NetbufPool&)> highCallback_;

    mutable std::mutex cachesLock_;
    std::vector<std::unique_ptr<ThreadCache>> caches_;
};

}  // namespace nexnet
