// DMA by physical address (VFIO's no-IOMMU mode) against a pagemap file the test writes: the
// kernel here has no no-IOMMU mode, and its own pagemap gives whatever frames it likes. The fake
// is laid out as the kernel's (one 64-bit entry per 4 KiB virtual page, at (address / 4096) * 8),
// so Pagemap reads it exactly as it reads /proc/self/pagemap.

#include "framework/pci/PhysicalDma.h"
#include "netbuf/DmaRegion.h"
#include "netbuf/NetbufPool.h"
#include "netbuf/Pagemap.h"
#include "support/TestEnvironment.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

using namespace nexnet;

namespace {

constexpr std::uint64_t kPresent = 1ull << 63, kSwapped = 1ull << 62;
constexpr std::size_t kPage = 4096;
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMlockLocks = false;  // AddressSanitizer's mlock interceptor does nothing
#else
constexpr bool kMlockLocks = true;
#endif

/// A sparse file with pagemap entries for the pages a test names; every other entry reads 0
/// ("not present").
class FakePagemap {
public:
    FakePagemap() {
        char name[] = "/tmp/nexnet-fake-pagemap.XXXXXX";
        fd_ = mkstemp(name);
        path_ = name;
    }
    ~FakePagemap() {
        close(fd_);
        unlink(path_.c_str());
    }
    const std::string& path() const { return path_; }
    /// Writes the raw entry of the virtual page holding @p address.
    void setEntry(const void* address, std::uint64_t entry) {
        off_t at = static_cast<off_t>(reinterpret_cast<std::uintptr_t>(address) / kPage * 8);
        ASSERT_EQ(pwrite(fd_, &entry, 8, at), 8);
    }
    /// Page @p index from @p base is in RAM at physical address @p physical.
    void setFrame(const void* base, std::size_t index, std::uint64_t physical) {
        setEntry(static_cast<const std::uint8_t*>(base) + index * kPage, kPresent | physical / kPage);
    }
    /// The @p pages pages from @p base are in RAM on consecutive frames from @p physical.
    void setContiguous(const void* base, std::size_t pages, std::uint64_t physical) {
        for (std::size_t i = 0; i < pages; ++i) setFrame(base, i, physical + i * kPage);
    }
    /// The @p pages pages from @p base are in RAM on frames far apart, in reverse order.
    void setScattered(const void* base, std::size_t pages) {
        for (std::size_t i = 0; i < pages; ++i) setFrame(base, i, 0x40000000ull - 2 * i * kPage);
    }
    Pagemap open() const {
        auto pagemap = Pagemap::open(path_);
        EXPECT_TRUE(pagemap.ok()) << pagemap.describe();
        return pagemap ? std::move(*pagemap) : Pagemap();
    }

private:
    int fd_ = -1;
    std::string path_;
};

DmaRegion smallRegion(std::size_t size) {
    DmaRegion::Options options;
    options.hugepages = false;
    options.lock = false;  // locking is what PhysicalDma must do
    auto region = DmaRegion::allocate(size, options);
    EXPECT_TRUE(region.ok());
    return region ? std::move(*region) : DmaRegion();
}

std::unique_ptr<NetbufPool> smallPagePool(std::uint32_t count, std::uint32_t bufferSize) {
    NetbufPool::Options options;
    options.count = count;
    options.headroom = 128;
    options.dataRoom = bufferSize - 128;
    options.cacheSize = 0;
    options.hugepages = false;
    auto pool = NetbufPool::create(options);
    EXPECT_TRUE(pool.ok());
    return pool ? std::move(*pool) : nullptr;
}

std::uint64_t lockedKilobytes() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmLck:", 0) == 0) return std::stoull(line.substr(6));
    }
    return 0;
}

// ---- Pagemap ---------------------------------------------------------------------------------

TEST(Pagemap, AddressIsItsFrameTimesThePageSizePlusTheOffsetInThePage) {
    DmaRegion region = smallRegion(2 * kPage);
    FakePagemap fake;
    fake.setEntry(region.data() + kPage, kPresent | (1ull << 55) | (1ull << 61) | 0x12345);  // soft-dirty, file page
    auto physical = fake.open().physicalAddress(region.data() + kPage + 0x123);
    ASSERT_TRUE(physical.ok()) << physical.describe();
    EXPECT_EQ(*physical, 0x12345123u);
}

