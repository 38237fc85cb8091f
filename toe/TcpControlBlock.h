#pragma once
/// @file TcpControlBlock.h
/// @brief TcpControlBlock: one offloaded connection's TCP state and receive placement.

#include "toe/TcpConnectionState.h"
#include "toe/TcpConnectionStatistics.h"
#include "toe/TcpOffloadHandle.h"
#include "toe/TcpReassemblyQueue.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace nexnet {

class Netbuf;
class TcpCompletionSink;
class TcpSegmentOutput;
class TcpView;

/// The communication control block (CCB) of seed claim 20: everything the engine keeps for one
/// connection after TcpOffloadEngine::offload took it from the kernel, and what hand-back gives
/// back. The engine owns one per connection and drives it; applications never see it (they hold
/// the opaque TcpOffloadHandle).
///
/// Receive side (claims 1-4, 8, 13, 17): the application's posted buffers form a queue; payload
/// that arrives in order is copied straight from the received netbuf into the front buffer, free
/// of headers, and a buffer completes when full (or flushed, or at the end of the stream).
/// Sequence space:
/// @verbatim
///   placed          receiveNext                         advertised right edge
///     |<- held in order ->|<- gap, held out of order ... ->|
///     |  backlog (the kernel's unread queue) first, then the reassembly queue
/// @endverbatim
/// Everything before receiveNext is acknowledged; the window advertised is the posted room not
/// yet spoken for (claim 13: the count of bytes the application accepted), never shrinking the
/// right edge already offered (RFC 9293 section 3.8.6.2.2).
///
/// Send side: the kernel's unacknowledged and unsent bytes are kept (trimmed as the peer
/// acknowledges them) and go back to the kernel at hand-back; this engine does not transmit data
/// yet. Threads: the interface's thread only.
class TcpControlBlock {
public:
    /// Where the connection is.
    enum class Phase : std::uint8_t {
        established,  ///< Data flows.
        peerClosed,   ///< The peer's FIN arrived (CLOSE-WAIT): no more data comes.
        lastAck,      ///< Our FIN went out after the peer's (LAST-ACK).
        closed,       ///< Our FIN was acknowledged, or we reset: nothing more to do.
        reset,        ///< The peer reset the connection.
    };
    /// Most buffers posted at once per connection.
    static constexpr unsigned kMaxPosted = 64;
    /// Most segments held in the reassembly queue.
    static constexpr unsigned kMaxHeld = 256;

    /// Takes over the connection @p state describes (its receive queue becomes the backlog placed
    /// first), named @p handle, with its kernel socket @p placeholder (in repair mode) kept open.
    /// Segments go out through @p output, completions to @p completions.
    TcpControlBlock(TcpConnectionState state, int placeholder, TcpOffloadHandle handle, TcpSegmentOutput& output,
                    TcpCompletionSink& completions);
    /// Closes the placeholder silently (TcpRepair::closeSilently) if still open.
    ~TcpControlBlock();
    TcpControlBlock(const TcpControlBlock&) = delete;
    TcpControlBlock& operator=(const TcpControlBlock&) = delete;

    /// True when a segment from @p sourceAddress:@p sourcePort to @p destinationAddress:@p
    /// destinationPort (network order, ports host order) belongs to the connection, seen from the
    /// peer (@p fromPeer) or from the kernel's side.
    bool matches(std::uint32_t sourceAddress, std::uint16_t sourcePort, std::uint32_t destinationAddress,
                 std::uint16_t destinationPort, bool fromPeer) const;

