#pragma once
// FuzzInput: a fuzz target's input read as a stream of choices and values. Past the end every
// read returns 0, so a target never reads outside the input and short inputs stay meaningful.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nexnet::fuzz {

class FuzzInput {
public:
    FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    /// Whether bytes are left.
    bool more() const { return at_ < size_; }
    /// The next @p N-byte little-endian value (0 past the end).
    template <typename T>
    T take() {
        T value{};
        std::size_t n = size_ - at_ < sizeof(T) ? size_ - at_ : sizeof(T);
        std::memcpy(&value, data_ + at_, n);
        at_ += n;
        return value;
    }
    /// A value below @p bound (0 when @p bound is 0).
    std::uint32_t below(std::uint32_t bound) { return bound == 0 ? 0 : take<std::uint32_t>() % bound; }
    /// A choice among @p count.
    unsigned choose(unsigned count) { return count == 0 ? 0 : take<std::uint8_t>() % count; }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

}  // namespace nexnet::fuzz
