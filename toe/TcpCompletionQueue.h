#pragma once
/// @file TcpCompletionQueue.h
/// @brief TcpCompletionQueue: the TCP offload engine's completions, in order, with an eventfd.

#include "netbuf/Result.h"
#include "toe/TcpCompletion.h"
#include "toe/TcpCompletionSink.h"

#include <memory>
#include <vector>

namespace nexnet {

/// The default TcpCompletionSink: a ring of completions the application takes in bursts, and an
/// eventfd that is readable while the ring holds any (watch it with EventLoop::watchReadable,
/// poll or epoll). It stands in for the event channels of the asynchronous I/O layer until those
/// are merged; a channel then replaces it through TcpCompletionSink without the engine changing.
///
/// Threads: the engine and the application use it on the interface's thread (the engine's);
/// the eventfd may be waited on anywhere. Nothing is lost: the ring starts with the capacity
/// asked and grows (an allocation, off the fast path) if the application leaves more completions
/// untaken than that.
class TcpCompletionQueue : public TcpCompletionSink {
public:
    /// Makes a queue with room for @p capacity completions before it grows.
    /// Errors: the eventfd's (EMFILE, ENFILE, ENOMEM).
    static Result<std::unique_ptr<TcpCompletionQueue>> create(unsigned capacity = 1024);
    /// Closes the eventfd. Completions still queued are dropped with it.
    ~TcpCompletionQueue() override;
    TcpCompletionQueue(const TcpCompletionQueue&) = delete;
    TcpCompletionQueue& operator=(const TcpCompletionQueue&) = delete;

    /// Appends @p completion and makes the eventfd readable. Called by the engine.
    void complete(const TcpCompletion& completion) override;
    /// Moves up to @p max completions, oldest first, to @p out; the eventfd stops being readable
    /// once the queue is empty. Never blocks. @return how many were taken.
    unsigned take(TcpCompletion* out, unsigned max);
    /// Completions waiting.
    std::size_t size() const { return count_; }
    /// The descriptor that is readable while completions wait (owned by the queue).
    int fd() const { return eventFd_; }

private:
    TcpCompletionQueue(int eventFd, unsigned capacity);
    void grow();

    int eventFd_;
    std::vector<TcpCompletion> ring_;
    std::size_t head_ = 0;  // the oldest completion
    std::size_t count_ = 0;
};

}  // namespace nexnet
