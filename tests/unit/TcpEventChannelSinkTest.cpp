// The TCP offload engine's completions as events of a Drepper event channel: what each
// completion becomes, the end of the stream as recv()'s 0, and a full channel's losses counted.
#include "sio/EventChannel.h"
#include "toe/TcpCompletion.h"
#include "toe/TcpEventChannelSink.h"

#include <gtest/gtest.h>

using namespace nexnet;

namespace {

TcpCompletion completionOf(std::uint64_t connection, std::uint8_t* buffer, std::size_t bytes) {
    TcpCompletion completion;
    completion.connection.value = connection;
    completion.buffer = buffer;
    completion.bytes = bytes;
    return completion;
}

TEST(TcpEventChannelSinkTest, AReceiveAndASendCompletionBecomeOneEventEach) {
    auto channel = EventChannel::create(EC_NONBLOCK);
    ASSERT_TRUE(channel);
    TcpEventChannelSink sink(channel->get());
    std::uint8_t received[16], sent[16];
    sink.complete(completionOf(7, received, 16));
    TcpCompletion send = completionOf(7, sent, 12);
    send.send = true;
    sink.complete(send);
    event_data_t events[4];
    auto n = channel->take(events, 0);
    ASSERT_TRUE(n);
    ASSERT_EQ(n.value(), 2u);
    EXPECT_EQ(events[0].ev_type, event_type_tcp_recv);
    EXPECT_EQ(events[0].ev_un.ev_tcp, 7u);
    EXPECT_EQ(events[0].ev_data, received);
    EXPECT_EQ(events[0].ev_result, 16);
    EXPECT_EQ(events[0].ev_errno, 0);
    EXPECT_EQ(events[1].ev_type, event_type_tcp_send);
    EXPECT_EQ(events[1].ev_data, sent);
    EXPECT_EQ(events[1].ev_result, 12);
    EXPECT_EQ(sink.posted(), 2u);
}

TEST(TcpEventChannelSinkTest, TheEndOfTheStreamIsAReceiveOfZeroBytesWithoutABuffer) {
    auto channel = EventChannel::create(EC_NONBLOCK);
    ASSERT_TRUE(channel);
    TcpEventChannelSink sink(channel->get());
    std::uint8_t buffer[16], empty[16];
    TcpCompletion last = completionOf(3, buffer, 5);
    last.endOfStream = true;
    sink.complete(last);  // bytes, then the end
    TcpCompletion endOnly = completionOf(3, empty, 0);
    endOnly.endOfStream = true;
    sink.complete(endOnly);  // the end alone: one event
    event_data_t events[4];
    auto n = channel->take(events, 0);
    ASSERT_TRUE(n);
    ASSERT_EQ(n.value(), 3u);
    EXPECT_EQ(events[0].ev_data, buffer);
    EXPECT_EQ(events[0].ev_result, 5);
    for (unsigned i : {1u, 2u}) {
        EXPECT_EQ(events[i].ev_type, event_type_tcp_recv);
        EXPECT_EQ(events[i].ev_data, nullptr);
        EXPECT_EQ(events[i].ev_result, 0);
        EXPECT_EQ(events[i].ev_un.ev_tcp, 3u);
    }
}

TEST(TcpEventChannelSinkTest, AnErrorKeepsTheBytesPlacedBeforeIt) {
    auto channel = EventChannel::create(EC_NONBLOCK);
    ASSERT_TRUE(channel);
    TcpEventChannelSink sink(channel->get());
    std::uint8_t buffer[16];
    TcpCompletion reset = completionOf(9, buffer, 4);
    reset.error = ECONNRESET;
    sink.complete(reset);
    event_data_t event{};
    ASSERT_EQ(ec_next_event(channel->get(), &event), 0);
    EXPECT_EQ(event.ev_errno, ECONNRESET);
    EXPECT_EQ(event.ev_result, 4);
}

TEST(TcpEventChannelSinkTest, AFullChannelLosesEventsCountedOnBothSides) {
    auto channel = EventChannel::create(EC_NONBLOCK, 4);
    ASSERT_TRUE(channel);
    TcpEventChannelSink sink(channel->get());
    std::uint8_t buffers[6][8];
    for (auto& buffer : buffers) sink.complete(completionOf(1, buffer, 8));
    EXPECT_EQ(sink.posted(), 4u);
    EXPECT_EQ(sink.lost(), 2u);
    std::vector<event_data_t> lost = channel->lost();
    ASSERT_EQ(lost.size(), 2u);
    EXPECT_EQ(lost[0].ev_data, buffers[4]);  // the channel lists what was lost, oldest first
    EXPECT_EQ(lost[1].ev_data, buffers[5]);
}

TEST(TcpEventChannelSinkTest, PostingRefusesNoChannelAndOverflowEvents) {
    auto channel = EventChannel::create(EC_NONBLOCK);
    ASSERT_TRUE(channel);
    event_data_t overflow{};
    overflow.ev_type = event_type_overflow;
    EXPECT_EQ(ec_post(channel->get(), &overflow), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(ec_post(channel->get(), nullptr), -1);
    EXPECT_EQ(errno, EINVAL);
    event_data_t event{};
    event.ev_type = event_type_tcp_recv;
    EXPECT_EQ(ec_post(reinterpret_cast<ec_t>(0x1234), &event), -1);
    EXPECT_EQ(errno, EBADF);
}

}  // namespace
