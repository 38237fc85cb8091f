// NetbufPool: a capped pool of netbufs with bulk get/put, per-thread caches and water marks.
#include "netbuf/NetbufPool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <set>
#include <thread>
#include <vector>

namespace nexnet {
namespace {

std::unique_ptr<NetbufPool> makePool(std::uint32_t count, std::uint32_t cacheSize = 256) {
    NetbufPool::Options options;
    options.count = count;
    options.cacheSize = cacheSize;
    options.hugepages = false;
    auto pool = NetbufPool::create(options);
    EXPECT_TRUE(pool.ok()) << pool.error();
    return pool.ok() ? std::move(pool.value()) : nullptr;
}

// ---- creation ------------------------------------------------------------------------------

TEST(NetbufPool, CreateWithOptionsSizesTheBuffers) {
    NetbufPool::Options options;
    options.count = 10;
    options.headroom = 0;
    options.dataRoom = 100;
    options.cacheSize = 4;
    options.hugepages = false;
    auto pool = NetbufPool::create(options);
    ASSERT_TRUE(pool.ok()) << pool.error();
    EXPECT_EQ(pool.value()->capacity(), 10u);
    EXPECT_EQ(pool.value()->headroom(), 0u);
    EXPECT_EQ(pool.value()->bufferSize(), 128u);  // rounded up to a cache line
    EXPECT_EQ(pool.value()->cacheSize(), 4u);
}

TEST(NetbufPool, CreateWithACountUsesTheDefaults) {
    auto pool = NetbufPool::create(16u);
    ASSERT_TRUE(pool.ok()) << pool.error();
    NetbufPool::Options defaults;
    EXPECT_EQ(pool.value()->capacity(), 16u);
    EXPECT_EQ(pool.value()->headroom(), defaults.headroom);
    EXPECT_GE(pool.value()->bufferSize(), defaults.headroom + defaults.dataRoom);
    EXPECT_EQ(pool.value()->cacheSize(), defaults.cacheSize);
}

TEST(NetbufPool, CreateRejectsBadOptionsWithEinval) {
    NetbufPool::Options zeroCount;
    zeroCount.count = 0;
    EXPECT_EQ(NetbufPool::create(zeroCount).error(), EINVAL);
    NetbufPool::Options zeroRoom;
    zeroRoom.dataRoom = 0;
    EXPECT_EQ(NetbufPool::create(zeroRoom).error(), EINVAL);
    NetbufPool::Options bigCache;
    bigCache.cacheSize = NetbufPool::kMaxCacheSize + 1;
    EXPECT_EQ(NetbufPool::create(bigCache).error(), EINVAL);
    NetbufPool::Options overflow;
    overflow.headroom = 0xffffff00u;
    overflow.dataRoom = 0x1000;
    EXPECT_EQ(NetbufPool::create(overflow).error(), EINVAL);
}

TEST(NetbufPool, CreateFailsWithEmfileWhenEveryPoolIdIsTaken) {
    std::vector<std::unique_ptr<NetbufPool>> pools;
    int error = 0;
    for (unsigned i = 0; i <= NetbufPool::kMaxPools; ++i) {
        NetbufPool::Options options;
        options.count = 1;
        options.hugepages = false;
        auto pool = NetbufPool::create(options);
        if (!pool) {
            error = pool.error();
            break;
        }
        pools.push_back(std::move(pool.value()));
    }
    EXPECT_EQ(error, EMFILE);
    EXPECT_LE(pools.size(), NetbufPool::kMaxPools);
    pools.pop_back();  // one id free again
    EXPECT_TRUE(makePool(1) != nullptr);
}

TEST(NetbufPool, IdsAreUniqueAmongLivePoolsAndFromIdFindsThem) {
    auto a = makePool(4);
    auto b = makePool(4);
    EXPECT_NE(a->id(), b->id());
    EXPECT_EQ(NetbufPool::fromId(a->id()), a.get());
    EXPECT_EQ(NetbufPool::fromId(b->id()), b.get());
    std::uint16_t id = b->id();
    b.reset();
    EXPECT_EQ(NetbufPool::fromId(id), nullptr);
    EXPECT_EQ(NetbufPool::fromId(NetbufPool::kMaxPools), nullptr);
}

// ---- allocation and the cap ------------------------------------------------------------------

TEST(NetbufPool, AllocateGivesAnEmptyNetbufFromThisPool) {
    auto pool = makePool(4);
    Netbuf* nb = pool->allocate();
    ASSERT_NE(nb, nullptr);
    EXPECT_EQ(nb->size(), 0u);
    EXPECT_EQ(nb->headroom(), pool->headroom());
    EXPECT_EQ(nb->pool(), pool.get());
    EXPECT_EQ(pool->inUse(), 1u);
    pool->free(nb);
    EXPECT_EQ(pool->inUse(), 0u);
}

TEST(NetbufPool, AllocateReturnsNullAtTheCapAndCountsTheFailure) {
    auto pool = makePool(8);
    std::vector<Netbuf*> taken;
    for (int i = 0; i < 8; ++i) {
        Netbuf* nb = pool->allocate();
        ASSERT_NE(nb, nullptr);
        taken.push_back(nb);
    }
    EXPECT_EQ(pool->allocate(), nullptr);
    EXPECT_EQ(pool->allocationFailures(), 1u);
    EXPECT_EQ(pool->inUse(), 8u);
    pool->freeBulk(taken.data(), static_cast<unsigned>(taken.size()));
    EXPECT_NE(pool->allocate(), nullptr);  // and it recovers
}

TEST(NetbufPool, AllocateBulkIsAllOrNothing) {
    auto pool = makePool(40, 8);
    Netbuf* burst[32];
    ASSERT_EQ(pool->allocateBulk(burst, 32), 0);
    Netbuf* more[32];
    EXPECT_EQ(pool->allocateBulk(more, 9), ENOBUFS);
    EXPECT_EQ(pool->allocationFailures(), 1u);
    EXPECT_EQ(pool->inUse(), 32u);  // nothing taken by the failed call
    EXPECT_EQ(pool->allocateBulk(more, 8), 0);
    EXPECT_EQ(pool->inUse(), 40u);
    pool->freeBulk(burst, 32);
    pool->freeBulk(more, 8);
    EXPECT_EQ(pool->inUse(), 0u);
}

TEST(NetbufPool, AllocateBulkFromTheCacheIsAllOrNothing) {
    auto pool = makePool(20, 64);  // the whole pool fits in the cache
    Netbuf* burst[32];
    EXPECT_EQ(pool->allocateBulk(burst, 21), ENOBUFS);
    EXPECT_EQ(pool->inUse(), 0u);
    EXPECT_EQ(pool->allocationFailures(), 1u);
    ASSERT_EQ(pool->allocateBulk(burst, 20), 0);
    pool->freeBulk(burst, 20);
}

TEST(NetbufPool, AllocatedNetbufsAreDistinct) {
    auto pool = makePool(64, 16);
    std::vector<Netbuf*> all(64);
    ASSERT_EQ(pool->allocateBulk(all.data(), 64), 0);
    std::set<Netbuf*> unique(all.begin(), all.end());
    EXPECT_EQ(unique.size(), 64u);
    pool->freeBulk(all.data(), 64);
}

TEST(NetbufPool, AllocateBulkResetsTheNetbufs) {
    auto pool = makePool(4, 0);
    Netbuf* nb = pool->allocate();
    ASSERT_EQ(nb->growTop(10), 0);
    ASSERT_EQ(nb->growBottom(100), 0);
    pool->free(nb);
    Netbuf* again = nullptr;
    ASSERT_EQ(pool->allocateBulk(&again, 1), 0);
    EXPECT_EQ(again, nb);  // the stack is LIFO
    EXPECT_EQ(again->size(), 0u);
    EXPECT_EQ(again->headroom(), pool->headroom());
    pool->free(again);
}

TEST(NetbufPool, GetBulkKeepsWhatTheNetbufHeld) {
    auto pool = makePool(4);
    Netbuf* nb = pool->allocate();
    ASSERT_EQ(nb->setSize(60), 0);
    pool->free(nb);
    Netbuf* raw = nullptr;
    ASSERT_EQ(pool->getBulk(&raw, 1), 0);
    EXPECT_EQ(raw, nb);
    EXPECT_EQ(raw->size(), 60u);
    pool->free(raw);
}

TEST(NetbufPool, GetBulkAtTheCapIsEnobufs) {
    auto pool = makePool(4);
    Netbuf* burst[5];
    EXPECT_EQ(pool->getBulk(burst, 5), ENOBUFS);
    EXPECT_EQ(pool->inUse(), 0u);
}

TEST(NetbufPool, FreeBulkReturnsEverything) {
    auto pool = makePool(600, 32);
    std::vector<Netbuf*> all(600);
    ASSERT_EQ(pool->allocateBulk(all.data(), 600), 0);  // more than a cache: straight from the stack
    EXPECT_EQ(pool->inUse(), 600u);
    EXPECT_EQ(pool->available(), 0u);
    pool->freeBulk(all.data(), 600);
    EXPECT_EQ(pool->inUse(), 0u);
    EXPECT_EQ(pool->available(), 600u);
}

// ---- freeToOwners --------------------------------------------------------------------------

int gWrapperFrees = 0;
void countWrapperFree(void*, std::uint32_t, void*) { ++gWrapperFrees; }

TEST(NetbufPool, FreeToOwnersReturnsEachNetbufToItsOwnPool) {
    auto a = makePool(8);
    auto b = makePool(8);
    static std::uint8_t memory[32];
    gWrapperFrees = 0;
    Netbuf* mixed[7] = {a->allocate(), a->allocate(),
                        b->allocate(), Netbuf::wrapWithFreeCallback(memory, 32, countWrapperFree, nullptr),
                        a->allocate(), b->allocate(),
                        b->allocate()};
    for (Netbuf* nb : mixed) ASSERT_NE(nb, nullptr);
    EXPECT_EQ(a->inUse(), 3u);
    EXPECT_EQ(b->inUse(), 3u);
    NetbufPool::freeToOwners(mixed, 7);
    EXPECT_EQ(a->inUse(), 0u);
    EXPECT_EQ(b->inUse(), 0u);
    EXPECT_EQ(gWrapperFrees, 1);
}

TEST(NetbufPool, FreeToOwnersOfNothingLeavesEveryPoolAsItWas) {
    auto pool = NetbufPool::create(8);
    ASSERT_TRUE(pool);
    Netbuf* held = pool.value()->allocate();
    ASSERT_NE(held, nullptr);
    Netbuf* burst[1] = {held};
    NetbufPool::freeToOwners(nullptr, 0);
    NetbufPool::freeToOwners(burst, 0);  // a count of 0 touches nothing, even a valid array
    EXPECT_EQ(pool.value()->inUse(), 1u);
    held->free();
    EXPECT_EQ(pool.value()->inUse(), 0u);
}

// ---- lookup --------------------------------------------------------------------------------

TEST(NetbufPool, NetbufByIndexAndOutOfRange) {
    auto pool = makePool(4);
    for (std::uint32_t i = 0; i < 4; ++i) {
        ASSERT_NE(pool->netbuf(i), nullptr);
        EXPECT_EQ(pool->netbuf(i)->index(), i);
    }
    EXPECT_EQ(pool->netbuf(4), nullptr);
    EXPECT_EQ(pool->netbuf(0xffffffffu), nullptr);
}

TEST(NetbufPool, NetbufContainingFindsTheNetbufOfAnyByteOfItsBuffer) {
    auto pool = makePool(4);
    Netbuf* third = pool->netbuf(2);
    EXPECT_EQ(pool->netbufContaining(third->buffer()), third);
    EXPECT_EQ(pool->netbufContaining(third->buffer() + pool->bufferSize() - 1), third);
    EXPECT_EQ(pool->netbufContaining(third->buffer() + pool->bufferSize()), pool->netbuf(3));
    int outside = 0;
    EXPECT_EQ(pool->netbufContaining(&outside), nullptr);
}

TEST(NetbufPool, NetbufContainingIsNullPastTheLastBuffer) {
    auto pool = makePool(3);  // the region is rounded up to a page: bytes after the last buffer
    const std::uint8_t* end = pool->netbuf(2)->buffer() + pool->bufferSize();
    ASSERT_TRUE(pool->dataRegion().contains(end));
    EXPECT_EQ(pool->netbufContaining(end), nullptr);
}

TEST(NetbufPool, RegionsHoldTheBuffersAndTheMetadata) {
    auto pool = makePool(8);
    EXPECT_GE(pool->dataRegion().size(), 8u * pool->bufferSize());
    const NetbufPool& constPool = *pool;
    EXPECT_EQ(constPool.dataRegion().data(), pool->dataRegion().data());
    EXPECT_GE(pool->metadataRegion().size(), 8u * sizeof(Netbuf));
    for (std::uint32_t i = 0; i < 8; ++i) {
        EXPECT_EQ(reinterpret_cast<std::uint8_t*>(pool->netbuf(i)), pool->metadataRegion().data() + i * 64);
        EXPECT_EQ(pool->netbuf(i)->buffer(), pool->dataRegion().data() + i * pool->bufferSize());
    }
}

TEST(NetbufPool, SetIoBaseSetsEveryNetbufsDeviceAddress) {
    auto pool = makePool(4);
    pool->setIoBase(0xabc00000);
    EXPECT_EQ(pool->dataRegion().iova(), 0xabc00000u);
    for (std::uint32_t i = 0; i < 4; ++i)
        EXPECT_EQ(pool->netbuf(i)->bufferIoAddress(), 0xabc00000u + i * pool->bufferSize());
}

// ---- statistics ------------------------------------------------------------------------------

TEST(NetbufPool, HighWaterMarkRemembersThePeak) {
    auto pool = makePool(64, 0);
    Netbuf* burst[20];
    ASSERT_EQ(pool->allocateBulk(burst, 20), 0);
    pool->freeBulk(burst, 20);
    ASSERT_EQ(pool->allocateBulk(burst, 5), 0);
    EXPECT_EQ(pool->highWaterMark(), 20u);
    pool->freeBulk(burst, 5);
}

// ---- water marks ---------------------------------------------------------------------------

TEST(NetbufPool, LowAndHighWaterCallbacksFireOncePerCrossing) {
    auto pool = makePool(16, 0);  // no cache: the shared stack's count is exact
    int low = 0, high = 0;
    pool->setLowWaterCallback(4, [&](NetbufPool& p) {
        EXPECT_EQ(&p, pool.get());
        ++low;
    });
    pool->setHighWaterCallback(12, [&](NetbufPool&) { ++high; });
    std::vector<Netbuf*> taken;
    for (int i = 0; i < 12; ++i) taken.push_back(pool->allocate());  // 4 free: not below 4
    EXPECT_EQ(low, 0);
    EXPECT_FALSE(pool->isBelowLowWater());
    taken.push_back(pool->allocate());  // 3 free
    EXPECT_EQ(low, 1);
    EXPECT_TRUE(pool->isBelowLowWater());
    taken.push_back(pool->allocate());
    taken.push_back(pool->allocate());
    EXPECT_EQ(low, 1);              // still the same crossing
    for (int i = 0; i < 10; ++i) {  // back to 11 free: not yet 12
        pool->free(taken.back());
        taken.pop_back();
    }
    EXPECT_EQ(high, 0);
    pool->free(taken.back());
    taken.pop_back();  // 12 free
    EXPECT_EQ(high, 1);
    EXPECT_FALSE(pool->isBelowLowWater());
    pool->free(taken.back());
    taken.pop_back();
    EXPECT_EQ(high, 1);
    while (taken.size() < 13) taken.push_back(pool->allocate());  // a second crossing
    EXPECT_EQ(low, 2);
    pool->freeBulk(taken.data(), static_cast<unsigned>(taken.size()));
    EXPECT_EQ(high, 2);
}

TEST(NetbufPool, AnEmptyLowWaterCallbackRemovesIt) {
    auto pool = makePool(4, 0);
    int low = 0;
    pool->setLowWaterCallback(2, [&](NetbufPool&) { ++low; });
    pool->setLowWaterCallback(2, nullptr);
    Netbuf* burst[4];
    ASSERT_EQ(pool->allocateBulk(burst, 4), 0);
    EXPECT_EQ(low, 0);
    EXPECT_FALSE(pool->isBelowLowWater());
    pool->freeBulk(burst, 4);
}

// ---- per-thread caches ---------------------------------------------------------------------

TEST(NetbufPool, FlushThreadCacheHandsCachedNetbufsToTheSharedStack) {
    auto pool = makePool(64, 32);
    Netbuf* nb = pool->allocate();  // fills this thread's cache from the stack
    pool->free(nb);
    std::vector<Netbuf*> all(64);
    // More than a cache's worth goes straight to the shared stack, which lacks the cached ones.
    EXPECT_EQ(pool->allocateBulk(all.data(), 64), ENOBUFS);
    pool->flushThreadCache();
    ASSERT_EQ(pool->allocateBulk(all.data(), 64), 0);
    pool->freeBulk(all.data(), 64);
}

TEST(NetbufPool, ThreadExitReturnsItsCachedNetbufs) {
    auto pool = makePool(64, 32);
    std::thread worker([&] {
        Netbuf* burst[8];
        ASSERT_EQ(pool->allocateBulk(burst, 8), 0);
        pool->freeBulk(burst, 8);  // they stay in the worker's cache
    });
    worker.join();
    EXPECT_EQ(pool->inUse(), 0u);
    std::vector<Netbuf*> all(64);
    ASSERT_EQ(pool->allocateBulk(all.data(), 64), 0);  // all 64 back in the shared stack
    pool->freeBulk(all.data(), 64);
}

TEST(NetbufPool, ManyShortLivedThreadsDoNotExhaustThePool) {
    auto pool = makePool(64, 32);
    for (int i = 0; i < 50; ++i) {
        std::thread worker([&] {
            Netbuf* nb = pool->allocate();
            ASSERT_NE(nb, nullptr);
            nb->free();
        });
        worker.join();
    }
    EXPECT_EQ(pool->inUse(), 0u);
    EXPECT_EQ(pool->allocationFailures(), 0u);
}

TEST(NetbufPool, ANewPoolNeverSeesACacheOfADestroyedOneWithTheSameId) {
    std::uint16_t id;
    {
        auto first = makePool(16, 8);
        id = first->id();
        Netbuf* nb = first->allocate();
        first->free(nb);  // this thread caches netbufs of `first`
    }
    auto second = makePool(4, 8);
    ASSERT_EQ(second->id(), id);  // the lowest free id is reused
    std::vector<Netbuf*> got(4);
    ASSERT_EQ(second->allocateBulk(got.data(), 4), 0);
    for (Netbuf* nb : got) EXPECT_EQ(nb->pool(), second.get());
    second->freeBulk(got.data(), 4);
    EXPECT_EQ(second->inUse(), 0u);
}

// Several threads allocate and free bursts against the lock-free stack: nothing is lost and no
// netbuf is ever held by two threads at once.
TEST(NetbufPool, ConcurrentBulkAllocationLosesAndDuplicatesNothing) {
    constexpr unsigned kCount = 1024, kThreads = 4, kRounds = 4000, kBurst = 32;
    auto pool = makePool(kCount, 64);
    std::vector<std::atomic<int>> holder(kCount);
    std::atomic<unsigned> duplicates{0}, lost{0};
    auto work = [&](unsigned seed) {
        Netbuf* held[3][kBurst];
        unsigned heldCount[3] = {0, 0, 0};
        for (unsigned round = 0; round < kRounds; ++round) {
            unsigned slot = (round + seed) % 3;
            if (heldCount[slot] != 0) {
                for (unsigned i = 0; i < heldCount[slot]; ++i)
                    if (holder[held[slot][i]->index()].exchange(0) != 1) lost++;
                // Vary the path: single frees, bulk frees, and bursts bigger than a cache.
                if (round % 5 == 0) {
                    for (unsigned i = 0; i < heldCount[slot]; ++i) pool->free(held[slot][i]);
                } else {
                    pool->freeBulk(held[slot], heldCount[slot]);
                }
                heldCount[slot] = 0;
            } else {
                unsigned n = 1 + (round * 7 + seed) % kBurst;
                if (pool->allocateBulk(held[slot], n) != 0) continue;
                for (unsigned i = 0; i < n; ++i)
                    if (holder[held[slot][i]->index()].exchange(1) != 0) duplicates++;
                heldCount[slot] = n;
            }
        }
        for (unsigned s = 0; s < 3; ++s) {
            for (unsigned i = 0; i < heldCount[s]; ++i) holder[held[s][i]->index()].store(0);
            pool->freeBulk(held[s], heldCount[s]);
        }
    };
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t) threads.emplace_back(work, t);
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(duplicates.load(), 0u);
    EXPECT_EQ(lost.load(), 0u);
    EXPECT_EQ(pool->inUse(), 0u);
    pool->flushThreadCache();
    std::vector<Netbuf*> all(kCount);
    ASSERT_EQ(pool->allocateBulk(all.data(), kCount), 0);
    std::set<Netbuf*> unique(all.begin(), all.end());
    EXPECT_EQ(unique.size(), kCount);
    pool->freeBulk(all.data(), kCount);
}

// Bursts bigger than the cache go straight to the shared stack: the CAS loop alone.
TEST(NetbufPool, ConcurrentUncachedAllocationLosesAndDuplicatesNothing) {
    constexpr unsigned kCount = 256, kThreads = 3, kRounds = 20000;
    auto pool = makePool(kCount, 0);
    std::vector<std::atomic<int>> holder(kCount);
    std::atomic<unsigned> duplicates{0};
    auto work = [&](unsigned seed) {
        Netbuf* burst[8];
        for (unsigned round = 0; round < kRounds; ++round) {
            unsigned n = 1 + (round + seed) % 8;
            if (pool->allocateBulk(burst, n) != 0) continue;
            for (unsigned i = 0; i < n; ++i)
                if (holder[burst[i]->index()].exchange(1) != 0) duplicates++;
            for (unsigned i = 0; i < n; ++i) holder[burst[i]->index()].store(0);
            pool->freeBulk(burst, n);
        }
    };
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t) threads.emplace_back(work, t);
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(duplicates.load(), 0u);
    EXPECT_EQ(pool->inUse(), 0u);
    std::vector<Netbuf*> all(kCount);
    ASSERT_EQ(pool->allocateBulk(all.data(), kCount), 0);
    EXPECT_EQ(std::set<Netbuf*>(all.begin(), all.end()).size(), kCount);
    pool->freeBulk(all.data(), kCount);
}

}  // namespace
}  // namespace nexnet
