#include "toe/TcpCongestionControl.h"

#include "toe/TcpSequence.h"

#include <algorithm>

namespace nexnet {

namespace {
constexpr std::uint32_t kWindowCeiling = 1u << 30;  // the most a scaled window can offer (RFC 7323)
}

TcpCongestionControl::TcpCongestionControl(std::uint32_t mss, std::uint32_t window, std::uint32_t threshold)
    : mss_(std::max<std::uint32_t>(mss, 1)),
      window_(window != 0 ? window : 10 * mss_),
      threshold_(threshold != 0 ? threshold : kWindowCeiling) {}

std::uint32_t TcpCongestionControl::halved(std::uint32_t flight) const { return std::max(flight / 2, 2 * mss_); }

TcpCongestionControl::Response TcpCongestionControl::acknowledged(std::uint32_t acknowledgment,
                                                                  std::uint32_t acknowledged, std::uint32_t flight,
                                                                  std::uint32_t flightBefore) {
    if (inRecovery_) {
        if (sequenceAtOrBefore(recover_, acknowledgment)) {  // the full ACK (RFC 6582 step 3, option 1)
            inRecovery_ = false;
            duplicates_ = 0;
            window_ = sack_ ? threshold_ : std::min(threshold_, std::max(flight, mss_) + mss_);
            counted_ = 0;
            return Response::recovered;
        }
        // A partial ACK (RFC 6582 step 4): the next hole was lost too.
        if (!sack_) {
            window_ = window_ > acknowledged ? window_ - acknowledged : mss_;
            if (acknowledged >= mss_) window_ += mss_;
            window_ = std::max(window_, mss_);
        }
        return Response::retransmitFirst;
    }
    duplicates_ = 0;
    if (std::uint64_t{flightBefore} * 2 < window_) return Response::none;  // not cwnd-limited
    if (window_ < threshold_) {
        window_ += std::min(acknowledged, 2 * mss_);  // slow start, RFC 3465's L = 2 SMSS
    } else {
        counted_ += acknowledged;  // congestion avoidance by byte counting
        if (counted_ >= window_) {
            counted_ -= window_;
            window_ += mss_;
        }
    }
    window_ = std::min(window_, kWindowCeiling);
    return Response::none;
}

TcpCongestionControl::Response TcpCongestionControl::duplicate(std::uint32_t acknowledgment, std::uint32_t flight,
                                                               std::uint32_t highData, bool lostBySack) {
    if (inRecovery_) {
        if (!sack_) window_ += mss_;  // NewReno: each duplicate means a segment left the network
        return Response::none;
    }
    ++duplicates_;
    if (duplicates_ < kDuplicateThreshold && !(sack_ && lostBySack)) return Response::none;
    // RFC 6582 step 2: no second fast retransmit for losses of the window already recovered.
    if (recoverValid_ && sequenceBefore(acknowledgment, recover_)) return Response::none;
    threshold_ = halved(flight);
    window_ = sack_ ? threshold_ : threshold_ + kDuplicateThreshold * mss_;
    recover_ = highData;
    recoverValid_ = true;
    inRecovery_ = true;
    counted_ = 0;
    return Response::fastRetransmit;
}

void TcpCongestionControl::timeout(std::uint32_t flight, std::uint32_t highData) {
    threshold_ = halved(flight);
    window_ = mss_;  // the loss window
    inRecovery_ = false;
    duplicates_ = 0;
    counted_ = 0;
    recover_ = highData;
    recoverValid_ = true;
}

}  // namespace nexnet
