#pragma once
/// @file TcpOptions.h
/// @brief TcpOptions: the TCP options a segment carries (MSS, window scale, SACK, timestamps).

#include <array>
#include <cstdint>
#include <optional>

namespace nexnet {

/// The TCP options nexnet reads and writes: MSS (RFC 9293 section 3.7.1), window scale and
/// timestamps (RFC 7323), SACK-permitted and SACK blocks (RFC 2018). Other options are skipped
/// when read. A plain value: TcpView::options() fills one, TcpBuilder writes one.
struct TcpOptions {
    /// One SACK block: the left and right edges of a received range (sequence numbers).
    struct SackBlock {
        std::uint32_t left = 0;   ///< First sequence number of the block.
        std::uint32_t right = 0;  ///< Sequence number after the block.
    };
    /// The timestamps option (RFC 7323 section 3).
    struct Timestamps {
        std::uint32_t value = 0;  ///< TSval: the sender's clock.
        std::uint32_t echo = 0;   ///< TSecr: the TSval being echoed.
    };
    /// Most SACK blocks an option holds (40 bytes of options: 2 + 4 * 8 = 34).
    static constexpr unsigned kMaxSackBlocks = 4;
    /// Most option bytes in a header (data offset 15).
    static constexpr unsigned kMaxLength = 40;

    static constexpr std::uint8_t kEnd = 0;            ///< End of option list.
    static constexpr std::uint8_t kNop = 1;            ///< No-operation.
    static constexpr std::uint8_t kMss = 2;            ///< Maximum segment size, length 4.
    static constexpr std::uint8_t kWindowScale = 3;    ///< Window scale, length 3.
    static constexpr std::uint8_t kSackPermitted = 4;  ///< SACK permitted, length 2.
    static constexpr std::uint8_t kSack = 5;           ///< SACK, length 2 + 8n.
    static constexpr std::uint8_t kTimestamps = 8;     ///< Timestamps, length 10.

    std::optional<std::uint16_t> mss;              ///< Maximum segment size (SYN only).
    std::optional<std::uint8_t> windowScale;       ///< Shift count (SYN only, at most 14).
    bool sackPermitted = false;                    ///< SACK permitted (SYN only).
    std::optional<Timestamps> timestamps;          ///< Timestamps.
    std::array<SackBlock, kMaxSackBlocks> sack{};  ///< SACK blocks, sackBlocks of them used.
    std::uint8_t sackBlocks = 0;                   ///< SACK blocks present.

    /// Bytes write() produces: the options, padded with No-ops to a multiple of 4. When more
    /// SACK blocks are set than fit beside the other options in 40 bytes, the last are left out.
    unsigned encodedLength() const;
    /// Writes the options at @p out (room for encodedLength() bytes), in the order Linux uses
    /// (MSS, SACK-permitted and timestamps, window scale, SACK), aligned with No-ops.
    /// @return the bytes written, a multiple of 4.
    unsigned write(std::uint8_t* out) const;
    /// Reads the options in @p length bytes at @p options; false (and this unchanged in part)
    /// for a malformed list: an option other than End and No-op with a length under 2 or past
    /// the end, or a known option of the wrong length.
    bool read(const std::uint8_t* options, unsigned length);

private:
    unsigned sackFitting() const;
};

}  // namespace nexnet
