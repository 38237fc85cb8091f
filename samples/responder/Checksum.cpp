#include "samples/responder/Checksum.h"

namespace nexnet {

namespace {
std::uint16_t fold(std::uint64_t sum) {
    while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}
}  // namespace

void Checksum::add(const void* data, std::size_t length) {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    std::size_t i = 0;
    for (; i + 1 < length; i += 2) sum_ += static_cast<std::uint32_t>(bytes[i] << 8 | bytes[i + 1]);
    if (i < length) sum_ += static_cast<std::uint32_t>(bytes[i] << 8);
}

std::uint16_t Checksum::value() const { return static_cast<std::uint16_t>(~fold(sum_)); }

std::uint16_t Checksum::compute(const void* data, std::size_t length) {
    Checksum checksum;
    checksum.add(data, length);
    return checksum.value();
}

std::uint16_t Checksum::update(std::uint16_t checksum, std::uint16_t oldWord, std::uint16_t newWord) {
    std::uint64_t sum = static_cast<std::uint16_t>(~checksum);
    sum += static_cast<std::uint16_t>(~oldWord);
    sum += newWord;
    return static_cast<std::uint16_t>(~fold(sum));
}

}  // namespace nexnet
