#include "RawResponder.h"

#include <cstring>

namespace nexnet {

namespace {

constexpr std::uint32_t kEthernet = 14;
constexpr std::uint32_t kArp = 28;

unsigned type(const std::uint8_t* frame) { return (unsigned{frame[12]} << 8) | frame[13]; }

// IPv4 ICMP type of the frame, or -1 when it is not a well-formed IPv4 ICMP packet.
int icmpType(const std::uint8_t* frame, std::uint32_t length) {
    if (length < kEthernet + 20 + 8 || type(frame) != 0x0800) return -1;
    const std::uint8_t* ip = frame + kEthernet;
    std::uint32_t headerLength = (ip[0] & 0x0f) * 4u;
    if ((ip[0] >> 4) != 4 || headerLength < 20 || length < kEthernet + headerLength + 8 || ip[9] != 1) return -1;
    return ip[headerLength];
}

// RFC 1624 incremental update of a checksum when a 16-bit word changes from @p from to @p to.
std::uint16_t adjust(std::uint16_t checksum, std::uint16_t from, std::uint16_t to) {
    std::uint32_t sum = static_cast<std::uint16_t>(~checksum) + static_cast<std::uint16_t>(~from) + std::uint32_t{to};
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

}  // namespace

RawResponder::RawResponder(in_addr ip, const std::uint8_t mac[6]) : ip_(ip) { std::memcpy(mac_, mac, 6); }

bool RawResponder::isEchoRequest(const std::uint8_t* frame, std::uint32_t length) {
    return icmpType(frame, length) == 8;
}

bool RawResponder::isEchoReply(const std::uint8_t* frame, std::uint32_t length) { return icmpType(frame, length) == 0; }

bool RawResponder::answer(std::uint8_t* frame, std::uint32_t length) {
    if (length < kEthernet) return false;
    if (type(frame) == 0x0806) return answerArp(frame, length);
    return answerEcho(frame, length);
}

bool RawResponder::answerArp(std::uint8_t* frame, std::uint32_t length) {
    if (length < kEthernet + kArp) return false;
    std::uint8_t* arp = frame + kEthernet;
    bool request = arp[0] == 0 && arp[1] == 1 && arp[2] == 8 && arp[3] == 0 && arp[6] == 0 && arp[7] == 1;
    if (!request || std::memcmp(arp + 24, &ip_, 4) != 0) return false;
    arp[7] = 2;                          // reply
    std::memcpy(arp + 18, arp + 8, 10);  // target = the asker (MAC + IP)
    std::memcpy(arp + 8, mac_, 6);       // sender = us
    std::memcpy(arp + 14, &ip_, 4);
    std::memcpy(frame, arp + 18, 6);
    std::memcpy(frame + 6, mac_, 6);
    return true;
}

bool RawResponder::answerEcho(std::uint8_t* frame, std::uint32_t length) {
    if (icmpType(frame, length) != 8) return false;
    std::uint8_t* ip = frame + kEthernet;
    if (std::memcmp(ip + 16, &ip_, 4) != 0) return false;
    std::uint8_t* icmp = ip + (ip[0] & 0x0f) * 4u;
    std::memcpy(ip + 16, ip + 12, 4);  // destination = the asker; the IP checksum is unchanged
    std::memcpy(ip + 12, &ip_, 4);
    std::uint16_t checksum = static_cast<std::uint16_t>((icmp[2] << 8) | icmp[3]);
    checksum = adjust(checksum, 0x0800, 0x0000);  // type 8 -> 0, code 0
    icmp[0] = 0;
    icmp[2] = static_cast<std::uint8_t>(checksum >> 8);
    icmp[3] = static_cast<std::uint8_t>(checksum);
    std::memcpy(frame, frame + 6, 6);
    std::memcpy(frame + 6, mac_, 6);
    return true;
}

}  // namespace nexnet
