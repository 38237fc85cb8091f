#include "samples/responder/ResponderStatistics.h"

#include <numeric>

namespace nexnet {

std::uint64_t ResponderStatistics::totalDrops() const {
    return std::accumulate(drops.begin(), drops.end(), std::uint64_t{0});
}

std::string ResponderStatistics::format() const {
    std::string line = "rx=" + std::to_string(received) + " tx=" + std::to_string(transmitted) +
                       " arp=" + std::to_string(arpReplies) + " icmp=" + std::to_string(icmpReplies) +
                       " udp=" + std::to_string(udpReplies) + " ignored=" + std::to_string(ignored) +
                       " tx-drops=" + std::to_string(transmitDrops) + " drops=" + std::to_string(totalDrops());
    for (std::size_t i = 0; i < kDropReasonCount; ++i) {
        if (drops[i] == 0) continue;  // only the reasons that happened: the line stays readable
        line += ' ';
        line += dropReasonName(static_cast<DropReason>(i));
        line += '=' + std::to_string(drops[i]);
    }
    return line;
}

}  // namespace nexnet
