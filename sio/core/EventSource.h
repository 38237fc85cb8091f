#pragma once
/// @file EventSource.h
/// @brief EventSource: something that finishes requests for event channels (a socket's
/// transport), driven by the threads that take events.

#include <cstdint>

namespace nexnet::sio {

class Channel;

/// Finishes requests that report to event channels. A Channel keeps a list of the sources
/// that have requests for it; a thread taking events from the channel, finding its queue
/// empty, asks each source to deliver: to post the events of requests that finished (an
/// io_uring completion ring read without a system call, a non-blocking recvmmsg, ...).
class EventSource {
public:
    virtual ~EventSource() = default;

    /// Posts into @p channel the events that are ready for it (Channel::post), receives only
    /// while the channel has room (Channel::room). Called by any thread taking events from
    /// @p channel, possibly by several at once; never blocks.
    virtual void deliver(Channel& channel) = 0;
};

/// Asks the source named by @p sourceHandle (a socket's handle) to deliver to @p channel.
/// @return false when no such source exists any more (the channel then forgets it).
/// Defined by the layer that owns the sources (sio/Sockets.cpp).
bool deliverFrom(std::uintptr_t sourceHandle, Channel& channel);

}  // namespace nexnet::sio
