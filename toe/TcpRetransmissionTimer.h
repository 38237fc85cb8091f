#pragma once
/// @file TcpRetransmissionTimer.h
/// @brief TcpRetransmissionTimer: the RFC 6298 round-trip estimator and retransmission timeout.

#include <cstdint>

namespace nexnet {

/// The bounds of a TcpRetransmissionTimer and its start, in microseconds.
struct TcpRetransmissionLimits {
    std::uint32_t minimumUs = 200'000;      ///< The RTO's floor (Linux's TCP_RTO_MIN).
    std::uint32_t maximumUs = 120'000'000;  ///< The RTO's ceiling, backed off included.
    std::uint32_t initialUs = 1'000'000;    ///< The RTO before any sample (RFC 6298 rule 2.1).
    std::uint32_t granularityUs = 10'000;   ///< G: the period of the timer that checks expiry.
};

/// Computes a connection's retransmission timeout (RTO) as RFC 6298 section 2 says: SRTT and
/// RTTVAR from round-trip samples (alpha 1/8, beta 1/4, K 4), RTO = SRTT + max(G, 4 RTTVAR),
/// bounded below and above, doubled on each expiry (section 5.5) until a new sample (Karn's rule
/// is the caller's: it samples only segments sent once, or uses timestamps, RFC 7323 section 4).
///
/// The minimum is Linux's 200 ms (TCP_RTO_MIN), not RFC 6298's 1 s (rule 2.4, a SHOULD): the
/// connection was the Linux kernel's until the hand-off and its peer expects the kernel's timing;
/// RFC 8961 section 4 allows a lower floor, and 1 s would make every tail loss cost five times
/// what it costs the kernel. The maximum is Linux's 120 s (TCP_RTO_MAX; RFC 6298 2.5 asks at
/// least 60 s). A plain value used on the interface's thread; every time in microseconds.
class TcpRetransmissionTimer {
public:
    /// The bounds and the start (TcpRetransmissionLimits).
    using Limits = TcpRetransmissionLimits;

    /// An estimator with no sample yet: rto() is Limits::initialUs.
    explicit TcpRetransmissionTimer(Limits limits = Limits{}) : limits_(limits) {}

    /// Continues an estimate made elsewhere (the kernel's tcp_info at the hand-off): as if samples
    /// had given @p smoothedUs and @p varianceUs. Zero @p smoothedUs changes nothing.
    void seed(std::uint32_t smoothedUs, std::uint32_t varianceUs);
    /// Takes one round-trip sample (rules 2.2 and 2.3) and ends the back-off.
    void sample(std::uint32_t rttUs);
    /// The timer expired: doubles the RTO (rule 5.5), up to the maximum.
    void backOff();
    /// The timeout to arm now: the computed RTO, backed off, within the limits.
    std::uint32_t rto() const;
    /// SRTT (0 before a sample).
    std::uint32_t smoothed() const { return smoothed_; }
    /// RTTVAR (0 before a sample).
    std::uint32_t variance() const { return variance_; }
    /// True once a sample (or a seed) was taken.
    bool hasEstimate() const { return smoothed_ != 0; }
    /// Expiries since the last sample.
    unsigned backOffs() const { return backOffs_; }

private:
    Limits limits_;
    std::uint32_t smoothed_ = 0;
    std::uint32_t variance_ = 0;
    unsigned backOffs_ = 0;
};

}  // namespace nexnet
