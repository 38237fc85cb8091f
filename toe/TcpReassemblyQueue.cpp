#include "toe/TcpReassemblyQueue.h"

#include "netbuf/Netbuf.h"
#include "toe/TcpSequence.h"

namespace nexnet {

TcpReassemblyQueue::TcpReassemblyQueue(unsigned capacity) : capacity_(capacity == 0 ? 1 : capacity) {
    segments_.reserve(capacity_ + 1);
}

TcpReassemblyQueue::~TcpReassemblyQueue() { dropFrom(segments_.empty() ? 0 : segments_.front().sequence); }

void TcpReassemblyQueue::release(std::size_t index) {
    segments_[index].netbuf->free();
    segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(index));
}

TcpReassemblyQueue::Insert TcpReassemblyQueue::insert(std::uint32_t sequence, const std::uint8_t* data,
                                                      std::uint32_t length, Netbuf* netbuf) {
    std::uint32_t start = sequence, end = sequence + length;
    // What the new segment covers entirely goes: it carries those bytes itself.
    for (std::size_t i = 0; i < segments_.size();) {
        const Segment& held = segments_[i];
        if (sequenceAtOrBefore(start, held.sequence) && sequenceAtOrBefore(held.end(), end)) release(i);
        else ++i;
    }
    // Now at most one held segment overlaps each end of the new one: trim the new one to the gap.
    std::size_t at = 0;
    for (; at < segments_.size(); ++at) {
        const Segment& held = segments_[at];
        if (sequenceAtOrBefore(held.sequence, start) && sequenceBefore(start, held.end())) start = held.end();
        if (sequenceBefore(start, held.sequence)) {
            if (sequenceBefore(held.sequence, end)) end = held.sequence;
            break;
        }
    }
    if (!sequenceBefore(start, end)) return Insert::duplicate;
    if (segments_.size() == capacity_) {
        if (at == segments_.size()) return Insert::full;
        release(segments_.size() - 1);
    }
    Segment segment{start, end - start, data + (start - sequence), netbuf};
    segments_.insert(segments_.begin() + static_cast<std::ptrdiff_t>(at), segment);
    return Insert::held;
}

std::uint32_t TcpReassemblyQueue::contiguousEnd(std::uint32_t from) const {
    for (const Segment& held : segments_) {
        if (sequenceBefore(from, held.sequence)) break;
        if (sequenceBefore(from, held.end())) from = held.end();
    }
    return from;
}

void TcpReassemblyQueue::consumeFront(std::uint32_t bytes) {
    Segment& first = segments_.front();
    first.sequence += bytes;
    first.data += bytes;
    first.length -= bytes;
    if (first.length == 0) release(0);
}

void TcpReassemblyQueue::dropFrom(std::uint32_t sequence) {
    while (!segments_.empty() && sequenceAtOrBefore(sequence, segments_.back().sequence)) release(segments_.size() - 1);
    if (!segments_.empty() && sequenceBefore(sequence, segments_.back().end()))
        segments_.back().length = sequence - segments_.back().sequence;
}

unsigned TcpReassemblyQueue::sackBlocks(std::uint32_t after, TcpOptions::SackBlock* out, unsigned max) const {
    unsigned count = 0;
    for (const Segment& held : segments_) {
        if (sequenceAtOrBefore(held.end(), after)) continue;
        if (count > 0 && out[count - 1].right == held.sequence) {
            out[count - 1].right = held.end();
            continue;
        }
        if (count == max) break;
        out[count++] = {held.sequence, held.end()};
    }
    return count;
}

}  // namespace nexnet
