#pragma once
/// @file TcpReassemblyQueue.h
/// @brief TcpReassemblyQueue: received TCP payload not yet placed, held in its netbufs, bounded.

#include "inet/TcpOptions.h"

#include <cstdint>
#include <vector>

namespace nexnet {

class Netbuf;

/// The segments of one connection that arrived but cannot be placed yet: out of order (a gap
/// before them), or in order with no posted buffer room (seed claims 1, 2: placement waits for
/// the application's buffers). They stay in the netbufs the driver received them in (no copy),
/// sorted by sequence number and never overlapping: what arrives is trimmed against what is held,
/// so duplicates and overlaps are dropped here (RFC 9293 section 3.10.7.4).
///
/// Bounded by a count of segments fixed at construction (no allocation afterwards). When full, a
/// segment earlier than the last one held takes the last one's place (the gap nearest the left
/// edge is what unblocks placement); a later one is refused. Used on the interface's thread only.
class TcpReassemblyQueue {
public:
    /// One held range of payload.
    struct Segment {
        std::uint32_t sequence = 0;          ///< Sequence number of data[0].
        std::uint32_t length = 0;            ///< Bytes held.
        const std::uint8_t* data = nullptr;  ///< The payload, inside netbuf.
        Netbuf* netbuf = nullptr;            ///< Owned by the queue while held.
        /// The sequence number after the last byte.
        std::uint32_t end() const { return sequence + length; }
    };
    /// What insert() did with a segment.
    enum class Insert : std::uint8_t {
        held,       ///< Held (perhaps trimmed): the queue owns the netbuf.
        duplicate,  ///< Every byte was already held: the caller still owns the netbuf.
        full,       ///< No room: the caller still owns the netbuf.
    };

    /// A queue holding at most @p capacity segments.
    explicit TcpReassemblyQueue(unsigned capacity);
    /// Frees the netbufs held.
    ~TcpReassemblyQueue();
    TcpReassemblyQueue(const TcpReassemblyQueue&) = delete;
    TcpReassemblyQueue& operator=(const TcpReassemblyQueue&) = delete;

    /// Holds @p length bytes at @p data (inside @p netbuf) starting at @p sequence, trimmed
    /// against what is held. A segment that evicts the last one frees that one's netbuf.
    Insert insert(std::uint32_t sequence, const std::uint8_t* data, std::uint32_t length, Netbuf* netbuf);
    /// The sequence number after the run of held bytes that starts at or before @p from and
    /// reaches it without a gap; @p from itself when none does.
    std::uint32_t contiguousEnd(std::uint32_t from) const;
    /// True when nothing is held.
    bool empty() const { return segments_.empty(); }
    /// Segments held.
    unsigned size() const { return static_cast<unsigned>(segments_.size()); }
    /// The earliest segment held (not empty()).
    const Segment& front() const { return segments_.front(); }
    /// Drops @p bytes from the front of the earliest segment, freeing its netbuf when none are
    /// left. @p bytes at most front().length.
    void consumeFront(std::uint32_t bytes);
    /// Frees every segment at or after @p sequence (what hand-back cannot pass on).
    void dropFrom(std::uint32_t sequence);
    /// Fills up to @p max SACK blocks (RFC 2018 section 4: the most recent first would be ideal;
    /// these are the earliest) with the held ranges after @p after. @return the blocks filled.
    unsigned sackBlocks(std::uint32_t after, TcpOptions::SackBlock* out, unsigned max) const;

private:
    void release(std::size_t index);

    std::vector<Segment> segments_;
    unsigned capacity_;
};

}  // namespace nexnet
