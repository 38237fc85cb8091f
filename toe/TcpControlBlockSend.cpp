// TcpControlBlock's send path (seed claim 9): the application's posted send buffers cut into
// segments within the peer's window (RFC 9293 section 3.8.6) and the congestion window (RFC 5681,
// RFC 6582, RFC 6675), the retransmission timer (RFC 6298), zero-window probes (RFC 9293 section
// 3.8.6.1), keepalives (section 3.8.4), our FIN, and the hand-back request of claim 14.
#include "inet/TcpView.h"
#include "toe/TcpClock.h"
#include "toe/TcpCompletion.h"
#include "toe/TcpCompletionSink.h"
#include "toe/TcpControlBlock.h"
#include "toe/TcpSequence.h"

#include <algorithm>
#include <cerrno>

namespace nexnet {

namespace {

// Segments one transmit() call sends at most: the pool and the device's ring are shared with
// every other connection; the ACKs of these clock out the next ones.
constexpr unsigned kBurst = 64;
// Unanswered retransmission timeouts before the connection is given up (Linux's tcp_retries2).
constexpr unsigned kMaxTimeouts = 15;
// The longest wait between zero-window probes (RFC 1122 section 4.2.2.17 leaves it open; Linux
// caps the back-off at TCP_RTO_MAX, we at 60 s so a reopened window is found within a minute).
constexpr std::uint64_t kMaxPersistUs = 60'000'000;
constexpr std::uint64_t kSecondUs = 1'000'000;

}  // namespace

// ---- the application's calls --------------------------------------------------------------------

int TcpControlBlock::postSend(const std::uint8_t* buffer, std::size_t length, std::uint64_t cookie) {
    if (buffer == nullptr || length == 0) return EINVAL;
    if (finQueued_ || (phase_ != Phase::established && phase_ != Phase::peerClosed)) return EPIPE;
    if (int error = sendQueue_.post(buffer, length, cookie)) return error;
    transmit();
    return 0;
}

int TcpControlBlock::shutdownSend() {
    if (finQueued_) return 0;
    if (phase_ == Phase::established) {
        phase_ = Phase::finWait1;
    } else if (phase_ == Phase::peerClosed) {
        phase_ = Phase::lastAck;
    } else {
        return EPIPE;
    }
    finQueued_ = true;
    transmit();
    return 0;
}

void TcpControlBlock::completeSends(int error) {
    sendQueue_.discard([&](const TcpSendQueue::Buffer& buffer) {
        completions_.complete(
            TcpCompletion{handle_, buffer.cookie, const_cast<std::uint8_t*>(buffer.data), 0, false, error, true});
        statistics_.sendCompletions++;
    });
}

void TcpControlBlock::abort(int error) {
    sendSegment(TcpView::kRst, sendMax_);
    completeAll(error, false);
    completeSends(error);
    phase_ = Phase::closed;
    retransmitAt_ = persistAt_ = 0;
}

void TcpControlBlock::requestHandBack(TcpHandBackReason reason) {
    phase_ = Phase::handBackPending;
    statistics_.handBackReason = reason;
    retransmitAt_ = persistAt_ = 0;
    completions_.complete(TcpCompletion{handle_, 0, nullptr, 0, false, EOPNOTSUPP, false});
    statistics_.completions++;
}

// ---- acknowledgments ------------------------------------------------------------------------------

void TcpControlBlock::acknowledgment(const TcpView& tcp, const TcpOptions& options, std::uint64_t nowUs) {
    std::uint32_t ack = tcp.acknowledgment();
    if (sequenceBefore(sendMax_, ack)) return;  // acknowledges what we never sent: ignored (section 3.10.7.4)
    // The peer's window, from the newest segment only (RFC 9293 section 3.10.7.4, SND.WL1/WL2).
    std::uint32_t windowBefore = state_.sendWindow;
    if (sequenceBefore(sendWindowUpdate_, tcp.sequence()) ||
        (sendWindowUpdate_ == tcp.sequence() && sequenceAtOrBefore(sendWindowAck_, ack))) {
        unsigned scale = state_.windowScaling ? state_.sendWindowScale : 0;
        state_.sendWindow = static_cast<std::uint32_t>(tcp.window()) << scale;
        state_.maxSendWindow = std::max(state_.maxSendWindow, state_.sendWindow);
        sendWindowUpdate_ = tcp.sequence();
        sendWindowAck_ = ack;
        statistics_.peerWindow = state_.sendWindow;
    }
    std::uint32_t newlySacked = 0;
    if (state_.sackPermitted && options.sackBlocks > 0)
        newlySacked = scoreboard_.update(options.sack.data(), options.sackBlocks, sendUnacknowledged_, sendMax_);
    std::uint32_t mss = congestion_.mss();
    if (sequenceBefore(sendUnacknowledged_, ack)) {
        std::uint32_t acknowledged = ack - sendUnacknowledged_;
        bool finAcknowledged = finSent() && ack == sendMax_;
        if (finAcknowledged) acknowledged--;  // the FIN's sequence number is no byte
        sendQueue_.acknowledge(ack, [&](const TcpSendQueue::Buffer& buffer) {
            completions_.complete(TcpCompletion{handle_, buffer.cookie, const_cast<std::uint8_t*>(buffer.data),
                                                buffer.length, false, 0, true});
            statistics_.sendCompletions++;
        });
        sendUnacknowledged_ = ack;
        if (sequenceBefore(sendNext_, ack)) sendNext_ = ack;
        if (sequenceBefore(highRetransmitted_, ack)) highRetransmitted_ = ack;
        scoreboard_.acknowledge(ack);
        statistics_.bytesAcknowledged += acknowledged;
        // RTT: the echoed timestamp (RFC 7323 section 4.1, valid for retransmissions too) or the
        // one timed segment, never a retransmitted one (Karn's rule).
        if (state_.timestamps && options.timestamps && options.timestamps->echo != 0) {
            std::uint32_t elapsedMs = timestampNow() - options.timestamps->echo;
            if (elapsedMs < 600'000) rto_.sample(elapsedMs * 1000);
        } else if (timing_ && sequenceBefore(timedSequence_, ack)) {
            rto_.sample(static_cast<std::uint32_t>(std::min<std::uint64_t>(nowUs - timedAt_, 0xffffffffu)));
            timing_ = false;
        }
        consecutiveTimeouts_ = 0;
        persistBackOffs_ = 0;
        std::uint32_t flight = sendMax_ - ack;
        std::uint32_t flightBefore = sendMax_ - (ack - acknowledged);
        if (congestion_.acknowledged(ack, acknowledged, flight, flightBefore) ==
            TcpCongestionControl::Response::retransmitFirst) {
            // A partial ACK: the next hole is lost too (RFC 6582 step 4; with SACK only if the
            // scoreboard has not already sent it again).
            if (!state_.sackPermitted || sequenceAtOrBefore(highRetransmitted_, ack)) retransmit(ack, mss);
        }
        retransmitAt_ = sendNext_ != ack ? nowUs + rto_.rto() : 0;  // RFC 6298 rules 5.2 and 5.3
        if (finAcknowledged) ourFinAcknowledged();
    } else if (ack == sendUnacknowledged_ && tcp.payload().empty() && !tcp.has(TcpView::kFin) &&
               sendMax_ != sendUnacknowledged_ && (state_.sendWindow == windowBefore || newlySacked > 0)) {
        statistics_.duplicateAcks++;
        bool lost = state_.sackPermitted && scoreboard_.isLost(ack, mss);
        if (congestion_.duplicate(ack, sendMax_ - ack, sendMax_, lost) ==
            TcpCongestionControl::Response::fastRetransmit) {
            statistics_.fastRetransmits++;
            timing_ = false;
            retransmit(ack, mss);
        }
    }
    updateSendStatistics();
}

void TcpControlBlock::ourFinAcknowledged() {
    switch (phase_) {
    case Phase::finWait1:
        phase_ = Phase::finWait2;
        break;
    case Phase::closing:
        phase_ = Phase::timeWait;
        timeWaitEnds_ = tcpClockMicroseconds() + 2 * rto_.rto();
        break;
    case Phase::lastAck:
        phase_ = Phase::closed;
        break;
    default:
        break;
    }
    retransmitAt_ = 0;
}

// ---- sending ----------------------------------------------------------------------------------------

std::uint32_t TcpControlBlock::segmentSize() const {
    // The kernel's MSS already leaves room for the timestamps option (mss_cache); SACK blocks on
    // a data segment take from the payload so the datagram stays within the path MTU.
    std::uint32_t mss = congestion_.mss();
    if (state_.sackPermitted && !held_.empty()) mss -= state_.timestamps ? 28 : 36;
    return mss;
}

void TcpControlBlock::transmit() {
    if (phase_ == Phase::closed || phase_ == Phase::reset || phase_ == Phase::handBackPending ||
        phase_ == Phase::timeWait)
        return;
    std::uint64_t now = tcpClockMicroseconds();
    for (unsigned sent = 0; sent < kBurst && sendOne(now); ++sent) {
    }
    armTimers(now);
    updateSendStatistics();
}

bool TcpControlBlock::sendOne(std::uint64_t nowUs) {
    std::uint32_t una = sendUnacknowledged_;
    std::uint32_t mss = segmentSize();
    std::uint32_t cwnd = congestion_.window();
    if (congestion_.inRecovery() && state_.sackPermitted) {
        // RFC 6675 section 5 (C): while cwnd - pipe >= 1 SMSS, NextSeg().
        std::uint32_t pipe = scoreboard_.pipe(una, sendMax_, highRetransmitted_, mss);
        if (pipe + mss > cwnd) return false;
        std::uint32_t from = sequenceBefore(highRetransmitted_, una) ? una : highRetransmitted_;
        std::uint32_t start = 0, end = 0;
        bool lost = false;
        bool hole = scoreboard_.nextHole(from, una, mss, start, end, lost);
        if (hole && lost) return retransmit(start, std::min(mss, end - start));  // rule 1
        if (sendNew(nowUs, mss)) return true;                                    // rule 2
        if (hole) return retransmit(start, std::min(mss, end - start));          // rule 3
        return false;
    }
    std::uint32_t flight = sendNext_ - una;  // FlightSize: what this round has in the network
    if (flight >= cwnd) return false;
    return sendNew(nowUs, cwnd - flight);
}

bool TcpControlBlock::sendNew(std::uint64_t nowUs, std::uint32_t congestionRoom) {
    std::uint32_t sequence = sendNext_;
    std::uint32_t end = sendQueue_.end();
    std::uint32_t available = sequenceBefore(sequence, end) ? end - sequence : 0;
    std::uint32_t right = sendUnacknowledged_ + state_.sendWindow;
    std::uint32_t usable = sequenceBefore(sequence, right) ? right - sequence : 0;
    std::uint32_t length = std::min({segmentSize(), available, usable, congestionRoom});
    bool fin = finQueued_ && sequence + length == end && sendNext_ != end + 1;
    if (length == 0 && !fin) return false;
    // Sender-side silly window avoidance (RFC 9293 section 3.8.6.2.1): a short segment only when
    // it empties the queue or the peer offers at least half its largest window.
    if (length > 0 && length < segmentSize() && length < available && usable < state_.maxSendWindow / 2) return false;
    std::uint8_t flags = TcpView::kAck;
    if (length > 0 && sequence + length == end) flags |= TcpView::kPsh;
    if (fin) flags |= TcpView::kFin;
    if (!sendSegment(flags, sequence, length)) return false;
    bool again = sequenceBefore(sequence, sendMax_);  // after a timeout: go-back-N
    if (again) {
        statistics_.retransmissions++;
        if (sequenceBefore(highRetransmitted_, sequence + length)) highRetransmitted_ = sequence + length;
    } else if (!timing_ && !state_.timestamps && length > 0) {
        timing_ = true;
        timedSequence_ = sequence;
        timedAt_ = nowUs;
    }
    sendNext_ = sequence + length + (fin ? 1 : 0);
    if (sequenceBefore(sendMax_, sendNext_)) sendMax_ = sendNext_;
    return true;
}

bool TcpControlBlock::retransmit(std::uint32_t sequence, std::uint32_t length) {
    std::uint32_t end = sendQueue_.end();
    length = sequenceBefore(sequence, end) ? std::min(length, end - sequence) : 0;
    bool fin = finSent() && sequence + length == end;
    if (length == 0 && !fin) return false;
    std::uint8_t flags = static_cast<std::uint8_t>(TcpView::kAck | (fin ? TcpView::kFin : 0));
    if (!sendSegment(flags, sequence, length)) return false;
    statistics_.retransmissions++;
    timing_ = false;  // Karn: the sample in flight may now be ambiguous
    std::uint32_t after = sequence + length + (fin ? 1 : 0);
    if (sequenceBefore(highRetransmitted_, after)) highRetransmitted_ = after;
    return true;
}

// ---- timers -----------------------------------------------------------------------------------------

void TcpControlBlock::armTimers(std::uint64_t nowUs) {
    if (sendNext_ != sendUnacknowledged_) {  // RFC 6298 rule 5.1: something in flight this round
        if (retransmitAt_ == 0) retransmitAt_ = nowUs + rto_.rto();
        persistAt_ = 0;
        return;
    }
    // Nothing in flight: everything acknowledged, or a timeout took this round back to SND.UNA
    // and nothing could go again.
    bool waiting = sendNext_ != sendQueue_.end() + (finQueued_ ? 1 : 0);
    if (!waiting) {
        retransmitAt_ = persistAt_ = 0;
        persistBackOffs_ = 0;
    } else if (state_.sendWindow == 0) {
        // Something to send and no window: probe it (RFC 9293 section 3.8.6.1), not retransmit.
        retransmitAt_ = 0;
        if (persistAt_ == 0) persistAt_ = nowUs + rto_.rto();
    } else if (retransmitAt_ == 0) {
        retransmitAt_ = nowUs + rto_.rto();  // no netbuf was free: try again on the timer
    }
}

void TcpControlBlock::tick(std::uint64_t nowUs) {
    if (phase_ == Phase::closed || phase_ == Phase::reset || phase_ == Phase::handBackPending) return;
    if (phase_ == Phase::timeWait) {
        if (nowUs >= timeWaitEnds_) phase_ = Phase::closed;
        return;
    }
    if (retransmitAt_ != 0 && nowUs >= retransmitAt_) retransmissionTimeout();
    if (phase_ == Phase::closed) return;
    if (persistAt_ != 0 && nowUs >= persistAt_) {
        sendProbe();
        statistics_.persistProbes++;
        ++persistBackOffs_;
        std::uint64_t wait =
            std::min<std::uint64_t>(std::uint64_t{rto_.rto()} << std::min(persistBackOffs_, 20u), kMaxPersistUs);
        persistAt_ = nowUs + wait;
    }
    keepaliveTimer(nowUs);
}

void TcpControlBlock::retransmissionTimeout() {
    // RFC 6298 section 5.4-5.6 with RFC 5681's loss window: everything from SND.UNA goes again.
    statistics_.rtoExpiries++;
    if (++consecutiveTimeouts_ > kMaxTimeouts) return abort(ETIMEDOUT);
    congestion_.timeout(sendMax_ - sendUnacknowledged_, sendMax_);
    scoreboard_.clear();  // the peer may have reneged (RFC 2018 section 8)
    rto_.backOff();
    timing_ = false;
    sendNext_ = sendUnacknowledged_;
    highRetransmitted_ = sendUnacknowledged_;
    retransmitAt_ = 0;
    transmit();  // and arms the timer again, backed off
}

void TcpControlBlock::keepaliveTimer(std::uint64_t nowUs) {
    // RFC 9293 section 3.8.4 as Linux does it: only an idle connection (nothing in flight or
    // queued) is probed, first after TCP_KEEPIDLE of silence, then every TCP_KEEPINTVL; TCP_KEEPCNT
    // unanswered probes end it.
    if (!state_.keepalive || (phase_ != Phase::established && phase_ != Phase::peerClosed)) return;
    if (sendMax_ != sendUnacknowledged_ || sendQueue_.size() > 0) return;
    std::uint64_t due = lastReceived_ + std::uint64_t{state_.keepaliveIdle} * kSecondUs +
        std::uint64_t{keepaliveProbes_} * state_.keepaliveInterval * kSecondUs;
    if (nowUs < due) return;
    if (keepaliveProbes_ >= state_.keepaliveCount) return abort(ETIMEDOUT);
    sendProbe();
    keepaliveProbes_++;
    statistics_.keepalivesSent++;
}

void TcpControlBlock::updateSendStatistics() {
    statistics_.congestionWindow = congestion_.window();
    statistics_.slowStartThreshold = congestion_.threshold();
    statistics_.smoothedRtt = rto_.smoothed();
    statistics_.retransmissionTimeout = rto_.rto();
}

}  // namespace nexnet
