// TcpControlBlock: construction, posted buffers and completions, the segments it sends, close
// and hand-back. The receive path is in TcpControlBlockReceive.cpp, the send path in
// TcpControlBlockSend.cpp.
#include "toe/TcpControlBlock.h"

#include "inet/TcpBuilder.h"
#include "inet/TcpView.h"
#include "toe/TcpCompletion.h"
#include "toe/TcpClock.h"
#include "toe/TcpCompletionSink.h"
#include "toe/TcpRepair.h"
#include "toe/TcpSegmentOutput.h"
#include "toe/TcpSequence.h"

#include <algorithm>
#include <cerrno>
#include <ctime>

namespace nexnet {

namespace {

// The clock Linux's TCP timestamps run on (tcp_clock_ms: CLOCK_MONOTONIC in milliseconds); the
// socket's TCP_TIMESTAMP is this plus its per-connection offset.
std::uint64_t monotonicMilliseconds() { return tcpClockMicroseconds() / 1000; }

}  // namespace

TcpControlBlock::TcpControlBlock(TcpConnectionState state, int placeholder, TcpOffloadHandle handle,
                                 TcpSegmentOutput& output, TcpCompletionSink& completions)
    : state_(std::move(state)),
      placeholder_(placeholder),
      handle_(handle),
      output_(output),
      completions_(completions),
      placed_(state_.readSequence),
      receiveNext_(state_.receiveNext),
      sendUnacknowledged_(state_.sendUnacknowledged),
      sendNext_(state_.sendNext - std::min<std::uint32_t>(state_.unsentBytes, state_.sendQueue.size())),
      sendWindowUpdate_(state_.sendWindowUpdateSequence),
      sendWindowAck_(state_.sendUnacknowledged),
      sendQueue_(state_.sendUnacknowledged),
      congestion_(state_.mss, state_.congestionWindow * state_.mss, state_.slowStartThreshold * state_.mss),
      sendMax_(sendNext_),
      highRetransmitted_(state_.sendUnacknowledged) {
    // The kernel's unacknowledged and unsent bytes are the engine's to (re)transmit first; its
    // round-trip estimate and congestion state carry on.
    sendQueue_.adopt(std::move(state_.sendQueue));
    state_.sendQueue = {};
    rto_.seed(state_.smoothedRtt, state_.rttVariance);
    congestion_.sack(state_.sackPermitted);
    lastReceived_ = tcpClockMicroseconds();
    if (sendMax_ != sendUnacknowledged_) retransmitAt_ = lastReceived_ + rto_.rto();
    updateSendStatistics();
    // The kernel's last offer stands: the peer may fill it whatever we post (no shrinking).
    windowUpdate_ = state_.hasWindow ? state_.receiveWindowUpdate : receiveNext_;
    advertisedRight_ = windowUpdate_ + (state_.hasWindow ? state_.receiveWindow : 0);
    if (sequenceBefore(advertisedRight_, receiveNext_)) advertisedRight_ = receiveNext_;
    // Timestamps continue the kernel's clock (RFC 7323 section 5.5: PAWS at the peer).
    timestampOffset_ =
        static_cast<std::int64_t>(state_.timestampClock) - static_cast<std::int64_t>(monotonicMilliseconds());
    statistics_.peerWindow = state_.sendWindow;
}

TcpControlBlock::~TcpControlBlock() {
    if (placeholder_ >= 0) TcpRepair::closeSilently(placeholder_);
}

bool TcpControlBlock::matches(std::uint32_t sourceAddress, std::uint16_t sourcePort, std::uint32_t destinationAddress,
                              std::uint16_t destinationPort, bool fromPeer) const {
    const sockaddr_in& from = fromPeer ? state_.remote : state_.local;
    const sockaddr_in& to = fromPeer ? state_.local : state_.remote;
    return from.sin_addr.s_addr == sourceAddress && to.sin_addr.s_addr == destinationAddress &&
        ntohs(from.sin_port) == sourcePort && ntohs(to.sin_port) == destinationPort;
}

int TcpControlBlock::releasePlaceholder() {
    int fd = placeholder_;
    placeholder_ = -1;
    return fd;
}

// ---- posted buffers and completions -------------------------------------------------------------

int TcpControlBlock::postReceive(std::uint8_t* buffer, std::size_t length, std::uint64_t cookie) {
    if (buffer == nullptr || length == 0) return EINVAL;
    if (!receiving() || endDelivered_ || orphaned_) return EPIPE;
    if (postedCount_ == kMaxPosted) return ENOBUFS;
    std::uint32_t oldWindow = advertisedRight_ - receiveNext_;
    posted_[(postedHead_ + postedCount_++) % kMaxPosted] = Posted{buffer, length, 0, cookie};
    room_ += length;
    drain();
    // Tell the peer about the room at once when the window it knows is less than half of it: a
    // peer stopped at a small or zero window would otherwise wait for a persist probe.
    std::uint64_t room = freeRoom();
    if (receiving() && oldWindow < room / 2) sendAck();
    return 0;
}

std::uint64_t TcpControlBlock::freeRoom() const {
    std::uint64_t spoken = receiveNext_ - placed_;  // held in order: already promised to the buffers
    return room_ > spoken ? room_ - spoken : 0;
}

std::uint32_t TcpControlBlock::place(const std::uint8_t* data, std::uint32_t length) {
    std::uint32_t done = 0;
    while (done < length && postedCount_ > 0) {
        Posted& front = posted_[postedHead_];
        std::size_t n = std::min<std::size_t>(length - done, front.length - front.filled);
        std::copy_n(data + done, n, front.buffer + front.filled);
        front.filled += n;
        done += static_cast<std::uint32_t>(n);
        room_ -= n;
        if (front.filled == front.length) complete(0, false);
    }
    placed_ += done;
    statistics_.bytesPlaced += done;
    return done;
}

void TcpControlBlock::complete(int error, bool endOfStream) {
    Posted& front = posted_[postedHead_];
    room_ -= front.length - front.filled;
    completions_.complete(TcpCompletion{handle_, front.cookie, front.buffer, front.filled, endOfStream, error});
    statistics_.completions++;
    front = Posted{};
    postedHead_ = (postedHead_ + 1) % kMaxPosted;
    postedCount_--;
}

void TcpControlBlock::completeAll(int error, bool endOfStream) {
    if (postedCount_ == 0 && (error == ECONNRESET || endOfStream)) {
        completions_.complete(TcpCompletion{handle_, 0, nullptr, 0, endOfStream, error});
        statistics_.completions++;
        return;
    }
    while (postedCount_ > 0) {
        bool holdsData = posted_[postedHead_].filled > 0;
        complete(holdsData && error == ECANCELED ? 0 : error, endOfStream);
    }
}

int TcpControlBlock::flush() {
    if (postedCount_ == 0 || posted_[postedHead_].filled == 0) return EAGAIN;
    complete(0, false);
    return 0;
}

void TcpControlBlock::deliverEndIfDue() {
    // The peer's FIN accepted (it took a sequence number) and every byte before it placed.
    if (endDelivered_ || !finSequence_ || phase_ == Phase::reset || receiveNext_ != *finSequence_ + 1) return;
    if (placed_ != *finSequence_) return;
    endDelivered_ = true;
    completeAll(0, true);
}

// ---- output -------------------------------------------------------------------------------------

std::uint32_t TcpControlBlock::timestampNow() const {
    return static_cast<std::uint32_t>(static_cast<std::int64_t>(monotonicMilliseconds()) + timestampOffset_);
}

std::uint32_t TcpControlBlock::window() {
    unsigned scale = state_.windowScaling ? state_.receiveWindowScale : 0;
    // No more than the reassembly queue can hold: after a loss everything in flight past the gap
    // waits there, and what does not fit is dropped and sent again.
    std::uint64_t room = std::min<std::uint64_t>(freeRoom(), std::uint64_t{kMaxHeld} * state_.mss);
    room = std::min<std::uint64_t>(room, std::uint64_t{0xffff} << scale);
    std::uint32_t field = static_cast<std::uint32_t>(room >> scale);
    if (sequenceBefore(receiveNext_ + (field << scale), advertisedRight_))  // never move the right edge left
        field = (advertisedRight_ - receiveNext_ + (1u << scale) - 1) >> scale;
    advertisedRight_ = receiveNext_ + (field << scale);
    windowUpdate_ = receiveNext_;
    statistics_.advertisedWindow = field << scale;
    return field;
}

bool TcpControlBlock::sendSegment(std::uint8_t flags, std::uint32_t sequence, std::uint32_t length) {
    TcpBuilder::Segment segment;
    segment.sourcePort = ntohs(state_.local.sin_port);
    segment.destinationPort = ntohs(state_.remote.sin_port);
    segment.sequence = sequence;
    segment.acknowledgment = receiveNext_;
    segment.flags = static_cast<std::uint8_t>(flags | TcpView::kAck);
    segment.window = static_cast<std::uint16_t>(window());
    if (state_.timestamps) segment.options.timestamps = TcpOptions::Timestamps{timestampNow(), timestampRecent_};
    if (state_.sackPermitted && !held_.empty())
        segment.options.sackBlocks = static_cast<std::uint8_t>(
            held_.sackBlocks(receiveNext_, segment.options.sack.data(), state_.timestamps ? 3 : 4));
    if (length > 0) {
        if (output_.send(segment, state_.local.sin_addr, state_.remote.sin_addr, sendQueue_, length) != 0) return false;
        statistics_.dataSegmentsOut++;
        statistics_.bytesOut += length;
    } else if (output_.send(segment, state_.local.sin_addr, state_.remote.sin_addr) != 0) {
        return false;
    }
    statistics_.segmentsOut++;
    if (flags == TcpView::kAck && length == 0) statistics_.acksSent++;
    ackOwed_ = 0;
    return true;
}

// ---- close and hand-back ------------------------------------------------------------------------

void TcpControlBlock::close() {
    if (phase_ == Phase::closed || phase_ == Phase::reset || orphaned_) return;
    completeAll(ECANCELED, false);
    if (phase_ != Phase::established && phase_ != Phase::handBackPending) {
        // The peer's FIN came or ours is queued: a graceful end, our FIN after the data.
        shutdownSend();
        orphaned_ = true;
        return;
    }
    // Unread data may be coming and the application said nothing of our side: abort as the
    // kernel's close() does with unread data (RFC 9293 section 3.10.4).
    abort(ECANCELED);
}

TcpConnectionState TcpControlBlock::handBackState() {
    completeAll(ECANCELED, false);
    TcpConnectionState state = state_;
    std::vector<std::uint8_t> unacknowledged;
    sendQueue_.drain(unacknowledged, [&](const TcpSendQueue::Buffer& buffer) {
        completions_.complete(TcpCompletion{handle_, buffer.cookie, const_cast<std::uint8_t*>(buffer.data),
                                            buffer.length, false, 0, true});
        statistics_.sendCompletions++;
    });
    state.receiveQueue.assign(state_.receiveQueue.begin() + static_cast<std::ptrdiff_t>(backlogOffset_),
                              state_.receiveQueue.end());
    held_.dropFrom(receiveNext_);  // beyond a gap: never acknowledged, the peer sends it again
    while (!held_.empty()) {
        const TcpReassemblyQueue::Segment& segment = held_.front();
        state.receiveQueue.insert(state.receiveQueue.end(), segment.data, segment.data + segment.length);
        held_.consumeFront(segment.length);
    }
    state.readSequence = placed_;
    state.receiveNext = receiveNext_;
    // The kernel takes every byte not acknowledged; what was never sent it sends as new data.
    std::uint32_t queueEnd = sendUnacknowledged_ + static_cast<std::uint32_t>(unacknowledged.size());
    state.sendUnacknowledged = sendUnacknowledged_;
    state.sendNext = queueEnd;
    state.unsentBytes = sequenceBefore(sendMax_, queueEnd) ? queueEnd - sendMax_ : 0;
    state.sendQueue = std::move(unacknowledged);
    state.timestampClock = timestampNow();
    state.sendWindowUpdateSequence = sendWindowUpdate_;
    state.receiveWindow = advertisedRight_ - windowUpdate_;
    state.receiveWindowUpdate = windowUpdate_;
    phase_ = Phase::closed;
    return state;
}

}  // namespace nexnet
