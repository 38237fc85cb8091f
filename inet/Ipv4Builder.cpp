#include "inet/Ipv4Builder.h"

#include "inet/HeaderPush.h"
#include "inet/Ipv4View.h"
#include "inet/NetworkOrder.h"

#include <cerrno>

namespace nexnet {

int Ipv4Builder::push(Netbuf& packet, const Fields& fields) {
    if (packet.size() + kHeaderSize > 0xffff) return EMSGSIZE;
    if (fields.fragmentOffset % 8 != 0 || fields.fragmentOffset / 8 > 0x1fff) return EINVAL;
    std::uint8_t* ip = pushHeader(packet, kHeaderSize);
    if (ip == nullptr) return ERANGE;
    ip[0] = 0x45;  // version 4, IHL 5
    ip[1] = fields.tos;
    storeBig16(ip + 2, static_cast<std::uint16_t>(packet.size()));
    storeBig16(ip + 4, fields.identification);
    std::uint16_t fragment = static_cast<std::uint16_t>(fields.fragmentOffset / 8);
    if (fields.dontFragment) fragment |= 0x4000;
    if (fields.moreFragments) fragment |= 0x2000;
    storeBig16(ip + 6, fragment);
    ip[8] = fields.ttl;
    ip[9] = fields.protocol;
    storeNetwork32(ip + 12, fields.source.s_addr);
    storeNetwork32(ip + 16, fields.destination.s_addr);
    Ipv4View::parse(std::span<std::uint8_t>(ip, packet.size())).updateHeaderChecksum();
    return 0;
}

}  // namespace nexnet