    /// Processes one received segment (checksum already checked); takes @p packet, whose payload
    /// @p tcp views. May place, complete, and send an ACK.
    void input(Netbuf* packet, const TcpView& tcp);
    /// The end of a receive burst: sends the ACK still owed.
    void finishInput();
    /// Queues @p length bytes at @p buffer for placement. @return 0, ENOBUFS (kMaxPosted posted),
    /// EINVAL (empty buffer), EPIPE after reset or close.
    int postReceive(std::uint8_t* buffer, std::size_t length, std::uint64_t cookie);
    /// Completes the front buffer with what it holds, if anything (claim 8). @return 0, or EAGAIN
    /// when no buffer is posted or it holds nothing.
    int flush();
    /// Ends the connection: after the peer's FIN, sends ours and waits for its ACK (LAST-ACK);
    /// before it, sends RST (an abort, as close() with unread data). Posted buffers complete with
    /// what they hold (ECANCELED when empty).
    void close();
    /// The engine's timer: retransmits our FIN while unacknowledged. @p nowMs monotonic.
    void tick(std::uint64_t nowMs);
    /// The state to restore into a new kernel socket: posted buffers complete first (with what
    /// they hold, ECANCELED when empty), unplaced in-order bytes become the receive queue, held
    /// out-of-order bytes are dropped (never acknowledged: the peer sends them again).
    TcpConnectionState handBackState();
    /// Takes the placeholder socket (the caller closes it); -1 afterwards.
    int releasePlaceholder();

    /// The connection's phase.
    Phase phase() const { return phase_; }
    /// The handle naming this connection.
    TcpOffloadHandle handle() const { return handle_; }
    /// The counters.
    const TcpConnectionStatistics& statistics() const { return statistics_; }
    /// The next sequence number expected from the peer.
    std::uint32_t receiveNext() const { return receiveNext_; }

private:
    struct Posted {
        std::uint8_t* buffer = nullptr;
        std::size_t length = 0;
        std::size_t filled = 0;
        std::uint64_t cookie = 0;
    };

    // receive (TcpControlBlockReceive.cpp)
    bool acceptable(const TcpView& tcp) const;
    void acknowledgment(const TcpView& tcp);
    void receivePayload(Netbuf* packet, std::uint32_t sequence, const std::uint8_t* data, std::uint32_t length);
    std::uint32_t place(const std::uint8_t* data, std::uint32_t length);
    void drain();
    void acceptFin();
    void peerReset();

    // posted buffers and completions
    std::uint64_t freeRoom() const;
    void complete(int error, bool endOfStream);
    void completeAll(int error, bool endOfStream);
    void deliverEndIfDue();

    // output
    std::uint32_t window();
    void sendSegment(std::uint8_t flags, std::uint32_t sequence);
    void sendAck() { sendSegment(0x10, sendNext_); }
    std::uint32_t timestampNow() const;

    TcpConnectionState state_;  // the captured state: addresses, options, the send queue
    int placeholder_;
    TcpOffloadHandle handle_;
    TcpSegmentOutput& output_;
    TcpCompletionSink& completions_;
    Phase phase_ = Phase::established;

    std::uint32_t placed_;           // the next byte to place
    std::uint32_t receiveNext_;      // the next byte expected
    std::uint32_t advertisedRight_;  // receiveNext + window, as last sent
    std::uint32_t windowUpdate_;     // receiveNext when advertisedRight_ was sent (rcv_wup)
    std::size_t backlogOffset_ = 0;  // into state_.receiveQueue: the kernel's unread bytes
    TcpReassemblyQueue held_{kMaxHeld};
    std::optional<std::uint32_t> finSequence_;
    bool endDelivered_ = false;
    std::uint32_t ackOwed_ = 0;  // bytes received since the last ACK

    std::array<Posted, kMaxPosted> posted_{};
    unsigned postedHead_ = 0, postedCount_ = 0;
    std::uint64_t room_ = 0;  // bytes still free in the posted buffers

    std::uint32_t sendUnacknowledged_, sendNext_;
    std::uint32_t sendWindowUpdate_;  // snd_wl1
    std::int64_t timestampOffset_ = 0;
    std::uint32_t timestampRecent_ = 0;
    bool timestampRecentValid_ = false;
    std::uint64_t finSentAt_ = 0;
    unsigned finRetransmissions_ = 0;

    TcpConnectionStatistics statistics_;
};

}  // namespace nexnet
