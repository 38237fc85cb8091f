#pragma once
/// @file TcpCongestionControl.h
/// @brief TcpCongestionControl: NewReno congestion control (RFC 5681, RFC 6582), with the SACK
/// variant of loss recovery (RFC 6675).

#include <cstdint>

namespace nexnet {

/// The congestion window of one connection and the decisions that move it, without timers or
/// segments: the caller (TcpControlBlock) reports acknowledgments, duplicate acknowledgments and
/// timeouts, and does what the answer says (retransmit the first unacknowledged segment).
///
/// - Slow start and congestion avoidance (RFC 5681 section 3.1): below ssthresh cwnd grows by
///   the bytes acknowledged, at most 2 SMSS per ACK (RFC 3465's L, as delayed ACKs halve the ACK
///   count); above it by one SMSS per cwnd of bytes acknowledged (byte counting).
/// - Fast retransmit on the third duplicate ACK (or when the SACK scoreboard says the first
///   segment is lost, RFC 6675 section 5), not again before `recover` is acknowledged (RFC 6582
///   section 3.2 step 2): ssthresh = max(FlightSize / 2, 2 SMSS).
/// - Fast recovery, NewReno: cwnd = ssthresh + 3 SMSS, inflated by one SMSS per further duplicate
///   ACK; a partial ACK retransmits the next hole and deflates cwnd by what it acknowledged (plus
///   one SMSS back when that was at least one); the full ACK sets cwnd = min(ssthresh, FlightSize
///   + SMSS). With SACK (sack(true)): cwnd = ssthresh for the episode, and the caller sends while
///   pipe + SMSS <= cwnd (RFC 6675's SetPipe and NextSeg are TcpSackScoreboard's).
/// - Timeout (RFC 5681 section 3.1 equation 4): ssthresh as above, cwnd = 1 SMSS, recovery ends
///   and `recover` moves to the highest sequence sent (RFC 6582 section 4).
///
/// Byte counts; sequence numbers modulo 2^32. A plain value on the interface's thread.
class TcpCongestionControl {
public:
    /// What the caller must do after an event.
    enum class Response : std::uint8_t {
        none,             ///< Nothing beyond sending what the window allows.
        fastRetransmit,   ///< Recovery began: retransmit the first unacknowledged segment now.
        retransmitFirst,  ///< A partial ACK in recovery: retransmit the first unacknowledged segment.
        recovered,        ///< The full ACK: recovery ended.
    };
    /// Duplicate ACKs that mean a loss (RFC 5681's DupThresh).
    static constexpr unsigned kDuplicateThreshold = 3;

    /// Starts with @p window bytes of cwnd and @p threshold of ssthresh (the kernel's at the
    /// hand-off; 0 for RFC 5681's initial values: IW of RFC 6928's 10 segments, ssthresh unlimited).
    TcpCongestionControl(std::uint32_t mss, std::uint32_t window = 0, std::uint32_t threshold = 0);

    /// Uses RFC 6675's recovery (the connection negotiated SACK) rather than NewReno's inflation.
    void sack(bool on) { sack_ = on; }
    /// New data acknowledged: @p acknowledgment the new SND.UNA, @p acknowledged the bytes it
    /// covered, @p flight the bytes still outstanding after it, @p flightBefore before it. cwnd
    /// grows only while it limits the sender (RFC 7661: a flight under half of it does not
    /// validate it), so a window the application never fills does not grow without bound.
    Response acknowledged(std::uint32_t acknowledgment, std::uint32_t acknowledged, std::uint32_t flight,
                          std::uint32_t flightBefore);
    /// A duplicate ACK (RFC 5681 section 2) for SND.UNA @p acknowledgment with @p flight bytes
    /// outstanding and @p highData the sequence after the highest sent; @p lostBySack when the
    /// SACK scoreboard already counts the first segment lost.
    Response duplicate(std::uint32_t acknowledgment, std::uint32_t flight, std::uint32_t highData, bool lostBySack);
    /// The retransmission timer expired with @p flight bytes outstanding, @p highData as above.
    void timeout(std::uint32_t flight, std::uint32_t highData);

    /// cwnd, in bytes.
    std::uint32_t window() const { return window_; }
    /// ssthresh, in bytes.
    std::uint32_t threshold() const { return threshold_; }
    /// True during fast recovery.
    bool inRecovery() const { return inRecovery_; }
    /// The sequence whose acknowledgment ends the recovery (RFC 6582's recover).
    std::uint32_t recoveryPoint() const { return recover_; }
    /// Duplicate ACKs in a row.
    unsigned duplicates() const { return duplicates_; }
    /// The segment size the window counts in.
    std::uint32_t mss() const { return mss_; }

private:
    std::uint32_t halved(std::uint32_t flight) const;

    std::uint32_t mss_;
    std::uint32_t window_;
    std::uint32_t threshold_;
    std::uint32_t recover_ = 0;
    bool recoverValid_ = false;
    std::uint32_t counted_ = 0;  // bytes acknowledged toward the next SMSS in congestion avoidance
    unsigned duplicates_ = 0;
    bool inRecovery_ = false;
    bool sack_ = false;
};

}  // namespace nexnet
