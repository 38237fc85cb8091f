#include "toe/TcpRetransmissionTimer.h"

#include <algorithm>

namespace nexnet {

void TcpRetransmissionTimer::seed(std::uint32_t smoothedUs, std::uint32_t varianceUs) {
    if (smoothedUs == 0) return;
    smoothed_ = smoothedUs;
    variance_ = varianceUs;
}

void TcpRetransmissionTimer::sample(std::uint32_t rttUs) {
    rttUs = std::max<std::uint32_t>(rttUs, 1);  // a zero sample would read as "no estimate"
    if (smoothed_ == 0) {                       // rule 2.2: the first measurement
        smoothed_ = rttUs;
        variance_ = rttUs / 2;
    } else {  // rule 2.3: RTTVAR first, with the SRTT before this sample
        std::uint32_t error = smoothed_ > rttUs ? smoothed_ - rttUs : rttUs - smoothed_;
        variance_ = static_cast<std::uint32_t>((3ull * variance_ + error) / 4);
        smoothed_ = static_cast<std::uint32_t>((7ull * smoothed_ + rttUs) / 8);
    }
    backOffs_ = 0;  // rule 5.7's note: a new sample recomputes the RTO from the estimate
}

void TcpRetransmissionTimer::backOff() {
    if (rto() < limits_.maximumUs) ++backOffs_;
}

std::uint32_t TcpRetransmissionTimer::rto() const {
    std::uint64_t base = smoothed_ == 0
        ? limits_.initialUs
        : std::uint64_t{smoothed_} + std::max<std::uint64_t>(limits_.granularityUs, 4ull * variance_);
    base = std::max<std::uint64_t>(base, limits_.minimumUs);
    std::uint64_t backedOff = backOffs_ >= 32 ? limits_.maximumUs : base << backOffs_;
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(backedOff, limits_.maximumUs));
}

}  // namespace nexnet