TEST(Pagemap, HiddenFrameNumbersAreRefusedAsNeedingPrivilege) {
    DmaRegion region = smallRegion(kPage);
    FakePagemap fake;
    fake.setEntry(region.data(), kPresent);  // what a process without CAP_SYS_ADMIN reads
    auto physical = fake.open().physicalAddress(region.data());
    ASSERT_FALSE(physical.ok());
    EXPECT_EQ(physical.error(), EPERM);
    EXPECT_NE(physical.message().find("CAP_SYS_ADMIN"), std::string::npos) << physical.message();
}

TEST(Pagemap, PageNotInRamIsRefusedWithTheReason) {
    DmaRegion region = smallRegion(2 * kPage);
    FakePagemap fake;
    fake.setEntry(region.data(), 0);
    fake.setEntry(region.data() + kPage, kSwapped | 0x777);
    Pagemap pagemap = fake.open();
    auto untouched = pagemap.physicalAddress(region.data());
    EXPECT_EQ(untouched.error(), EFAULT);
    EXPECT_NE(untouched.message().find("never touched"), std::string::npos) << untouched.message();
    auto swapped = pagemap.physicalAddress(region.data() + kPage);
    EXPECT_EQ(swapped.error(), EFAULT);
    EXPECT_NE(swapped.message().find("swapped out"), std::string::npos) << swapped.message();
}

TEST(Pagemap, FileEndingBeforeTheEntryIsAnIoError) {
    DmaRegion region = smallRegion(kPage);
    FakePagemap fake;  // empty
    auto physical = fake.open().physicalAddress(region.data());
    EXPECT_EQ(physical.error(), EIO);
    EXPECT_NE(physical.message().find(fake.path()), std::string::npos) << physical.message();
}

TEST(Pagemap, MissingFileIsNamed) {
    auto pagemap = Pagemap::open("/nonexistent/pagemap");
    ASSERT_FALSE(pagemap.ok());
    EXPECT_EQ(pagemap.error(), ENOENT);
    EXPECT_NE(pagemap.message().find("/nonexistent/pagemap"), std::string::npos) << pagemap.message();
    EXPECT_EQ(Pagemap().physicalAddress(&pagemap).error(), EBADF);
}

TEST(Pagemap, RangeOnConsecutiveFramesIsContiguous) {
    DmaRegion region = smallRegion(4 * kPage);
    FakePagemap fake;
    fake.setContiguous(region.data(), 4, 0x5000000);
    auto physical = fake.open().contiguousPhysicalAddress(region.data() + 100, 4 * kPage - 100);
    ASSERT_TRUE(physical.ok()) << physical.describe();
    EXPECT_EQ(*physical, 0x5000000u + 100);
}

TEST(Pagemap, RangeOverAGapBetweenFramesIsNotContiguous) {
    DmaRegion region = smallRegion(3 * kPage);
    FakePagemap fake;
    fake.setContiguous(region.data(), 2, 0x5000000);
    fake.setFrame(region.data(), 2, 0x9000000);
    Pagemap pagemap = fake.open();
    EXPECT_TRUE(pagemap.contiguousPhysicalAddress(region.data(), 2 * kPage).ok());
    auto physical = pagemap.contiguousPhysicalAddress(region.data() + kPage, 2 * kPage);
    ASSERT_FALSE(physical.ok());
    EXPECT_EQ(physical.error(), ENOMEM);
    EXPECT_NE(physical.message().find("0x9000000, not 0x5002000"), std::string::npos) << physical.message();
}

// ---- PhysicalDma -----------------------------------------------------------------------------

TEST(PhysicalDma, RingOnConsecutiveFramesGetsItsPhysicalAddressAndIsLocked) {
    DmaRegion ring = smallRegion(4 * kPage);
    FakePagemap fake;
    fake.setContiguous(ring.data(), 4, 0x7000000);
    PhysicalDma dma(fake.open());
    const std::uint64_t lockedBefore = lockedKilobytes();
    auto physical = dma.mapContiguous(ring.data(), ring.size());
    ASSERT_TRUE(physical.ok()) << physical.describe();
    EXPECT_EQ(*physical, 0x7000000u);
    if (kMlockLocks) {
        EXPECT_GE(lockedKilobytes(), lockedBefore + 16) << "the ring must be locked in RAM";
    }
    EXPECT_EQ(dma.physicalAddress(ring.data() + 3 * kPage + 8).value(), 0x7003008u);
}

