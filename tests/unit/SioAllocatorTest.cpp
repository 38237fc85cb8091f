// SioAllocator: Drepper's sio_reserve/sio_release bitmap allocator with a minimum allocation size.
#include "netbuf/SioAllocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

using nexnet::SioAllocator;

namespace {

std::unique_ptr<SioAllocator> make(std::size_t size, std::size_t unit) {
    auto allocator = SioAllocator::create(size, unit);
    EXPECT_TRUE(allocator);
    return std::move(allocator.value());
}

TEST(SioAllocator, UnitMustBeAPowerOfTwoAndFitTheBlock) {
    EXPECT_EQ(SioAllocator::create(8192, 3000).error(), EINVAL);
    EXPECT_EQ(SioAllocator::create(8192, 0).error(), EINVAL);
    EXPECT_EQ(SioAllocator::create(1024, 2048).error(), EINVAL);
    EXPECT_TRUE(SioAllocator::create(2048, 2048));
}

TEST(SioAllocator, ReservationsAreRoundedUpToWholeUnits) {
    auto allocator = make(16 * 2048, 2048);
    auto a = allocator->reserve(1);
    auto b = allocator->reserve(2049);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(*a % 2048, 0u);
    EXPECT_EQ(allocator->allocationAt(*a)->size, 2048u);
    EXPECT_EQ(allocator->allocationAt(*b)->size, 4096u);
    EXPECT_EQ(allocator->freeUnits(), 13u);
}

TEST(SioAllocator, ReleaseFindsTheAllocationFromAnyByteInside) {
    auto allocator = make(16 * 2048, 2048);
    auto run = allocator->reserve(3 * 2048);
    ASSERT_TRUE(run);
    EXPECT_EQ(allocator->allocationAt(*run + 5000)->offset, *run);
    EXPECT_EQ(allocator->release(*run + 5000, 100), 0);
    EXPECT_EQ(allocator->freeUnits(), 16u);
}

TEST(SioAllocator, SecondReleaseIsRefused) {
    auto allocator = make(8 * 2048, 2048);
    auto a = allocator->reserve(2048);
    ASSERT_TRUE(a);
    EXPECT_EQ(allocator->release(*a, 2048), 0);
    EXPECT_EQ(allocator->release(*a, 2048), EINVAL);
    EXPECT_EQ(allocator->freeUnits(), 8u);
}

TEST(SioAllocator, ReleaseOfMemoryNeverReservedOrPastItsEndIsRefused) {
    auto allocator = make(8 * 2048, 2048);
    auto a = allocator->reserve(2048);
    ASSERT_TRUE(a);
    EXPECT_EQ(allocator->release(*a + 2048, 1), EINVAL);    // the next unit: free
    EXPECT_EQ(allocator->release(*a + 100, 2048), EINVAL);  // runs past the end
    EXPECT_EQ(allocator->release(*a, 0), EINVAL);
    EXPECT_EQ(allocator->release(8 * 2048, 1), EINVAL);  // outside the block
    EXPECT_EQ(allocator->freeUnits(), 7u);
}

TEST(SioAllocator, ExhaustionAndOversizeAreDistinct) {
    auto allocator = make(4 * 2048, 2048);
    EXPECT_EQ(allocator->reserve(5 * 2048).error(), EINVAL);
    EXPECT_EQ(allocator->reserve(0).error(), EINVAL);
    auto a = allocator->reserve(2048);
    auto b = allocator->reserve(2048);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(allocator->release(*a, 1), 0);                  // units 0 free, 1 used, 2-3 free
    EXPECT_EQ(allocator->reserve(3 * 2048).error(), ENOMEM);  // no run of three
    EXPECT_TRUE(allocator->reserve(2 * 2048));
}

TEST(SioAllocator, RunsCrossBitmapWords) {
    auto allocator = make(200 * 2048, 2048);
    std::vector<std::size_t> singles;
    for (int i = 0; i < 60; ++i) singles.push_back(allocator->reserve(1).value());
    auto run = allocator->reserve(100 * 2048);  // must span words 0-2 of the bitmap
    ASSERT_TRUE(run);
    EXPECT_EQ(*run, 60u * 2048);
    EXPECT_EQ(allocator->release(*run + 99 * 2048, 1), 0);
    EXPECT_EQ(allocator->freeUnits(), 140u);
}

TEST(SioAllocator, ConcurrentThreadsNeverShareAUnit) {
    auto allocator = make(256 * 2048, 2048);
    std::atomic<int> owner[256] = {};
    std::atomic<bool> clash{false};
    auto worker = [&](int id) {
        for (int round = 0; round < 20000; ++round) {
            std::size_t size = (round % 7 == 0) ? 3 * 2048 : 2048;
            auto offset = allocator->reserve(size);
            if (!offset) continue;
            std::size_t first = *offset / 2048, count = size / 2048;
            for (std::size_t u = first; u < first + count; ++u) {
                int none = 0;
                if (!owner[u].compare_exchange_strong(none, id)) clash = true;
            }
            for (std::size_t u = first; u < first + count; ++u) owner[u] = 0;
            if (allocator->release(*offset, size) != 0) clash = true;
        }
    };
    std::vector<std::thread> threads;
    for (int i = 1; i <= 4; ++i) threads.emplace_back(worker, i);
    for (auto& t : threads) t.join();
    EXPECT_FALSE(clash);
    EXPECT_EQ(allocator->freeUnits(), 256u);
}

TEST(SioAllocator, RacingReleasesOfOneAllocationSucceedOnce) {
    auto allocator = make(64 * 2048, 2048);
    for (int round = 0; round < 2000; ++round) {
        auto offset = allocator->reserve(2 * 2048);
        ASSERT_TRUE(offset);
        std::atomic<int> successes{0};
        std::thread a([&] { successes += allocator->release(*offset, 1) == 0; });
        std::thread b([&] { successes += allocator->release(*offset + 2048, 1) == 0; });
        a.join();
        b.join();
        ASSERT_EQ(successes, 1);
    }
    EXPECT_EQ(allocator->freeUnits(), 64u);
}

}  // namespace
