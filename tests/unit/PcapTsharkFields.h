#pragma once
// tshark as the independent reader of the pcap files nexnet writes: the fields it decodes
// (eth.src, eth.dst, ip.src, ip.dst, icmp.type, udp.payload) against those of the frames sent.

#include <array>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace nexnet::test {

/// One frame as tshark prints it with the six fields, tab-separated.
using TsharkFields = std::array<std::string, 6>;

/// tshark's fields for every frame of @p path (empty when tshark fails).
inline std::vector<TsharkFields> tsharkFields(const std::string& path) {
    std::string command = "timeout 60 tshark -r '" + path +
        "' -T fields -e eth.src -e eth.dst -e ip.src -e ip.dst -e icmp.type -e udp.payload 2>/dev/null";
    std::vector<TsharkFields> rows;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return rows;
    char line[65536];
    while (std::fgets(line, sizeof line, pipe) != nullptr) {
        std::string text(line);
        if (!text.empty() && text.back() == '\n') text.pop_back();
        TsharkFields fields;
        std::istringstream in(text);
        for (auto& field : fields) std::getline(in, field, '\t');
        rows.push_back(fields);
    }
    pclose(pipe);
    return rows;
}

/// The fields tshark should print for @p frame (Ethernet, IPv4, ICMP / UDP as built by the tests).
inline TsharkFields expectedFields(const std::vector<std::uint8_t>& frame) {
    auto mac = [&](std::size_t at) {
        char text[18];
        std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", frame[at], frame[at + 1], frame[at + 2],
                      frame[at + 3], frame[at + 4], frame[at + 5]);
        return std::string(text);
    };
    auto ip = [&](std::size_t at) {
        return std::to_string(frame[at]) + "." + std::to_string(frame[at + 1]) + "." + std::to_string(frame[at + 2]) +
            "." + std::to_string(frame[at + 3]);
    };
    TsharkFields fields{mac(6), mac(0), "", "", "", ""};  // eth.src, eth.dst
    if (frame.size() < 34 || frame[12] != 0x08 || frame[13] != 0x00) return fields;
    fields[2] = ip(26);
    fields[3] = ip(30);
    const std::size_t l4 = 14 + 4u * (frame[14] & 0x0f);
    if (frame[23] == 1) fields[4] = std::to_string(frame[l4]);
    if (frame[23] == 17) {
        static const char hex[] = "0123456789abcdef";
        std::size_t udpLength = (std::size_t{frame[l4 + 4]} << 8) | frame[l4 + 5];
        for (std::size_t i = l4 + 8; i < l4 + udpLength && i < frame.size(); ++i) {
            fields[5] += hex[frame[i] >> 4];
            fields[5] += hex[frame[i] & 15];
        }
    }
    return fields;
}

}  // namespace nexnet::test
