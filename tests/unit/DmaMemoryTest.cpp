// DMA memory (dma.h): dma_alloc/dma_free, sio_reserve/sio_release and every misuse of them.
// Association with sockets and sends are in SioSocketTest and the kernel tests.
#include "sio/core/Runtime.h"
#include "sio/dma.h"
#include "sio/sio.h"

#include <gtest/gtest.h>

#include <cstring>

namespace {

constexpr std::size_t kSize = 1 << 20;

class DmaMemoryTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(dma_alloc(&mem_, kSize, 0), 0) << sio_last_error(); }
    void TearDown() override {
        if (mem_ != nullptr) {
            EXPECT_EQ(dma_free(mem_, kSize), 0) << sio_last_error();
        }
    }
    dma_mem_t mem_ = nullptr;
};

TEST_F(DmaMemoryTest, AllocDescribesTheMemory) {
    dma_info info{};
    ASSERT_EQ(dma_getinfo(mem_, &info), 0);
    EXPECT_NE(info.di_addr, nullptr);
    EXPECT_EQ(info.di_size, kSize);
    EXPECT_EQ(info.di_unit, 2048u);
    EXPECT_EQ(info.di_free, kSize);
    EXPECT_TRUE(info.di_page_size == 4096 || info.di_page_size == (2u << 20));
    EXPECT_EQ(info.di_associations, 0);
    EXPECT_EQ(dma_getinfo(mem_, nullptr), -1);
}

