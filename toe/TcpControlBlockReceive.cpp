// TcpControlBlock's receive path: RFC 9293 section 3.10.7.4 (SEGMENT ARRIVES) for a connection
// that is already synchronised, with RFC 7323 timestamps and PAWS, and placement into the
// application's posted buffers.
#include "toe/TcpControlBlock.h"

#include "inet/TcpView.h"
#include "netbuf/Netbuf.h"
#include "toe/TcpClock.h"
#include "toe/TcpSequence.h"

#include <algorithm>
#include <cerrno>

namespace nexnet {

namespace {
// In-order bytes received before an ACK goes out within one receive burst: a 64 KB GRO run's.
constexpr std::uint32_t kStretchAck = 65536;
}  // namespace

void TcpControlBlock::input(Netbuf* packet, const TcpView& tcp) {
    statistics_.segmentsIn++;
    std::uint32_t sequence = tcp.sequence();
    std::span<std::uint8_t> payload = tcp.payload();
    if (phase_ == Phase::closed || phase_ == Phase::reset || phase_ == Phase::handBackPending) return packet->free();
    if (needsKernel(tcp)) return packet->free();  // never acknowledged: the peer sends it again, to the kernel
    std::uint64_t now = tcpClockMicroseconds();
    lastReceived_ = now;
    keepaliveProbes_ = 0;
    if (tcp.has(TcpView::kRst)) {
        packet->free();
        if (acceptable(tcp)) peerReset();
        return;
    }
    if (tcp.has(TcpView::kSyn)) {  // a SYN on a synchronised connection: challenge ACK (RFC 5961 section 4)
        packet->free();
        return sendAck();
    }
    TcpOptions options = tcp.options();
    if (state_.timestamps) {
        if (options.timestamps) {
            std::uint32_t value = options.timestamps->value;
            // PAWS (RFC 7323 section 5.3), with Linux's tolerance of one tick (TCP_PAWS_WINDOW): a
            // segment reordered within the same millisecond or the next is not old.
            if (timestampRecentValid_ && static_cast<std::int32_t>(timestampRecent_ - value) > 1) {
                statistics_.pawsDrops++;
                packet->free();
                return sendAck();
            }
            if (sequenceAtOrBefore(sequence, windowUpdate_)) {  // SEG.SEQ <= Last.ACK.sent (section 4.3)
                timestampRecent_ = value;
                timestampRecentValid_ = true;
            }
        }
    }
    if (tcp.has(TcpView::kAck)) acknowledgment(tcp, options, now);
    statistics_.bytesIn += payload.size();
    bool fin = tcp.has(TcpView::kFin);
    if (orphaned_ && !payload.empty() && receiving()) {  // data for a closed socket: RFC 9293 section 3.10.7.4
        packet->free();
        return abort(ECONNRESET);
    }
    if (!receiving()) {  // data or FIN again after the peer's FIN: our ACK was lost
        packet->free();
        if (!payload.empty() || fin) sendAck();
        if (phase_ == Phase::timeWait && fin) timeWaitEnds_ = now + 2 * rto_.rto();  // RFC 9293: restart 2 MSL
        return;
    }
    if (fin && !finSequence_) finSequence_ = sequence + static_cast<std::uint32_t>(payload.size());
    if (payload.empty()) packet->free();
    else receivePayload(packet, sequence, payload.data(), static_cast<std::uint32_t>(payload.size()));
    acceptFin();
    drain();
}

bool TcpControlBlock::acceptable(const TcpView& tcp) const {
    std::uint32_t window = std::max<std::uint32_t>(advertisedRight_ - receiveNext_, 1);
    return sequenceAtOrBefore(receiveNext_, tcp.sequence()) && sequenceBefore(tcp.sequence(), receiveNext_ + window);
}

// Claim 14: what the engine does not carry goes to the kernel rather than being mishandled.
bool TcpControlBlock::needsKernel(const TcpView& tcp) {
    if (tcp.has(TcpView::kUrg)) {
        statistics_.urgentSegments++;
        // Only an established connection can go back (the kernel cannot be told FIN state); in a
        // closing one the urgent byte stays in line, as with SO_OOBINLINE.
        if (phase_ == Phase::established) {
            requestHandBack(TcpHandBackReason::urgentData);
            return true;
        }
    }
    std::span<std::uint8_t> options = tcp.optionBytes();
    // The common shapes are known without a walk: none, or Linux's NOP NOP timestamps.
    if (options.empty() || (options.size() == 12 && options[0] == TcpOptions::kNop && options[2] == 8)) return false;
    bool unknown = false;
    for (std::size_t at = 0; at < options.size();) {
        std::uint8_t kind = options[at];
        if (kind == TcpOptions::kEnd) break;
        if (kind == TcpOptions::kNop) {
            ++at;
            continue;
        }
        if (at + 1 >= options.size() || options[at + 1] < 2) break;  // TcpView::parse refused worse
        // TCP-MD5 (RFC 2385), TCP-AO (RFC 5925) and MPTCP (RFC 8684) change what a segment means
        // or whether it is authentic: the kernel must carry such a connection.
        if (kind == 19 || kind == 29 || kind == 30) {
            if (phase_ == Phase::established) {
                requestHandBack(TcpHandBackReason::option);
                return true;
            }
        } else if (kind != TcpOptions::kMss && kind != TcpOptions::kWindowScale && kind != TcpOptions::kSackPermitted &&
                   kind != TcpOptions::kSack && kind != TcpOptions::kTimestamps) {
            unknown = true;  // RFC 9293 section 3.1: an option not understood is ignored
        }
        at += options[at + 1];
    }
    if (unknown) statistics_.unknownOptions++;
    return false;
}

void TcpControlBlock::receivePayload(Netbuf* packet, std::uint32_t sequence, const std::uint8_t* data,
                                     std::uint32_t length) {
    bool ackNow = false;
    // Trim what was already received, and what lies past the window we can honour.
    if (sequenceBefore(sequence, receiveNext_)) {
        std::uint32_t old = receiveNext_ - sequence;
        if (old >= length) {
            statistics_.duplicates++;
            packet->free();
            return sendAck();  // the peer retransmitted: our ACK may have been lost
        }
        statistics_.trimmedBytes += old;
        sequence += old;
        data += old;
        length -= old;
    }
    std::uint32_t right = receiveNext_ + static_cast<std::uint32_t>(std::min<std::uint64_t>(freeRoom(), 1u << 30));
    if (sequenceBefore(right, advertisedRight_)) right = advertisedRight_;
    if (sequenceBefore(right, sequence + length)) {
        std::uint32_t beyond = std::min(sequence + length - right, length);
        statistics_.trimmedBytes += beyond;
        length -= beyond;
        ackNow = true;
        if (length == 0) {
            packet->free();
            return sendAck();
        }
    }
    std::uint32_t before = receiveNext_;
    if (sequence == receiveNext_ && placed_ == receiveNext_) {
        // The common case: in order with nothing waiting before it, straight into the buffers.
        std::uint32_t n = place(data, length);
        receiveNext_ += n;
        if (n == length) packet->free();
        else if (held_.insert(sequence + n, data + n, length - n, packet) == TcpReassemblyQueue::Insert::held)
            receiveNext_ += length - n;
        else {
            statistics_.heldDrops++;
            packet->free();
        }
    } else {
        if (sequence != receiveNext_) {
            statistics_.outOfOrder++;
            ackNow = true;  // a duplicate ACK at once: the peer's fast retransmit counts them (RFC 5681)
        }
        switch (held_.insert(sequence, data, length, packet)) {
        case TcpReassemblyQueue::Insert::held:
            break;
        case TcpReassemblyQueue::Insert::duplicate:
            statistics_.duplicates++;
            packet->free();
            break;
        case TcpReassemblyQueue::Insert::full:
            statistics_.heldDrops++;
            packet->free();
            break;
        }
    }
    // What was held after this segment may now join the in-order run: a gap filled, to be
    // acknowledged at once (RFC 5681 section 4.2).
    receiveNext_ = held_.contiguousEnd(receiveNext_);
    if (receiveNext_ - before > length) ackNow = true;
    ackOwed_ += receiveNext_ - before;
    // ACK as we place (claim 2): at once for anything out of order; in order, once per receive burst
    // (finishInput) and within a long burst every kStretchAck bytes, as Linux acknowledges a
    // GRO-coalesced run with one ACK (a stretch ACK; RFC 5681 section 4.2's every second segment is a
    // SHOULD, and senders count bytes acknowledged, RFC 3465). A burst of 32 full segments took 16
    // ACKs before, each a netbuf and a frame to the driver; now it takes one.
    if (ackNow || ackOwed_ >= std::max<std::uint32_t>(kStretchAck, 2u * state_.mss)) sendAck();
}

void TcpControlBlock::drain() {
    // A segment placed straight from the wire may have covered bytes held after a gap (the
    // peer's retransmission need not keep the first transmission's boundaries): drop them.
    while (!held_.empty() && sequenceBefore(held_.front().sequence, placed_)) {
        std::uint32_t stale = std::min(placed_ - held_.front().sequence, held_.front().length);
        statistics_.trimmedBytes += stale;
        held_.consumeFront(stale);
    }
    while (postedCount_ > 0) {
        std::uint32_t n = 0;
        if (backlogOffset_ < state_.receiveQueue.size()) {
            // The kernel's unread bytes first: they precede everything the engine received.
            std::size_t left = state_.receiveQueue.size() - backlogOffset_;
            n = place(state_.receiveQueue.data() + backlogOffset_,
                      static_cast<std::uint32_t>(std::min<std::size_t>(left, 1u << 30)));
            backlogOffset_ += n;
            if (backlogOffset_ == state_.receiveQueue.size()) {
                state_.receiveQueue.clear();
                state_.receiveQueue.shrink_to_fit();
                backlogOffset_ = 0;
            }
        } else if (!held_.empty() && held_.front().sequence == placed_ && sequenceBefore(placed_, receiveNext_)) {
            n = place(held_.front().data, held_.front().length);
            held_.consumeFront(n);
        }
        if (n == 0) break;
    }
    deliverEndIfDue();
}

void TcpControlBlock::acceptFin() {
    if (!finSequence_ || receiveNext_ != *finSequence_ || !receiving()) return;
    held_.dropFrom(receiveNext_);  // nothing may follow a FIN
    receiveNext_++;                // the FIN takes one sequence number
    if (phase_ == Phase::established) {
        phase_ = Phase::peerClosed;
    } else if (phase_ == Phase::finWait1) {
        phase_ = Phase::closing;
    } else {  // FIN-WAIT-2: both FINs acknowledged once our ACK arrives
        phase_ = Phase::timeWait;
        timeWaitEnds_ = tcpClockMicroseconds() + 2 * rto_.rto();
    }
    sendAck();
}

void TcpControlBlock::peerReset() {
    phase_ = Phase::reset;
    held_.dropFrom(placed_);
    completeAll(ECONNRESET, false);
    completeSends(ECONNRESET);
}

void TcpControlBlock::finishInput() {
    if (phase_ == Phase::closed || phase_ == Phase::reset || phase_ == Phase::handBackPending) return;
    transmit();  // what the burst's ACKs opened; data segments carry the ACK owed
    if (ackOwed_ > 0) sendAck();
}

}  // namespace nexnet
