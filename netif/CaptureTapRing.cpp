#include "netif/CaptureTapRing.h"

#include <algorithm>
#include <cstring>

namespace nexnet {

namespace {
struct Header {
    std::uint32_t captured;
    std::uint32_t length;
    std::uint64_t nanoseconds;
};
static_assert(sizeof(Header) == 16);
}  // namespace

CaptureTapRing::CaptureTapRing(std::size_t bytes)
    : capacity_(std::max<std::size_t>(64, (bytes + 15) & ~std::size_t{15})), buffer_(new std::uint8_t[capacity_]) {}

bool CaptureTapRing::push(const std::uint8_t* frame, std::uint32_t captured, std::uint32_t length,
                          std::uint64_t nanoseconds) {
    if (captured > largestRecord()) return false;
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::size_t offset = head % capacity_;
    const std::size_t size = recordBytes(captured);
    const std::size_t pad = capacity_ - offset < size ? capacity_ - offset : 0;
    if (capacity_ - (head - cachedTail_) < pad + size) {
        cachedTail_ = tail_.load(std::memory_order_acquire);  // look again only when short of room
        if (capacity_ - (head - cachedTail_) < pad + size) return false;
    }
    std::uint64_t at = head;
    if (pad != 0) {
        Header marker{kPad, 0, 0};
        std::memcpy(&buffer_[offset], &marker, sizeof marker);
        at += pad;
    }
    Header header{captured, length, nanoseconds};
    std::uint8_t* slot = &buffer_[at % capacity_];
    std::memcpy(slot, &header, sizeof header);
    std::memcpy(slot + kHeader, frame, captured);
    head_.store(at + size, std::memory_order_release);  // publishes the bytes above
    return true;
}

bool CaptureTapRing::pop(Record& record) {
    std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    while (tail != head) {
        Header header;
        std::memcpy(&header, &buffer_[tail % capacity_], sizeof header);
        if (header.captured == kPad) {
            tail += capacity_ - tail % capacity_;
            tail_.store(tail, std::memory_order_release);
            continue;
        }
        record.data = &buffer_[tail % capacity_ + kHeader];
        record.captured = header.captured;
        record.length = header.length;
        record.nanoseconds = header.nanoseconds;
        popped_ = tail + recordBytes(header.captured);
        return true;
    }
    return false;
}

void CaptureTapRing::release() { tail_.store(popped_, std::memory_order_release); }

}  // namespace nexnet
