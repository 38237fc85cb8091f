#include "netbuf/InternetChecksum.h"

#include "netbuf/Netbuf.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>

namespace nexnet {

namespace {

// Adds with end-around carry: the one's complement addition of RFC 1071 section 2(A).
inline std::uint64_t addCarry(std::uint64_t sum, std::uint64_t value) {
    sum += value;
    return sum + (sum < value ? 1 : 0);
}

inline std::uint16_t fold64(std::uint64_t sum) {
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

inline std::uint16_t swap16(std::uint16_t value) { return static_cast<std::uint16_t>(value << 8 | value >> 8); }

// The machine-order sum of @p length bytes starting at an even offset.
std::uint64_t sumBytes(const std::uint8_t* bytes, std::size_t length) {
    std::uint64_t sum = 0;
    // Four 8-byte loads per round: the carries of independent adds overlap in the pipeline.
    while (length >= 32) {
        std::uint64_t w[4];
        std::memcpy(w, bytes, sizeof w);
        sum = addCarry(sum, w[0]);
        sum = addCarry(sum, w[1]);
        sum = addCarry(sum, w[2]);
        sum = addCarry(sum, w[3]);
        bytes += 32;
        length -= 32;
    }
    while (length >= 8) {
        std::uint64_t w;
        std::memcpy(&w, bytes, sizeof w);
        sum = addCarry(sum, w);
        bytes += 8;
        length -= 8;
    }
    if (length >= 4) {
        std::uint32_t w;
        std::memcpy(&w, bytes, sizeof w);
        sum = addCarry(sum, w);
        bytes += 4;
        length -= 4;
    }
    if (length >= 2) {
        std::uint16_t w;
        std::memcpy(&w, bytes, sizeof w);
        sum = addCarry(sum, w);
        bytes += 2;
        length -= 2;
    }
    if (length == 1) {
        std::uint8_t pair[2] = {bytes[0], 0};  // RFC 1071 4.1: a last odd byte is padded with zero
        std::uint16_t w;
        std::memcpy(&w, pair, sizeof w);
        sum = addCarry(sum, w);
    }
    return sum;
}

}  // namespace

InternetChecksum& InternetChecksum::add(const void* data, std::size_t length) {
    if (length == 0) return *this;
    std::uint64_t piece = sumBytes(static_cast<const std::uint8_t*>(data), length);
    // A piece starting at an odd offset has its bytes in the other half of each word: the sum
    // of byte-swapped words is the byte-swapped sum (RFC 1071 section 2(B)).
    if (odd_) piece = swap16(fold64(piece));
    sum_ = addCarry(sum_, piece);
    if ((length & 1) != 0) odd_ = !odd_;
    return *this;
}

InternetChecksum& InternetChecksum::addWord(std::uint16_t hostOrder) {
    sum_ = addCarry(sum_, htons(hostOrder));
    return *this;
}

InternetChecksum& InternetChecksum::addAddress(std::uint32_t networkOrder) {
    sum_ = addCarry(sum_, networkOrder);
    return *this;
}

InternetChecksum& InternetChecksum::addSum(const InternetChecksum& other) {
    std::uint64_t piece = other.sum_;
    if (odd_) piece = swap16(fold64(piece));
    sum_ = addCarry(sum_, piece);
    if (other.odd_) odd_ = !odd_;
    return *this;
}

std::uint16_t InternetChecksum::folded() const { return ntohs(fold64(sum_)); }

std::uint16_t InternetChecksum::compute(const void* data, std::size_t length) {
    return InternetChecksum().add(data, length).value();
}

InternetChecksum InternetChecksum::pseudoHeader(std::uint32_t source, std::uint32_t destination, std::uint8_t protocol,
                                                std::uint16_t length) {
    InternetChecksum sum;
    sum.addAddress(source).addAddress(destination).addWord(protocol).addWord(length);
    return sum;
}

std::uint16_t InternetChecksum::update(std::uint16_t checksum, std::uint16_t oldWord, std::uint16_t newWord) {
    std::uint64_t sum = static_cast<std::uint16_t>(~checksum);
    sum += static_cast<std::uint16_t>(~oldWord);
    sum += newWord;
    return static_cast<std::uint16_t>(~fold64(sum));
}

std::uint16_t InternetChecksum::update32(std::uint16_t checksum, std::uint32_t oldValue, std::uint32_t newValue) {
    oldValue = ntohl(oldValue);
    newValue = ntohl(newValue);
    checksum = update(checksum, static_cast<std::uint16_t>(oldValue >> 16), static_cast<std::uint16_t>(newValue >> 16));
    return update(checksum, static_cast<std::uint16_t>(oldValue), static_cast<std::uint16_t>(newValue));
}

int finishPartialChecksum(Netbuf& packet) {
    NetbufOffload& offload = packet.offload();
    if (!offload.needsChecksum()) return 0;
    if (!offload.isConsistentWith(packet.size())) return EINVAL;
    std::uint8_t* start = packet.data() + offload.csumStart;
    std::uint16_t value = InternetChecksum::compute(start, packet.size() - offload.csumStart);
    if (value == 0) value = 0xffff;
    value = htons(value);
    std::memcpy(start + offload.csumOffset, &value, sizeof value);
    offload.flags = static_cast<std::uint8_t>(offload.flags & ~NetbufOffload::kNeedsChecksum);
    return 0;
}

}  // namespace nexnet