TEST_F(DmaMemoryTest, AllocRefusesBadArguments) {
    dma_mem_t other;
    EXPECT_EQ(dma_alloc(nullptr, kSize, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(dma_alloc(&other, 100, 0), -1);  // less than one unit
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(dma_alloc(&other, kSize, 0x8000), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(dma_alloc(&other, kSize, DMA_HUGEPAGES | DMA_NOHUGEPAGES), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_NE(std::strlen(sio_last_error()), 0u);
}

TEST_F(DmaMemoryTest, UnitFlagChoosesTheMinimumAllocation) {
    dma_mem_t big;
    ASSERT_EQ(dma_alloc(&big, kSize, DMA_UNIT_64K | DMA_NOHUGEPAGES), 0);
    dma_info info{};
    dma_getinfo(big, &info);
    EXPECT_EQ(info.di_unit, 65536u);
    EXPECT_EQ(info.di_hugepages, 0);
    void* p;
    ASSERT_EQ(sio_reserve(big, &p, 1), 0);
    dma_getinfo(big, &info);
    EXPECT_EQ(info.di_free, kSize - 65536);
    EXPECT_EQ(sio_release(big, p, 1), 0);
    EXPECT_EQ(dma_free(big, kSize), 0);
}

TEST_F(DmaMemoryTest, FreeWantsTheAllocatedSizeAndRefusesStaleHandles) {
    dma_mem_t other;
    ASSERT_EQ(dma_alloc(&other, kSize, 0), 0);
    EXPECT_EQ(dma_free(other, kSize / 2), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(dma_free(other, kSize), 0);
    void* p;
    EXPECT_EQ(dma_free(other, kSize), -1);
    EXPECT_EQ(errno, EBADF);
    EXPECT_EQ(sio_reserve(other, &p, 64), -1);
    EXPECT_EQ(errno, EBADF);
    EXPECT_EQ(sio_release(other, &p, 64), -1);
    EXPECT_EQ(errno, EBADF);
}

TEST_F(DmaMemoryTest, ReservedMemoryIsWritableAndInsideTheBlock) {
    dma_info info{};
    dma_getinfo(mem_, &info);
    void* p;
    ASSERT_EQ(sio_reserve(mem_, &p, 5000), 0);
    auto* byte = static_cast<char*>(p);
    EXPECT_GE(byte, static_cast<char*>(info.di_addr));
    EXPECT_LE(byte + 6144, static_cast<char*>(info.di_addr) + kSize);
    std::memset(p, 0xab, 6144);  // three whole units are the caller's
    void* q;
    ASSERT_EQ(sio_reserve(mem_, &q, 1), 0);
    EXPECT_TRUE(static_cast<char*>(q) >= byte + 6144 || static_cast<char*>(q) + 2048 <= byte);
    EXPECT_EQ(sio_release(mem_, byte + 3000, 10), 0);  // any byte inside releases all of it
    EXPECT_EQ(sio_release(mem_, q, 2048), 0);
    dma_getinfo(mem_, &info);
    EXPECT_EQ(info.di_free, kSize);
}

TEST_F(DmaMemoryTest, EveryMisuseOfReleaseIsAClearError) {
    void* p;
    ASSERT_EQ(sio_reserve(mem_, &p, 2048), 0);
    char outside[16];
    EXPECT_EQ(sio_release(mem_, outside, 16), -1);  // not this memory
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_release(mem_, static_cast<char*>(p) + 2048, 1), -1);  // free unit next to it
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_release(mem_, p, 4096), -1);  // past the buffer's end
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_release(mem_, p, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    ASSERT_EQ(sio_release(mem_, p, 2048), 0);
    EXPECT_EQ(sio_release(mem_, p, 2048), -1);  // twice
    EXPECT_EQ(errno, EINVAL);
    EXPECT_NE(std::strstr(sio_last_error(), "not in use"), nullptr) << sio_last_error();
}

TEST_F(DmaMemoryTest, ReserveRefusesBadSizesAndSaysWhenFull) {
    void* p;
    EXPECT_EQ(sio_reserve(mem_, &p, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_reserve(mem_, &p, kSize + 1), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sio_reserve(mem_, nullptr, 1), -1);
    EXPECT_EQ(errno, EINVAL);
    ASSERT_EQ(sio_reserve(mem_, &p, kSize), 0);
    void* q;
    EXPECT_EQ(sio_reserve(mem_, &q, 1), -1);
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_EQ(sio_release(mem_, p, kSize), 0);
}

TEST_F(DmaMemoryTest, BuffersPostedForReceivingBelongToTheKernel) {
    auto memory = nexnet::sio::Runtime::instance().memories().acquire(nexnet::sio::Runtime::handleOf(mem_));
    // (memory is dropped before TearDown's dma_free, which waits for every use to end)
    std::uint32_t units[4];
    ASSERT_EQ(memory->takeReceiveUnits(0, 4, units), 4u);
    void* posted = memory->unitAddress(units[0]);
    EXPECT_EQ(sio_release(mem_, posted, 1), -1);
    EXPECT_EQ(errno, EBUSY);
    EXPECT_EQ(memory->checkSendable(posted, 64), -1);  // nor may it be sent from
    memory->markReceived(units[0]);                    // the kernel filled it: the program's now
    EXPECT_EQ(memory->checkSendable(posted, 64), static_cast<long>(units[0]));
    for (auto u : units) memory->unpost(u);
}

TEST_F(DmaMemoryTest, ReleaseDuringAZeroCopySendWaitsForTheNotification) {
    // The transport's side, as a zero-copy send uses it (a Ref is held only while calling in).
    auto memory = [this] {
        return nexnet::sio::Runtime::instance().memories().acquire(nexnet::sio::Runtime::handleOf(mem_));
    };
    void* p;
    ASSERT_EQ(sio_reserve(mem_, &p, 2048), 0);
    long unit = memory()->beginSend(p, 1000);
    ASSERT_GE(unit, 0);
    EXPECT_EQ(dma_free(mem_, kSize), -1);  // the kernel still reads from it
    EXPECT_EQ(errno, EBUSY);
    EXPECT_EQ(sio_release(mem_, p, 2048), 0);   // accepted, deferred
    EXPECT_EQ(sio_release(mem_, p, 2048), -1);  // but only once
    dma_info info{};
    dma_getinfo(mem_, &info);
    EXPECT_EQ(info.di_free, kSize - 2048);
    memory()->endSend(static_cast<std::size_t>(unit));  // the notification
    dma_getinfo(mem_, &info);
    EXPECT_EQ(info.di_free, kSize);
}

}  // namespace
