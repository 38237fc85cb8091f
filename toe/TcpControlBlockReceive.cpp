// TcpControlBlock's receive path: RFC 9293 section 3.10.7.4 (SEGMENT ARRIVES) for a connection
// that is already synchronised, with RFC 7323 timestamps and PAWS, and placement into the
// application's posted buffers.
#include "toe/TcpControlBlock.h"

#include "inet/TcpView.h"
#include "netbuf/Netbuf.h"
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
    if (phase_ == Phase::closed || phase_ == Phase::reset) return packet->free();
    if (tcp.has(TcpView::kRst)) {
        packet->free();
        if (acceptable(tcp)) peerReset();
        return;
    }
    if (tcp.has(TcpView::kSyn)) {  // a SYN on a synchronised connection: challenge ACK (RFC 5961 section 4)
        packet->free();
        return sendAck();
    }
    if (state_.timestamps) {
        TcpOptions options = tcp.options();
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
    if (tcp.has(TcpView::kAck)) acknowledgment(tcp);
    statistics_.bytesIn += payload.size();
    bool fin = tcp.has(TcpView::kFin);
    if (phase_ != Phase::established) {  // data or FIN again after the peer's FIN: our ACK was lost
        packet->free();
        if (!payload.empty() || fin) sendAck();
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

void TcpControlBlock::acknowledgment(const TcpView& tcp) {
    std::uint32_t ack = tcp.acknowledgment();
    if (sequenceBefore(sendUnacknowledged_, ack) && sequenceAtOrBefore(ack, sendNext_)) {
        std::uint32_t acked =
            std::min<std::uint32_t>(ack - sendUnacknowledged_, static_cast<std::uint32_t>(state_.sendQueue.size()));
        state_.sendQueue.erase(state_.sendQueue.begin(), state_.sendQueue.begin() + acked);
        sendUnacknowledged_ = ack;
    }
    if (phase_ == Phase::lastAck && ack == sendNext_ + 1) phase_ = Phase::closed;
    // The peer's window, from the newest segment only (RFC 9293 section 3.10.7.4, SND.WL1).
    if (sequenceAtOrBefore(sendWindowUpdate_, tcp.sequence())) {
        unsigned scale = state_.windowScaling ? state_.sendWindowScale : 0;
        state_.sendWindow = static_cast<std::uint32_t>(tcp.window()) << scale;
        state_.maxSendWindow = std::max(state_.maxSendWindow, state_.sendWindow);
        sendWindowUpdate_ = tcp.sequence();
        statistics_.peerWindow = state_.sendWindow;
    }
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
    if (!finSequence_ || receiveNext_ != *finSequence_ || phase_ != Phase::established) return;
    held_.dropFrom(receiveNext_);  // nothing may follow a FIN
    receiveNext_++;                // the FIN takes one sequence number
    phase_ = Phase::peerClosed;
    sendAck();
}

void TcpControlBlock::peerReset() {
    phase_ = Phase::reset;
    held_.dropFrom(placed_);
    completeAll(ECONNRESET, false);
}

void TcpControlBlock::finishInput() {
    if (ackOwed_ > 0 && (phase_ == Phase::established || phase_ == Phase::peerClosed)) sendAck();
}

}  // namespace nexnet
