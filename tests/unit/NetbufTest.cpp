// Netbuf: NeXT's netbuf operations, bounds-checked; a failed operation changes nothing.
#include "netbuf/Netbuf.h"
#include "netbuf/NetbufPool.h"

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

namespace nexnet {
namespace {

class NetbufTest : public ::testing::Test {
protected:
    void SetUp() override {
        NetbufPool::Options options;
        options.count = 8;
        options.hugepages = false;
        auto made = NetbufPool::create(options);
        ASSERT_TRUE(made.ok()) << made.error();
        pool = std::move(made.value());
        nb = pool->allocate();
        ASSERT_NE(nb, nullptr);
    }
    void TearDown() override {
        if (nb != nullptr) nb->free();
        if (pool) {
            EXPECT_EQ(pool->inUse(), 0u);
        }
    }

    // Position and size of the packet, to check that a failed call changed nothing.
    struct Shape {
        std::uint8_t* data;
        std::uint32_t size, headroom, tailroom;
        bool operator==(const Shape&) const = default;
    };
    Shape shape() const { return {nb->data(), nb->size(), nb->headroom(), nb->tailroom()}; }

    std::unique_ptr<NetbufPool> pool;
    Netbuf* nb = nullptr;
};

TEST_F(NetbufTest, FreshNetbufIsEmptyWithThePoolsHeadroom) {
    EXPECT_EQ(nb->size(), 0u);
    EXPECT_EQ(nb->headroom(), pool->headroom());
    EXPECT_EQ(nb->capacity(), pool->bufferSize());
    EXPECT_EQ(nb->tailroom(), pool->bufferSize() - pool->headroom());
    EXPECT_EQ(nb->data(), nb->buffer() + nb->headroom());
}

TEST_F(NetbufTest, CapacityIsHeadroomPlusSizePlusTailroom) {
    ASSERT_EQ(nb->growBottom(100), 0);
    EXPECT_EQ(nb->headroom() + nb->size() + nb->tailroom(), nb->capacity());
}

TEST_F(NetbufTest, GrowTopPrependsInFrontOfTheData) {
    ASSERT_EQ(nb->append("payload", 7), 0);
    std::uint8_t* before = nb->data();
    ASSERT_EQ(nb->growTop(14), 0);
    EXPECT_EQ(nb->data(), before - 14);
    EXPECT_EQ(nb->size(), 21u);
    EXPECT_EQ(std::memcmp(nb->data() + 14, "payload", 7), 0);
}

TEST_F(NetbufTest, GrowTopBeyondTheHeadroomIsErangeAndChangesNothing) {
    Shape before = shape();
    EXPECT_EQ(nb->growTop(nb->headroom() + 1), ERANGE);
    EXPECT_EQ(shape(), before);
}

TEST_F(NetbufTest, GrowTopByTheWholeHeadroomWorks) {
    EXPECT_EQ(nb->growTop(nb->headroom()), 0);
    EXPECT_EQ(nb->headroom(), 0u);
    EXPECT_EQ(nb->data(), nb->buffer());
}

TEST_F(NetbufTest, ShrinkTopStripsAHeader) {
    ASSERT_EQ(nb->append("0123456789", 10), 0);
    ASSERT_EQ(nb->shrinkTop(4), 0);
    EXPECT_EQ(nb->size(), 6u);
    EXPECT_EQ(std::memcmp(nb->data(), "456789", 6), 0);
}

TEST_F(NetbufTest, ShrinkTopBeyondTheDataIsErangeAndChangesNothing) {
    ASSERT_EQ(nb->growBottom(10), 0);
    Shape before = shape();
    EXPECT_EQ(nb->shrinkTop(11), ERANGE);
    EXPECT_EQ(shape(), before);
}

TEST_F(NetbufTest, GrowBottomExtendsTheData) {
    ASSERT_EQ(nb->growBottom(60), 0);
    EXPECT_EQ(nb->size(), 60u);
    EXPECT_EQ(nb->headroom(), pool->headroom());
}

TEST_F(NetbufTest, GrowBottomBeyondTheTailroomIsErangeAndChangesNothing) {
    Shape before = shape();
    EXPECT_EQ(nb->growBottom(nb->tailroom() + 1), ERANGE);
    EXPECT_EQ(nb->growBottom(0xffffffffu), ERANGE);
    EXPECT_EQ(shape(), before);
}

TEST_F(NetbufTest, ShrinkBottomStripsATrailer) {
    ASSERT_EQ(nb->append("0123456789", 10), 0);
    ASSERT_EQ(nb->shrinkBottom(4), 0);
    EXPECT_EQ(nb->size(), 6u);
    EXPECT_EQ(std::memcmp(nb->data(), "012345", 6), 0);
}

TEST_F(NetbufTest, ShrinkBottomBeyondTheDataIsErangeAndChangesNothing) {
    ASSERT_EQ(nb->growBottom(3), 0);
    Shape before = shape();
    EXPECT_EQ(nb->shrinkBottom(4), ERANGE);
    EXPECT_EQ(shape(), before);
}

TEST_F(NetbufTest, SetSizeKeepsTheHeadroom) {
    ASSERT_EQ(nb->setSize(1500), 0);
    EXPECT_EQ(nb->size(), 1500u);
    EXPECT_EQ(nb->headroom(), pool->headroom());
}

TEST_F(NetbufTest, SetSizeBeyondTheBufferIsErangeAndChangesNothing) {
    Shape before = shape();
    EXPECT_EQ(nb->setSize(nb->capacity() - nb->headroom() + 1), ERANGE);
    EXPECT_EQ(shape(), before);
}

TEST_F(NetbufTest, ResetEmptiesAndMovesTheData) {
    ASSERT_EQ(nb->growBottom(100), 0);
    ASSERT_EQ(nb->reset(64), 0);
    EXPECT_EQ(nb->size(), 0u);
    EXPECT_EQ(nb->headroom(), 64u);
}

TEST_F(NetbufTest, ResetBeyondTheCapacityIsErangeAndChangesNothing) {
    ASSERT_EQ(nb->growBottom(100), 0);
    Shape before = shape();
    EXPECT_EQ(nb->reset(nb->capacity() + 1), ERANGE);
    EXPECT_EQ(shape(), before);
}

TEST_F(NetbufTest, WriteThenReadAtAnOffset) {
    ASSERT_EQ(nb->growBottom(32), 0);
    ASSERT_EQ(nb->write(10, "abcdef", 6), 0);
    std::array<char, 6> out{};
    ASSERT_EQ(nb->read(10, out.data(), 6), 0);
    EXPECT_EQ(std::memcmp(out.data(), "abcdef", 6), 0);
}

TEST_F(NetbufTest, ReadOutsideThePacketIsErangeAndCopiesNothing) {
    ASSERT_EQ(nb->growBottom(16), 0);
    std::array<char, 8> out;
    out.fill('x');
    EXPECT_EQ(nb->read(10, out.data(), 7), ERANGE);
    EXPECT_EQ(nb->read(17, out.data(), 0), ERANGE);
    EXPECT_EQ(nb->read(0xfffffff0u, out.data(), 0x20), ERANGE);  // offset + bytes wraps
    for (char c : out) EXPECT_EQ(c, 'x');
}

TEST_F(NetbufTest, WriteOutsideThePacketIsErangeAndWritesNothing) {
    ASSERT_EQ(nb->growBottom(16), 0);
    std::memset(nb->data(), 0, 16);
    std::memset(nb->data() + 16, 0x5a, 8);  // the tailroom just after the packet
    EXPECT_EQ(nb->write(12, "abcdefgh", 8), ERANGE);
    for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(nb->data()[i], 0);
    for (unsigned i = 16; i < 24; ++i) EXPECT_EQ(nb->data()[i], 0x5a);
    EXPECT_EQ(nb->size(), 16u);
}

TEST_F(NetbufTest, ReadAndWriteOfZeroBytesAtTheEndSucceed) {
    ASSERT_EQ(nb->growBottom(4), 0);
    char c = 0;
    EXPECT_EQ(nb->read(4, &c, 0), 0);
    EXPECT_EQ(nb->write(4, &c, 0), 0);
}

TEST_F(NetbufTest, AppendAddsAtTheEnd) {
    ASSERT_EQ(nb->append("ab", 2), 0);
    ASSERT_EQ(nb->append("cd", 2), 0);
    EXPECT_EQ(nb->size(), 4u);
    EXPECT_EQ(std::memcmp(nb->data(), "abcd", 4), 0);
}

TEST_F(NetbufTest, AppendBeyondTheTailroomIsErangeAndChangesNothing) {
    std::vector<std::uint8_t> big(nb->tailroom() + 1, 1);
    Shape before = shape();
    EXPECT_EQ(nb->append(big.data(), static_cast<std::uint32_t>(big.size())), ERANGE);
    EXPECT_EQ(shape(), before);
}

TEST_F(NetbufTest, IndexAndPoolIdNameTheNetbufAcrossProcesses) {
    EXPECT_EQ(pool->netbuf(nb->index()), nb);
    EXPECT_EQ(nb->poolId(), pool->id());
    EXPECT_EQ(nb->pool(), pool.get());
}

TEST_F(NetbufTest, FreeReturnsTheNetbufToItsPool) {
    EXPECT_EQ(pool->inUse(), 1u);
    nb->free();
    nb = nullptr;
    EXPECT_EQ(pool->inUse(), 0u);
}

TEST_F(NetbufTest, OwnerIsRecorded) {
    EXPECT_EQ(nb->owner(), 0u);
    nb->setOwner(42);
    EXPECT_EQ(nb->owner(), 42u);
}

TEST_F(NetbufTest, FreshNetbufHasNoOwnerEvenIfThePreviousHolderSetOne) {
    nb->setOwner(7);
    nb->setFlags(Netbuf::kFirstUserFlag);
    nb->setTimestamp(99);
    nb->offload().gsoSize = 1448;
    nb->free();
    pool->flushThreadCache();
    // The pool has 8 netbufs: take them all and check every one is clean.
    std::array<Netbuf*, 8> all{};
    ASSERT_EQ(pool->allocateBulk(all.data(), 8), 0);
    for (Netbuf* n : all) {
        EXPECT_EQ(n->owner(), 0u);
        EXPECT_EQ(n->flags(), 0u);
        EXPECT_EQ(n->timestamp(), 0u);
        EXPECT_EQ(n->offload().gsoSize, 0u);
    }
    pool->freeBulk(all.data(), 8);
    nb = nullptr;
}

TEST_F(NetbufTest, IoAddressFollowsThePoolsIoBaseAndTheDataOffset) {
    pool->setIoBase(0x10000000);
    EXPECT_EQ(nb->bufferIoAddress(), 0x10000000u + std::uint64_t{nb->index()} * pool->bufferSize());
    EXPECT_EQ(nb->ioAddress(), nb->bufferIoAddress() + nb->headroom());
    ASSERT_EQ(nb->growTop(14), 0);
    EXPECT_EQ(nb->ioAddress(), nb->bufferIoAddress() + nb->headroom());
}

TEST_F(NetbufTest, BufferIsTheStartOfTheNetbufsMemoryInThePool) {
    EXPECT_TRUE(pool->dataRegion().contains(nb->buffer()));
    EXPECT_EQ(pool->netbufContaining(nb->buffer()), nb);
}

TEST_F(NetbufTest, TimestampIsKept) {
    nb->setTimestamp(1'700'000'000'123'456'789ull);
    EXPECT_EQ(nb->timestamp(), 1'700'000'000'123'456'789ull);
}

TEST_F(NetbufTest, OffloadIsKeptAndReadableThroughAConstNetbuf) {
    nb->offload().gsoSize = 1448;
    nb->offload().csumStart = 34;
    nb->offload().csumOffset = 16;
    nb->offload().gsoType = 1;
    nb->offload().flags = 1;
    const Netbuf& view = *nb;
    EXPECT_EQ(view.offload().gsoSize, 1448u);
    EXPECT_EQ(view.offload().csumStart, 34u);
    EXPECT_EQ(view.offload().csumOffset, 16u);
    EXPECT_EQ(view.offload().gsoType, 1u);
    EXPECT_EQ(view.offload().flags, 1u);
}

TEST_F(NetbufTest, FlagsAreKept) {
    nb->setFlags(Netbuf::kMarkedForBuffering | Netbuf::kFirstUserFlag);
    EXPECT_EQ(nb->flags(), Netbuf::kMarkedForBuffering | Netbuf::kFirstUserFlag);
}

TEST_F(NetbufTest, SetFlagsCannotMakeAPoolNetbufLookWrapped) {
    nb->setFlags(Netbuf::kWrapped | Netbuf::kFirstUserFlag);
    EXPECT_EQ(nb->flags() & Netbuf::kWrapped, 0u);
    EXPECT_NE(nb->flags() & Netbuf::kFirstUserFlag, 0u);
    EXPECT_EQ(nb->pool(), pool.get());
}

// ---- wrapWithFreeCallback (nb_alloc_wrapper) ---------------------------------------------------

struct FreeRecord {
    int calls = 0;
    void* data = nullptr;
    std::uint32_t size = 0;
};

void recordFree(void* data, std::uint32_t size, void* context) {
    auto* record = static_cast<FreeRecord*>(context);
    record->calls++;
    record->data = data;
    record->size = size;
}

TEST(NetbufWrapper, WrapsCallerMemoryAsAFullPacket) {
    std::array<std::uint8_t, 100> memory{};
    memory[0] = 0xab;
    FreeRecord record;
    Netbuf* wrapped = Netbuf::wrapWithFreeCallback(memory.data(), 100, recordFree, &record);
    ASSERT_NE(wrapped, nullptr);
    EXPECT_EQ(wrapped->data(), memory.data());
    EXPECT_EQ(wrapped->size(), 100u);
    EXPECT_EQ(wrapped->headroom(), 0u);
    EXPECT_EQ(wrapped->tailroom(), 0u);
    EXPECT_EQ(wrapped->pool(), nullptr);
    EXPECT_NE(wrapped->flags() & Netbuf::kWrapped, 0u);
    wrapped->free();
}

TEST(NetbufWrapper, SetFlagsKeepsTheWrappedBit) {
    std::array<std::uint8_t, 16> memory{};
    FreeRecord record;
    Netbuf* wrapped = Netbuf::wrapWithFreeCallback(memory.data(), 16, recordFree, &record);
    ASSERT_NE(wrapped, nullptr);
    wrapped->setFlags(0);
    EXPECT_NE(wrapped->flags() & Netbuf::kWrapped, 0u);
    wrapped->free();
    EXPECT_EQ(record.calls, 1);
}

TEST(NetbufWrapper, FreeCallsTheCallbackOnceWithTheMemory) {
    std::array<std::uint8_t, 64> memory{};
    FreeRecord record;
    Netbuf* wrapped = Netbuf::wrapWithFreeCallback(memory.data(), 64, recordFree, &record);
    ASSERT_NE(wrapped, nullptr);
    ASSERT_EQ(wrapped->shrinkBottom(10), 0);  // the callback still gets the whole memory
    wrapped->free();
    EXPECT_EQ(record.calls, 1);
    EXPECT_EQ(record.data, memory.data());
    EXPECT_EQ(record.size, 64u);
}

TEST(NetbufWrapper, NullCallbackIsAllowed) {
    std::array<std::uint8_t, 16> memory{};
    Netbuf* wrapped = Netbuf::wrapWithFreeCallback(memory.data(), 16, nullptr, nullptr);
    ASSERT_NE(wrapped, nullptr);
    wrapped->free();  // nothing to call; must not crash or leak (ASan checks)
}

TEST(NetbufWrapper, BoundsChecksApplyToWrappedMemory) {
    std::array<std::uint8_t, 16> memory{};
    Netbuf* wrapped = Netbuf::wrapWithFreeCallback(memory.data(), 16, nullptr, nullptr);
    ASSERT_NE(wrapped, nullptr);
    EXPECT_EQ(wrapped->growTop(1), ERANGE);
    EXPECT_EQ(wrapped->growBottom(1), ERANGE);
    EXPECT_EQ(wrapped->write(10, "0123456789", 10), ERANGE);
    EXPECT_EQ(wrapped->size(), 16u);
    wrapped->free();
}

}  // namespace
}  // namespace nexnet
