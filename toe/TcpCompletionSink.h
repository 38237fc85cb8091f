#pragma once
/// @file TcpCompletionSink.h
/// @brief TcpCompletionSink: where the TCP offload engine delivers its completions.

namespace nexnet {

struct TcpCompletion;

/// What receives the TCP offload engine's completions: its own TcpCompletionQueue by default, or
/// an event channel of the asynchronous I/O layer (sio/, Drepper's ec_*), which implements this
/// one call to put the completion in its event buffer and signal its descriptor.
///
/// The engine calls complete() on the interface's thread, at most once per posted buffer, in the
/// order the connection's buffers were posted; it must not block. The completion names the
/// application's buffer, which is the application's again from this call on.
class TcpCompletionSink {
public:
    virtual ~TcpCompletionSink() = default;
    /// Takes one completion. Must not block and must not call back into the engine.
    virtual void complete(const TcpCompletion& completion) = 0;
};

}  // namespace nexnet