TEST(PhysicalDma, RingOnScatteredFramesIsRefusedWithWhatToDo) {
    DmaRegion ring = smallRegion(2 * kPage);
    FakePagemap fake;
    fake.setScattered(ring.data(), 2);
    auto physical = PhysicalDma(fake.open()).mapContiguous(ring.data(), ring.size());
    ASSERT_FALSE(physical.ok());
    EXPECT_EQ(physical.error(), ENOMEM);
    EXPECT_NE(physical.message().find("not physically contiguous"), std::string::npos) << physical.message();
    EXPECT_NE(physical.message().find("hugepages"), std::string::npos) << physical.message();
}

TEST(PhysicalDma, PoolOfPageSizedBuffersWorksOnScatteredFrames) {
    auto pool = smallPagePool(8, 4096);
    ASSERT_TRUE(pool);
    FakePagemap fake;
    fake.setScattered(pool->dataRegion().data(), 8);
    auto first = PhysicalDma(fake.open()).mapPool(*pool);
    ASSERT_TRUE(first.ok()) << first.describe();
    EXPECT_EQ(*first, 0x40000000u);
    for (std::uint32_t i = 0; i < 8; ++i) {
        const Netbuf* nb = pool->netbuf(i);
        EXPECT_EQ(nb->bufferIoAddress(), 0x40000000ull - 2 * i * kPage) << "netbuf " << i;
        EXPECT_EQ(nb->ioAddress(), nb->bufferIoAddress() + 128) << "netbuf " << i;
    }
    EXPECT_EQ(pool->dataRegion().iova(), 0u) << "a scattered region has no single device address";
}

TEST(PhysicalDma, PoolOfBuffersCrossingPagesWorksOnContiguousFrames) {
    auto pool = smallPagePool(16, 2176);  // nexnet's default geometry: buffers cross page boundaries
    ASSERT_TRUE(pool);
    const std::size_t pages = pool->dataRegion().size() / kPage;
    FakePagemap fake;
    fake.setContiguous(pool->dataRegion().data(), pages, 0x80000000);  // as within a 2 MiB hugepage
    auto first = PhysicalDma(fake.open()).mapPool(*pool);
    ASSERT_TRUE(first.ok()) << first.describe();
    for (std::uint32_t i = 0; i < 16; ++i)
        EXPECT_EQ(pool->netbuf(i)->bufferIoAddress(), 0x80000000ull + i * 2176) << "netbuf " << i;
}

TEST(PhysicalDma, PoolWithABufferAcrossScatteredPagesIsRefused) {
    auto pool = smallPagePool(4, 2176);
    ASSERT_TRUE(pool);
    pool->setIoBase(0x1000000);
    FakePagemap fake;
    fake.setScattered(pool->dataRegion().data(), pool->dataRegion().size() / kPage);
    auto first = PhysicalDma(fake.open()).mapPool(*pool);
    ASSERT_FALSE(first.ok());
    EXPECT_EQ(first.error(), ENOMEM);
    // Netbuf 0 fits in page 0; netbuf 1 (bytes 2176-4351) crosses into page 1.
    EXPECT_NE(first.message().find("netbuf 1 "), std::string::npos) << first.message();
    EXPECT_NE(first.message().find("divides 4096"), std::string::npos) << first.message();
    EXPECT_EQ(pool->netbuf(1)->bufferIoAddress(), 0x1000000u + 2176) << "a refused pool keeps its addresses";
}

TEST(PhysicalDma, PoolWhoseAddressesAreHiddenIsRefused) {
    auto pool = smallPagePool(2, 4096);
    ASSERT_TRUE(pool);
    FakePagemap fake;
    fake.setEntry(pool->dataRegion().data(), kPresent);
    fake.setEntry(pool->dataRegion().data() + kPage, kPresent);
    auto first = PhysicalDma(fake.open()).mapPool(*pool);
    EXPECT_EQ(first.error(), EPERM);
}

TEST(PhysicalDma, TheKernelsPagemapTranslatesAsRoot) {
    NEXNET_REQUIRE(::nexnet::test::isRoot(), "physical addresses are hidden without CAP_SYS_ADMIN");
    auto dma = PhysicalDma::open();
    ASSERT_TRUE(dma.ok()) << dma.describe();
    auto pool = smallPagePool(4, 4096);
    ASSERT_TRUE(pool);
    auto first = dma->mapPool(*pool);
    ASSERT_TRUE(first.ok()) << first.describe();
    for (std::uint32_t i = 0; i < 4; ++i) {
        auto physical = dma->physicalAddress(pool->netbuf(i)->data());
        ASSERT_TRUE(physical.ok());
        EXPECT_EQ(pool->netbuf(i)->ioAddress(), *physical) << "netbuf " << i;
    }
}

}  // namespace
