#pragma once
/// @file TcpSackScoreboard.h
/// @brief TcpSackScoreboard: what the peer's SACK blocks say it holds (RFC 6675's scoreboard).

#include "inet/TcpOptions.h"

#include <array>
#include <cstdint>

namespace nexnet {

/// The ranges above SND.UNA the peer reported in SACK blocks (RFC 2018), sorted and merged, and
/// RFC 6675's questions about them, answered per hole (every byte of a hole has the same SACKed
/// bytes above it, so a per-byte answer is the same for the whole hole):
/// - isLost(S): three discontiguous SACKed ranges above S, or more than 2 SMSS SACKed above it;
/// - pipe(): SetPipe, the bytes still in the network;
/// - nextHole(): NextSeg's rules 1 and 3, the first unSACKed byte after HighRxt.
///
/// Bounded (kMaxRanges; a block past it is forgotten: the peer sends it again). A receiver may
/// renege on SACKed data (RFC 2018 section 8): the caller clears the board when its timer expires.
/// A plain value on the interface's thread; no allocation.
class TcpSackScoreboard {
public:
    /// Most ranges kept.
    static constexpr unsigned kMaxRanges = 32;
    /// One SACKed range [left, right).
    struct Range {
        std::uint32_t left = 0;   ///< First sequence number.
        std::uint32_t right = 0;  ///< Sequence number after the last.
    };

    /// Adds @p count blocks, keeping only what lies in (@p unacknowledged, @p highData].
    /// @return the bytes newly SACKed.
    std::uint32_t update(const TcpOptions::SackBlock* blocks, unsigned count, std::uint32_t unacknowledged,
                         std::uint32_t highData);
    /// Forgets what @p unacknowledged (the new SND.UNA) covers.
    void acknowledge(std::uint32_t unacknowledged);
    /// Forgets everything.
    void clear() { count_ = 0; }
    /// True when nothing is SACKed.
    bool empty() const { return count_ == 0; }
    /// Ranges held.
    unsigned size() const { return count_; }
    /// Range @p i, lowest first.
    const Range& range(unsigned i) const { return ranges_[i]; }
    /// Bytes SACKed.
    std::uint32_t sackedBytes() const;
    /// RFC 6675's IsLost(@p sequence) for segments of @p mss bytes.
    bool isLost(std::uint32_t sequence, std::uint32_t mss) const;
    /// RFC 6675's SetPipe: bytes outstanding between @p unacknowledged and @p highData that are
    /// neither SACKed nor lost, plus those retransmitted below @p highRetransmitted.
    std::uint32_t pipe(std::uint32_t unacknowledged, std::uint32_t highData, std::uint32_t highRetransmitted,
                       std::uint32_t mss) const;
    /// The first hole byte at or after @p from (below the highest SACKed byte): [@p start, @p end),
    /// and whether it is lost. @return false when no hole remains.
    bool nextHole(std::uint32_t from, std::uint32_t unacknowledged, std::uint32_t mss, std::uint32_t& start,
                  std::uint32_t& end, bool& lost) const;

private:
    void insert(Range range);

    std::array<Range, kMaxRanges> ranges_{};
    unsigned count_ = 0;
};

}  // namespace nexnet
