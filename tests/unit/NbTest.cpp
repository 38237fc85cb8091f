// nb.h: NeXT's netbuf C API over Netbuf, checked from C++ and from a C file compiled as C.
#include "netbuf/Netbuf.h"
#include "netbuf/NetbufPool.h"
#include "netbuf/nb.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

extern "C" {
int nb_c_alloc_write_read_free(void);
int nb_c_bounds_are_checked(void);
int nb_c_grow_and_shrink(void);
int nb_c_wrapper_calls_its_free_function_once(void);
int nb_c_null_is_harmless(void);
int nb_c_too_big_is_null(void);
}

namespace {

// ---- from C (the return value is the failing line of NbTestFromC.c, 0 when all held) --------

TEST(NbFromC, AllocWriteReadFree) { EXPECT_EQ(nb_c_alloc_write_read_free(), 0); }
TEST(NbFromC, BoundsAreChecked) { EXPECT_EQ(nb_c_bounds_are_checked(), 0); }
TEST(NbFromC, GrowAndShrink) { EXPECT_EQ(nb_c_grow_and_shrink(), 0); }
TEST(NbFromC, WrapperCallsItsFreeFunctionOnce) { EXPECT_EQ(nb_c_wrapper_calls_its_free_function_once(), 0); }
TEST(NbFromC, NullIsHarmless) { EXPECT_EQ(nb_c_null_is_harmless(), 0); }
TEST(NbFromC, TooBigIsNull) { EXPECT_EQ(nb_c_too_big_is_null(), 0); }

// ---- from C++ --------------------------------------------------------------------------------

TEST(Nb, AllocComesFromTheDefaultPoolAndFreeReturnsIt) {
    netbuf_t nb = nb_alloc(100);
    ASSERT_NE(nb, nullptr);
    nexnet::NetbufPool* pool = nb->pool();  // netbuf_t is a Netbuf * in C++
    ASSERT_NE(pool, nullptr);
    std::uint32_t before = pool->inUse();
    nb_free(nb);
    EXPECT_EQ(pool->inUse(), before - 1);
}

TEST(Nb, AllocOfZeroBytesIsAnEmptyNetbuf) {
    netbuf_t nb = nb_alloc(0);
    ASSERT_NE(nb, nullptr);
    EXPECT_EQ(nb_size(nb), 0u);
    nb_free(nb);
}

TEST(Nb, AllocOfTheWholeDataRoomWorksAndOneMoreIsNull) {
    netbuf_t nb = nb_alloc(2048);
    ASSERT_NE(nb, nullptr);
    EXPECT_EQ(nb_size(nb), 2048u);
    nexnet::NetbufPool* pool = nb->pool();
    std::uint32_t inUse = pool->inUse();
    EXPECT_EQ(nb_alloc(2049), nullptr);
    EXPECT_EQ(pool->inUse(), inUse);  // the refused request took nothing
    nb_free(nb);
}

TEST(Nb, AllocIsNullWhenThePoolIsExhausted) {
    std::vector<netbuf_t> all;
    while (netbuf_t nb = nb_alloc(60)) {
        all.push_back(nb);
        ASSERT_LT(all.size(), 100000u);
    }
    EXPECT_FALSE(all.empty());
    EXPECT_EQ(nb_alloc(60), nullptr);
    for (netbuf_t nb : all) nb_free(nb);
    netbuf_t again = nb_alloc(60);
    EXPECT_NE(again, nullptr);
    nb_free(again);
}

TEST(Nb, AllocatedNetbufsHaveHeadroomForHeaders) {
    netbuf_t nb = nb_alloc(46);
    ASSERT_NE(nb, nullptr);
    EXPECT_EQ(nb_grow_top(nb, 14), 0);
    EXPECT_EQ(nb_size(nb), 60u);
    nb_free(nb);
}

TEST(Nb, ReadAndWriteReturnMinusOneOutsideTheData) {
    netbuf_t nb = nb_alloc(8);
    ASSERT_NE(nb, nullptr);
    char buffer[16] = {};
    EXPECT_EQ(nb_write(nb, 0, 8, "abcdefgh"), 0);
    EXPECT_EQ(nb_read(nb, 4, 4, buffer), 0);
    EXPECT_EQ(std::memcmp(buffer, "efgh", 4), 0);
    EXPECT_EQ(nb_read(nb, 4, 5, buffer), -1);
    EXPECT_EQ(nb_write(nb, 8, 1, "x"), -1);
    EXPECT_EQ(nb_read(nb, 0, 1, nullptr), -1);
    EXPECT_EQ(nb_write(nb, 0, 1, nullptr), -1);
    nb_free(nb);
}

TEST(Nb, WrapperWithANullFreeFunctionIsFine) {
    static char memory[8];
    netbuf_t nb = nb_alloc_wrapper(memory, sizeof memory, nullptr, nullptr);
    ASSERT_NE(nb, nullptr);
    EXPECT_EQ(nb_map(nb), memory);
    nb_free(nb);  // ASan: the adapter is freed too
}

TEST(Nb, ANetbufFromAPoolCanBeUsedThroughNb) {
    auto pool = nexnet::NetbufPool::create(4u);
    ASSERT_TRUE(pool.ok());
    netbuf_t nb = pool.value()->allocate();
    ASSERT_EQ(nb_grow_bot(nb, 3), 0);
    EXPECT_EQ(nb_size(nb), 3u);
    nb_free(nb);
    EXPECT_EQ(pool.value()->inUse(), 0u);
}

}  // namespace
