#pragma once
/// @file EventChannel.h
/// @brief EventChannel: an event channel (ec.h) for C++, destroyed with its owner.

#include "netbuf/Result.h"
#include "sio/ec.h"

#include <cerrno>
#include <span>
#include <utility>
#include <vector>

namespace nexnet {

/// Owns an ec_t: ec_create on create(), ec_destroy when it goes. Movable, not copyable.
///
/// @code
///   auto channel = nexnet::EventChannel::create();
///   event_data_t events[64];
///   auto n = channel->take(events, -1);
/// @endcode
/// Thread-safe as the C calls are (any thread may post to it and take from it).
class EventChannel {
public:
    /// ec_create_sized(@p flags, @p capacity). Errors: as ec_create (sio_last_error says why).
    static Result<EventChannel> create(unsigned flags = 0, unsigned capacity = EC_DEFAULT_CAPACITY) {
        ec_t ec = ec_create_sized(flags, capacity);
        if (ec == nullptr) return Result<EventChannel>::failure(errno);
        return EventChannel(ec);
    }
    /// No channel.
    EventChannel() = default;
    /// Takes over @p other's channel.
    EventChannel(EventChannel&& other) noexcept : ec_(std::exchange(other.ec_, nullptr)) {}
    /// Destroys its channel, takes over @p other's.
    EventChannel& operator=(EventChannel&& other) noexcept {
        if (this != &other) {
            reset();
            ec_ = std::exchange(other.ec_, nullptr);
        }
        return *this;
    }
    EventChannel(const EventChannel&) = delete;
    EventChannel& operator=(const EventChannel&) = delete;
    /// ec_destroy (a channel with I/O requests pending stays; their events go nowhere: cancel
    /// them first).
    ~EventChannel() { reset(); }

    /// The channel, for the C calls (sigev_ec, ev_* calls, sem_await, ...).
    ec_t get() const { return ec_; }
    /// ec_to_fd: for poll/epoll/select.
    int fd() const { return ec_to_fd(ec_); }

    /// ec_next_events: up to out.size() events, waiting up to @p timeoutMs for the first (-1:
    /// no limit, 0: none). @return how many (0 after the timeout), or EINTR/EBADF.
    Result<std::size_t> take(std::span<event_data_t> out, int timeoutMs) {
        int n = ec_next_events(ec_, out.data(), static_cast<int>(out.size()), timeoutMs);
        if (n < 0) return Result<std::size_t>::failure(errno);
        return static_cast<std::size_t>(n);
    }

    /// ec_lost: the events lost since the last call (up to the channel's capacity of them).
    std::vector<event_data_t> lost() {
        std::vector<event_data_t> all;
        event_data_t batch[64];
        int n;
        while ((n = ec_lost(ec_, batch, 64)) > 0) all.insert(all.end(), batch, batch + n);
        return all;
    }

private:
    explicit EventChannel(ec_t ec) : ec_(ec) {}
    void reset() {
        if (ec_ != nullptr) ec_destroy(ec_);
        ec_ = nullptr;
    }
    ec_t ec_ = nullptr;
};

}  // namespace nexnet
