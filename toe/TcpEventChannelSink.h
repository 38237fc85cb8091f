#pragma once
/// @file TcpEventChannelSink.h
/// @brief TcpEventChannelSink: the TCP offload engine's completions as events of an event channel.

#include "sio/ec.h"
#include "toe/TcpCompletionSink.h"

#include <cstdint>

namespace nexnet {

/// Delivers the TCP offload engine's completions (seed claims 1, 8, 9: "a completion ... on an
/// event channel") to an event channel of the asynchronous I/O layer (sio/ec.h, Drepper's ec_*),
/// so that one ec_next_events call takes them beside aio, ev_* and sio events. Give it to the
/// engine as TcpOffloadEngine::Options::sink.
///
/// Each completion becomes one event: ev_type event_type_tcp_recv (a receive buffer) or
/// event_type_tcp_send (a send buffer), ev_un.ev_tcp the connection's TcpOffloadHandle value,
/// ev_data the buffer (NULL for a completion without one: ev_errno EOPNOTSUPP asks for a
/// hand-back), ev_result the bytes placed or acknowledged, ev_errno the completion's error (bytes
/// may come with an error: a reset after some were placed). When a receive completion ends the
/// stream, one more event_type_tcp_recv with ev_data NULL and ev_result 0 follows it, as recv()
/// returns 0 at the end. The caller's cookie is not carried: the buffer names the posting.
///
/// Threads: complete() on the engine's thread (the interface's); the channel is read on any.
/// Never blocks; one ec_post per event (a buffer's completion, not a segment's). A full channel
/// loses the event the way ec.h says (an overflow event, ec_lost); lost() counts them too.
/// Ownership: the channel stays the caller's and must outlive the engine's use of this sink.
class TcpEventChannelSink : public TcpCompletionSink {
public:
    /// A sink posting to @p channel (from ec_create, or EventChannel::get()).
    explicit TcpEventChannelSink(ec_t channel) : channel_(channel) {}

    /// Posts @p completion's event(s). On the engine's thread; never blocks.
    void complete(const TcpCompletion& completion) override;

    /// Events posted to the channel. The engine's thread.
    std::uint64_t posted() const { return posted_; }
    /// Events the channel refused (full, or destroyed under the engine). The engine's thread.
    std::uint64_t lost() const { return lost_; }

private:
    void post(const event_data_t& event);

    ec_t channel_;
    std::uint64_t posted_ = 0;
    std::uint64_t lost_ = 0;
};

}  // namespace nexnet
