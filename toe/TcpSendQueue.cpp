#include "toe/TcpSendQueue.h"

#include <algorithm>
#include <cerrno>

namespace nexnet {

void TcpSendQueue::adopt(std::vector<std::uint8_t> bytes) {
    if (bytes.empty()) return;
    kernelBytes_ = std::move(bytes);
    // In front of whatever is queued (nothing, at the hand-off).
    head_ = (head_ + static_cast<unsigned>(buffers_.size()) - 1) % buffers_.size();
    buffers_[head_] = Buffer{kernelBytes_.data(), kernelBytes_.size(), 0, true};
    ++count_;
    bytes_ += kernelBytes_.size();
}

int TcpSendQueue::post(const std::uint8_t* data, std::size_t length, std::uint64_t cookie) {
    if (data == nullptr || length == 0) return EINVAL;
    if (posted() == kMaxPosted || count_ == buffers_.size()) return ENOBUFS;
    if (bytes_ + length >= (1ull << 31)) return ENOBUFS;  // sequence space: within 2^31 of SND.UNA
    buffers_[(head_ + count_) % buffers_.size()] = Buffer{data, length, cookie, false};
    ++count_;
    bytes_ += length;
    return 0;
}

unsigned TcpSendQueue::posted() const { return count_ - (count_ > 0 && buffers_[head_].owned ? 1 : 0); }

std::uint32_t TcpSendQueue::copy(std::uint32_t sequence, std::uint8_t* out, std::uint32_t length) const {
    std::uint64_t offset = headOffset_ + (sequence - start_);
    std::uint32_t done = 0;
    for (unsigned i = 0; i < count_ && done < length; ++i) {
        const Buffer& buffer = buffers_[(head_ + i) % buffers_.size()];
        if (offset >= buffer.length) {
            offset -= buffer.length;
            continue;
        }
        std::size_t n = std::min<std::size_t>(buffer.length - offset, length - done);
        std::copy_n(buffer.data + offset, n, out + done);
        done += static_cast<std::uint32_t>(n);
        offset = 0;
    }
    return done;
}

void TcpSendQueue::pop() {
    if (buffers_[head_].owned) {
        kernelBytes_.clear();
        kernelBytes_.shrink_to_fit();
    }
    buffers_[head_] = Buffer{};
    head_ = (head_ + 1) % buffers_.size();
    --count_;
}

}  // namespace nexnet
