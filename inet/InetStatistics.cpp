#include "inet/InetStatistics.h"

#include <numeric>

namespace nexnet {

std::uint64_t InetStatistics::totalDrops() const {
    return std::accumulate(drops.begin(), drops.end(), std::uint64_t{0}) +
        std::accumulate(headerErrors.begin(), headerErrors.end(), std::uint64_t{0});
}

namespace {
void appendPair(std::string& line, std::string_view key, std::uint64_t value) {
    if (!line.empty()) line.push_back(' ');
    line.append(key);
    line.push_back('=');
    line.append(std::to_string(value));
}
}  // namespace

std::string InetStatistics::format() const {
    std::string line;
    appendPair(line, "rx", received);
    appendPair(line, "tx", transmitted);
    appendPair(line, "arp", arpAnswered);
    appendPair(line, "icmp", echoAnswered);
    appendPair(line, "udp-in", udpDelivered);
    appendPair(line, "udp-out", udpSent);
    appendPair(line, "unreachable", unreachableSent);
    appendPair(line, "reassembled", reassembled);
    appendPair(line, "ignored", ignored);
    appendPair(line, "drops", totalDrops());
    // Only the reasons that happened: the line stays readable.
    for (std::size_t i = 1; i < kHeaderErrorCount; ++i)
        if (headerErrors[i] != 0) appendPair(line, headerErrorName(static_cast<HeaderError>(i)), headerErrors[i]);
    for (std::size_t i = 0; i < kInetDropCount; ++i)
        if (drops[i] != 0) appendPair(line, inetDropName(static_cast<InetDrop>(i)), drops[i]);
    return line;
}

}  // namespace nexnet
