#pragma once
/// @file TcpSendQueue.h
/// @brief TcpSendQueue: the bytes of one offloaded connection from SND.UNA on, in the application's
/// posted send buffers (and, first, the kernel's send queue taken at the hand-off).

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nexnet {

/// What an offloaded connection has to send and has not seen acknowledged, in sequence order: the
/// kernel's unacknowledged and unsent bytes captured at the hand-off (owned here, sent first),
/// then the buffers the application posted with TcpOffloadEngine::postSend (not copied: the
/// engine reads them each time it builds a segment, so they stay the application's memory until
/// their completion). A buffer completes when the peer acknowledged all of it.
/// @verbatim
///   start() = SND.UNA                                         end()
///     | kernel's bytes | buffer 1 | buffer 2 | ... | buffer n |
/// @endverbatim
/// Bounded (kMaxPosted buffers); no allocation after the hand-off. The interface's thread only.
class TcpSendQueue {
public:
    /// Most application buffers queued at once.
    static constexpr unsigned kMaxPosted = 64;
    /// One application buffer.
    struct Buffer {
        const std::uint8_t* data = nullptr;  ///< The application's bytes.
        std::size_t length = 0;              ///< Their count.
        std::uint64_t cookie = 0;            ///< The application's cookie.
        bool owned = false;                  ///< The kernel's bytes (no completion).
    };

    /// An empty queue whose first byte will be sequence @p start.
    explicit TcpSendQueue(std::uint32_t start) : start_(start) {}
    /// Takes the kernel's send queue (@p bytes from start()): sent before any posted buffer.
    void adopt(std::vector<std::uint8_t> bytes);
    /// Appends @p length bytes at @p data. @return 0, EINVAL (empty), ENOBUFS (kMaxPosted queued).
    int post(const std::uint8_t* data, std::size_t length, std::uint64_t cookie);
    /// The sequence number of the first byte held (SND.UNA).
    std::uint32_t start() const { return start_; }
    /// The sequence number after the last byte held.
    std::uint32_t end() const { return start_ + static_cast<std::uint32_t>(bytes_); }
    /// Bytes held.
    std::uint64_t size() const { return bytes_; }
    /// Application buffers held.
    unsigned posted() const;
    /// Copies @p length bytes from sequence @p sequence (within [start(), end())) to @p out.
    /// @return the bytes copied (fewer at the end).
    std::uint32_t copy(std::uint32_t sequence, std::uint8_t* out, std::uint32_t length) const;
    /// Drops the bytes before @p acknowledgment (clamped to end()) and calls @p done(buffer) for
    /// each application buffer wholly acknowledged, oldest first.
    template <typename Done>
    void acknowledge(std::uint32_t acknowledgment, Done&& done) {
        std::uint32_t bytes = acknowledgment - start_;
        if (bytes > bytes_) bytes = static_cast<std::uint32_t>(bytes_);
        start_ += bytes;
        bytes_ -= bytes;
        headOffset_ += bytes;
        while (count_ > 0 && headOffset_ >= buffers_[head_].length) {
            Buffer finished = buffers_[head_];
            headOffset_ -= finished.length;
            pop();
            if (!finished.owned) done(finished);
        }
    }
    /// Empties the queue into @p out (its bytes, from start()) and calls @p done(buffer) for each
    /// application buffer: the hand-back, where the kernel takes every byte over.
    template <typename Done>
    void drain(std::vector<std::uint8_t>& out, Done&& done) {
        out.resize(static_cast<std::size_t>(bytes_));
        copy(start_, out.data(), static_cast<std::uint32_t>(bytes_));
        discard(done);
    }
    /// Empties the queue, calling @p done(buffer) for each application buffer (an abort).
    template <typename Done>
    void discard(Done&& done) {
        while (count_ > 0) {
            Buffer finished = buffers_[head_];
            pop();
            if (!finished.owned) done(finished);
        }
        start_ += static_cast<std::uint32_t>(bytes_);
        bytes_ = 0;
        headOffset_ = 0;
    }

private:
    void pop();

    std::array<Buffer, kMaxPosted + 1> buffers_{};  // + 1: the kernel's bytes
    unsigned head_ = 0, count_ = 0;
    std::size_t headOffset_ = 0;  // acknowledged bytes of the front buffer
    std::uint32_t start_;
    std::uint64_t bytes_ = 0;
    std::vector<std::uint8_t> kernelBytes_;
};

}  // namespace nexnet
