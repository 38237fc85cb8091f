// The sio C API from C (SioCApiTestFromC.c, compiled as C; the return value is the failing
// line, 0 when all held), and the C++ wrappers with RAII.
#include "sio/DmaMemory.h"
#include "sio/EventChannel.h"
#include "sio/SioDescriptor.h"
#include "sio/aio.h"
#include "support/LoopbackUdp.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

extern "C" {
int sio_c_sync_echo(void);
int sio_c_aio_on_a_channel(void);
int sio_c_glibc_names_still_reach_glibc(void);
int sio_c_semaphore_and_mutex_events(void);
}

namespace {

TEST(SioFromC, SyncEcho) { EXPECT_EQ(sio_c_sync_echo(), 0) << sio_last_error(); }
TEST(SioFromC, AioOnAChannel) { EXPECT_EQ(sio_c_aio_on_a_channel(), 0) << sio_last_error(); }
TEST(SioFromC, GlibcNamesStillReachGlibc) { EXPECT_EQ(sio_c_glibc_names_still_reach_glibc(), 0); }
TEST(SioFromC, SemaphoreAndMutexEvents) { EXPECT_EQ(sio_c_semaphore_and_mutex_events(), 0) << sio_last_error(); }

TEST(SioWrappers, EverythingIsReleasedInReverseOrderOfMaking) {
    auto memory = nexnet::DmaMemory::allocate(1 << 20);
    ASSERT_TRUE(memory) << sio_last_error();
    sockaddr_in serverAddress{}, clientAddress{};
    nexnet::SioDescriptor server(nexnet::test::loopbackUdpSocket(serverAddress));
    int client = nexnet::test::loopbackUdpSocket(clientAddress);
    {
        auto association = nexnet::DmaAssociation::make(server.fd(), *memory);
        ASSERT_TRUE(association) << sio_last_error();
        ASSERT_EQ(sendto(client, "wrapped", 7, 0, reinterpret_cast<sockaddr*>(&serverAddress), sizeof serverAddress),
                  7);
        sockaddr_in from{};
        socklen_t fromLength = sizeof from;
        auto received = server.receive(2048, 0, reinterpret_cast<sockaddr*>(&from), &fromLength);
        ASSERT_TRUE(received) << sio_last_error();
        EXPECT_EQ(received->size(), 7u);
        EXPECT_EQ(std::memcmp(received->data(), "wrapped", 7), 0);
        auto sent = server.send(*received, 7, 0, reinterpret_cast<sockaddr*>(&from), fromLength);
        ASSERT_TRUE(sent) << sio_last_error();
        auto reserved = memory->reserve(100);
        ASSERT_TRUE(reserved);
        EXPECT_LT(memory->info().di_free, (1u << 20) - 2 * 2048);
    }  // buffers released, association ended
    EXPECT_EQ(memory->info().di_free, 1u << 20);
    EXPECT_EQ(memory->info().di_associations, 0);
    char answer[16];
    EXPECT_EQ(recv(client, answer, sizeof answer, 0), 7);
    close(client);
}

TEST(SioWrappers, EventChannelTakesAndReportsLosses) {
    auto channel = nexnet::EventChannel::create(0, 4);
    ASSERT_TRUE(channel);
    EXPECT_GE(channel->fd(), 0);
    event_data_t events[4];
    auto none = channel->take(events, 0);
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, 0u);
    EXPECT_TRUE(channel->lost().empty());
    nexnet::EventChannel moved = std::move(*channel);
    EXPECT_NE(moved.get(), nullptr);
    EXPECT_EQ(channel->get(), nullptr);
    EXPECT_FALSE(nexnet::EventChannel::create(0x40));  // unknown flag
}

}  // namespace
