#pragma once
/// @file TcpControlBlock.h
/// @brief TcpControlBlock: one offloaded connection's TCP state and receive placement.

#include "toe/TcpConnectionState.h"
#include "toe/TcpConnectionStatistics.h"
#include "toe/TcpOffloadHandle.h"
#include "toe/TcpCongestionControl.h"
#include "toe/TcpReassemblyQueue.h"
#include "toe/TcpRetransmissionTimer.h"
#include "toe/TcpSackScoreboard.h"
#include "toe/TcpSendQueue.h"

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
/// Send side (claim 9, TcpControlBlockSend.cpp): a TcpSendQueue holds the kernel's unacknowledged
/// and unsent bytes (first) and the application's posted send buffers; segments of at most the
/// MSS are cut from it within the peer's window and the congestion window (TcpCongestionControl:
/// NewReno, SACK recovery when negotiated, TcpSackScoreboard), retransmitted on the RFC 6298
/// timer (TcpRetransmissionTimer) or three duplicate ACKs; a zero window is probed with back-off;
/// keepalives go out when the kernel socket had SO_KEEPALIVE; shutdownSend() queues our FIN after
/// the data. A send buffer completes when the peer acknowledged its last byte.
/// @verbatim
///   SND.UNA (sendQueue start)   sendNext (go-back after a timeout)   sendMax          queue end [FIN]
///     |<----- sent, unacknowledged ------------------------------------>|<-- not yet sent -->|
/// @endverbatim
/// What the engine does not carry (urgent data, an option that changes how segments are read)
/// stops the connection in Phase::handBackPending: nothing more is accepted or sent, and the
/// application is told (EOPNOTSUPP) to hand it back (claim 14). Threads: the interface's thread
/// only; every time in microseconds of CLOCK_MONOTONIC.
class TcpControlBlock {
public:
    /// Where the connection is.
    enum class Phase : std::uint8_t {
        established,      ///< Data flows.
        peerClosed,       ///< The peer's FIN arrived (CLOSE-WAIT): no more data comes.
        lastAck,          ///< Our FIN queued after the peer's (LAST-ACK).
        closed,           ///< Our FIN was acknowledged after the peer's, or we reset: nothing more to do.
        reset,            ///< The peer reset the connection.
        finWait1,         ///< Our FIN queued first (FIN-WAIT-1): the peer may still send.
        finWait2,         ///< Our FIN acknowledged, the peer's not come (FIN-WAIT-2).
        closing,          ///< Both FINs, ours not yet acknowledged (CLOSING).
        timeWait,         ///< Both FINs acknowledged, ours first (TIME-WAIT): a lost last ACK is answered.
        handBackPending,  ///< Met what only the kernel carries: waits for handBack(), accepts nothing.
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
    /// Queues @p length bytes at @p buffer to send; the buffer stays the engine's until its
    /// completion (send true). Sends what the windows allow at once.
    /// @return 0, EINVAL (empty), ENOBUFS (TcpSendQueue::kMaxPosted queued), EPIPE (our FIN queued,
    /// or the connection ended or waits for hand-back).
    int postSend(const std::uint8_t* buffer, std::size_t length, std::uint64_t cookie);
    /// Queues our FIN after the data queued (shutdown(SHUT_WR)): FIN-WAIT-1, or LAST-ACK after the
    /// peer's FIN. @return 0 (also when already queued), EPIPE when the connection ended.
    int shutdownSend();
    /// Ends the connection: after shutdownSend() or the peer's FIN, our FIN goes after the data and
    /// the connection ends when both are acknowledged (data arriving afterwards is answered with
    /// RST, as the kernel does for a closed socket); otherwise sends RST (an abort, as close() with
    /// unread data). Receive buffers complete with what they hold (ECANCELED when empty).
    void close();
    /// Sends what the peer's window, the congestion window and the queue allow (at most a burst).
    void transmit();
    /// The engine's timer (@p nowUs monotonic): retransmission timeout, zero-window probes,
    /// keepalives, TIME-WAIT's end.
    void tick(std::uint64_t nowUs);
    /// Why the engine asked for a hand-back (none if it did not).
    TcpHandBackReason handBackReason() const { return statistics_.handBackReason; }
    /// The state to restore into a new kernel socket: posted receive buffers complete first (with
    /// what they hold, ECANCELED when empty), unplaced in-order bytes become the receive queue, held
    /// out-of-order bytes are dropped (never acknowledged: the peer sends them again); every byte
    /// queued to send (the send buffers complete: the kernel owns a copy) becomes the kernel's send
    /// queue, what was never sent marked unsent.
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
    bool receiving() const {
        return phase_ == Phase::established || phase_ == Phase::finWait1 || phase_ == Phase::finWait2;
    }
    bool needsKernel(const TcpView& tcp);
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

    // send (TcpControlBlockSend.cpp)
    void acknowledgment(const TcpView& tcp, const TcpOptions& options, std::uint64_t nowUs);
    void ourFinAcknowledged();
    bool sendOne(std::uint64_t nowUs);
    bool sendNew(std::uint64_t nowUs, std::uint32_t congestionRoom);
    bool retransmit(std::uint32_t sequence, std::uint32_t length);
    std::uint32_t segmentSize() const;
    void armTimers(std::uint64_t nowUs);
    void retransmissionTimeout();
    void keepaliveTimer(std::uint64_t nowUs);
    void sendProbe() { sendSegment(0x10, sendUnacknowledged_ - 1); }  // an old sequence: the peer answers with an ACK
    void abort(int error);
    void completeSends(int error);
    void requestHandBack(TcpHandBackReason reason);
    void updateSendStatistics();
    bool finSent() const { return finQueued_ && sendMax_ == sendQueue_.end() + 1; }

    // output
    std::uint32_t window();
    bool sendSegment(std::uint8_t flags, std::uint32_t sequence, std::uint32_t length = 0);
    void sendAck() { sendSegment(0x10, sendMax_); }  // SND.MAX: never behind what the peer has seen
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
    std::uint32_t sendWindowAck_;     // snd_wl2
    std::int64_t timestampOffset_ = 0;
    std::uint32_t timestampRecent_ = 0;
    bool timestampRecentValid_ = false;

    TcpSendQueue sendQueue_;
    TcpRetransmissionTimer rto_;
    TcpCongestionControl congestion_;
    TcpSackScoreboard scoreboard_;
    std::uint32_t sendMax_;            // after the highest sequence sent (SND.MAX)
    std::uint32_t highRetransmitted_;  // RFC 6675's HighRxt: after the highest byte retransmitted
    bool finQueued_ = false;           // our FIN follows the queue's last byte
    bool orphaned_ = false;            // close() after our FIN: the application reads no more
    bool timing_ = false;              // an RTT sample without timestamps (Karn: first sends only)
    std::uint32_t timedSequence_ = 0;
    std::uint64_t timedAt_ = 0;
    std::uint64_t retransmitAt_ = 0;  // 0: the retransmission timer is off
    std::uint64_t persistAt_ = 0;     // 0: the persist timer is off
    unsigned persistBackOffs_ = 0;
    unsigned consecutiveTimeouts_ = 0;
    std::uint64_t lastReceived_ = 0;  // for keepalive
    unsigned keepaliveProbes_ = 0;    // unanswered
    std::uint64_t timeWaitEnds_ = 0;

    TcpConnectionStatistics statistics_;
};

}  // namespace nexnet
