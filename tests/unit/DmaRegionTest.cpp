// DmaRegion: memfd-backed DMA memory (Drepper's dma_alloc), shareable, with device addresses.
#include "netbuf/DmaRegion.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <utility>

namespace nexnet {
namespace {

DmaRegion::Options smallPages() {
    DmaRegion::Options options;
    options.hugepages = false;
    options.name = "nexnet-test-dma";
    return options;
}

TEST(DmaRegion, AllocateRoundsUpToThePageSize) {
    auto region = DmaRegion::allocate(100, smallPages());
    ASSERT_TRUE(region.ok()) << region.error();
    EXPECT_NE(region->data(), nullptr);
    EXPECT_EQ(region->size(), 4096u);
    EXPECT_EQ(region->pageSize(), 4096u);
    EXPECT_FALSE(region->usesHugepages());
}

TEST(DmaRegion, AllocatedMemoryIsZeroedAndWritable) {
    auto region = DmaRegion::allocate(8192, smallPages());
    ASSERT_TRUE(region.ok());
    for (std::size_t i = 0; i < region->size(); i += 512) EXPECT_EQ(region->data()[i], 0);
    std::memset(region->data(), 0xa5, region->size());
    EXPECT_EQ(region->data()[region->size() - 1], 0xa5);
}

TEST(DmaRegion, AllocateWithDefaultOptionsUsesHugepagesOrSaysItDidNot) {
    auto region = DmaRegion::allocate(4096);
    ASSERT_TRUE(region.ok()) << region.error();
    if (region->usesHugepages()) {
        EXPECT_EQ(region->pageSize(), 2u << 20);
        EXPECT_EQ(region->size() % (2u << 20), 0u);
    } else {
        EXPECT_EQ(region->pageSize(), 4096u);
    }
}

TEST(DmaRegion, RequiredHugepagesEitherComeOrFailWithAnErrno) {
    DmaRegion::Options options;
    options.requireHugepages = true;
    auto region = DmaRegion::allocate(4096, options);
    if (region.ok()) {
        EXPECT_TRUE(region->usesHugepages());
    } else {
        EXPECT_NE(region.error(), 0);
    }
}

TEST(DmaRegion, AllocateOfZeroBytesIsEinval) {
    EXPECT_EQ(DmaRegion::allocate(0, smallPages()).error(), EINVAL);
    EXPECT_EQ(DmaRegion::allocate(0).error(), EINVAL);
}

TEST(DmaRegion, LockIsReportedAndCanBeSkipped) {
    DmaRegion::Options options = smallPages();
    options.lock = false;
    auto unlocked = DmaRegion::allocate(4096, options);
    ASSERT_TRUE(unlocked.ok());
    EXPECT_FALSE(unlocked->isLocked());
    auto locked = DmaRegion::allocate(4096, smallPages());
    ASSERT_TRUE(locked.ok());
    if (geteuid() == 0) {
        EXPECT_TRUE(locked->isLocked());  // root is allowed to mlock
    }
}

TEST(DmaRegion, ContainsOnlyItsOwnBytes) {
    auto region = DmaRegion::allocate(4096, smallPages());
    ASSERT_TRUE(region.ok());
    EXPECT_TRUE(region->contains(region->data()));
    EXPECT_TRUE(region->contains(region->data() + region->size() - 1));
    EXPECT_FALSE(region->contains(region->data() + region->size()));
    EXPECT_FALSE(region->contains(region->data() - 1));
    DmaRegion empty;
    EXPECT_FALSE(empty.contains(region->data()));
}

TEST(DmaRegion, EmptyRegionHasNothing) {
    DmaRegion empty;
    EXPECT_EQ(empty.data(), nullptr);
    EXPECT_EQ(empty.size(), 0u);
    EXPECT_EQ(empty.fd(), -1);
    EXPECT_EQ(empty.iova(), 0u);
}

TEST(DmaRegion, AttachSharesTheMemoryThroughTheFd) {
    auto region = DmaRegion::allocate(4096, smallPages());
    ASSERT_TRUE(region.ok());
    auto view = DmaRegion::attach(region->fd(), region->size(), true);
    ASSERT_TRUE(view.ok()) << view.error();
    EXPECT_NE(view->data(), region->data());
    EXPECT_NE(view->fd(), region->fd());  // duplicated: the caller keeps its own
    std::memcpy(region->data() + 100, "shared", 6);
    EXPECT_EQ(std::memcmp(view->data() + 100, "shared", 6), 0);
    std::memcpy(view->data() + 200, "back", 4);
    EXPECT_EQ(std::memcmp(region->data() + 200, "back", 4), 0);
}

TEST(DmaRegion, AttachReadOnlyCannotBeWritten) {
    auto region = DmaRegion::allocate(4096, smallPages());
    ASSERT_TRUE(region.ok());
    auto view = DmaRegion::attach(region->fd(), region->size(), false);
    ASSERT_TRUE(view.ok()) << view.error();
    region->data()[0] = 7;
    EXPECT_EQ(view->data()[0], 7);
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH({ view->data()[0] = 1; }, "");
}

TEST(DmaRegion, AttachRejectsBadArguments) {
    auto region = DmaRegion::allocate(4096, smallPages());
    ASSERT_TRUE(region.ok());
    EXPECT_EQ(DmaRegion::attach(region->fd(), 0, true).error(), EINVAL);
    EXPECT_EQ(DmaRegion::attach(region->fd(), region->size() + 1, true).error(), EINVAL);
    EXPECT_EQ(DmaRegion::attach(-1, 4096, true).error(), EBADF);
}

TEST(DmaRegion, MoveConstructionTakesTheMemory) {
    auto region = DmaRegion::allocate(4096, smallPages());
    ASSERT_TRUE(region.ok());
    std::uint8_t* data = region->data();
    int fd = region->fd();
    region->setIova(0x1000);
    DmaRegion moved(std::move(region.value()));
    EXPECT_EQ(moved.data(), data);
    EXPECT_EQ(moved.fd(), fd);
    EXPECT_EQ(moved.iova(), 0x1000u);
    EXPECT_EQ(region->data(), nullptr);
    EXPECT_EQ(region->fd(), -1);
}

TEST(DmaRegion, MoveAssignmentFreesTheOldMemoryAndTakesTheNew) {
    auto a = DmaRegion::allocate(4096, smallPages());
    auto b = DmaRegion::allocate(8192, smallPages());
    ASSERT_TRUE(a.ok() && b.ok());
    int oldFd = a->fd();
    std::uint8_t* data = b->data();
    a.value() = std::move(b.value());
    EXPECT_EQ(a->data(), data);
    EXPECT_EQ(a->size(), 8192u);
    EXPECT_EQ(fcntl(oldFd, F_GETFD), -1);  // the old memfd was closed
    EXPECT_EQ(b->data(), nullptr);
}

TEST(DmaRegion, DestructionClosesTheMemfd) {
    int fd;
    {
        auto region = DmaRegion::allocate(4096, smallPages());
        ASSERT_TRUE(region.ok());
        fd = region->fd();
        EXPECT_GE(fcntl(fd, F_GETFD), 0);
    }
    EXPECT_EQ(fcntl(fd, F_GETFD), -1);
}

TEST(DmaRegion, IovaIsRecordedAndOffsetsAddUp) {
    auto region = DmaRegion::allocate(4096, smallPages());
    ASSERT_TRUE(region.ok());
    EXPECT_EQ(region->iova(), 0u);
    region->setIova(0x7f0000000000ull);
    EXPECT_EQ(region->iova(), 0x7f0000000000ull);
    EXPECT_EQ(region->iovaAt(0x123), 0x7f0000000123ull);
}

TEST(DmaRegion, PhysicalAddressKeepsTheOffsetWithinThePage) {
    auto region = DmaRegion::allocate(8192, smallPages());
    ASSERT_TRUE(region.ok());
    auto physical = region->physicalAddress(4096 + 123);
    if (geteuid() != 0) {
        EXPECT_EQ(physical.error(), EPERM);
        return;
    }
    ASSERT_TRUE(physical.ok()) << physical.error();
    EXPECT_EQ(physical.value() % 4096, 123u);
    EXPECT_NE(physical.value(), 0u);
}

TEST(DmaRegion, PhysicalAddressOutsideTheRegionIsErange) {
    auto region = DmaRegion::allocate(4096, smallPages());
    ASSERT_TRUE(region.ok());
    EXPECT_EQ(region->physicalAddress(region->size()).error(), ERANGE);
    DmaRegion empty;
    EXPECT_EQ(empty.physicalAddress(0).error(), ERANGE);
}

}  // namespace
}  // namespace nexnet
