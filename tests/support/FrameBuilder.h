#pragma once
/// @file FrameBuilder.h
/// @brief FrameBuilder: well-formed Ethernet frames (ARP, IPv4 ICMP echo, IPv4 UDP) for tests
/// to send, corrupt and compare. Independent of nexnet's own protocol code.

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

namespace nexnet::test {

/// Builds test frames byte by byte, with correct checksums computed here (not by the code
/// under test). Offsets let a test corrupt one field.
class FrameBuilder {
public:
    using Mac = std::array<std::uint8_t, 6>;  ///< An Ethernet address.
    using Ip = std::array<std::uint8_t, 4>;   ///< An IPv4 address, network order.
    using Frame = std::vector<std::uint8_t>;  ///< A frame, Ethernet header first.

    static constexpr unsigned kIp = 14;                  ///< Where the IPv4 (or ARP) header starts.
    static constexpr unsigned kL4 = 14 + 20;             ///< Where ICMP/UDP starts (no IP options).
    static constexpr unsigned kIpTotalLength = kIp + 2;  ///< IPv4 total length field.
    static constexpr unsigned kIpChecksum = kIp + 10;    ///< IPv4 header checksum field.
    static constexpr unsigned kIcmpChecksum = kL4 + 2;   ///< ICMP checksum field.
    static constexpr unsigned kUdpChecksum = kL4 + 6;    ///< UDP checksum field.

    /// Ethernet header (@p type) followed by @p payload.
    static Frame ethernet(const Mac& destination, const Mac& source, std::uint16_t type, const Frame& payload) {
        Frame frame(destination.begin(), destination.end());
        frame.insert(frame.end(), source.begin(), source.end());
        put16(frame, type);
        frame.insert(frame.end(), payload.begin(), payload.end());
        return frame;
    }

    /// A broadcast ARP request from @p mac / @p ip asking for @p target.
    static Frame arpRequest(const Mac& mac, const Ip& ip, const Ip& target) {
        Frame arp;
        put16(arp, 1);       // Ethernet
        put16(arp, 0x0800);  // IPv4
        arp.push_back(6);
        arp.push_back(4);
        put16(arp, 1);  // request
        arp.insert(arp.end(), mac.begin(), mac.end());
        arp.insert(arp.end(), ip.begin(), ip.end());
        arp.insert(arp.end(), 6, 0);
        arp.insert(arp.end(), target.begin(), target.end());
        return ethernet(Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac, 0x0806, arp);
    }

    /// An IPv4 packet (no options, DF set, TTL 64) carrying @p payload as @p protocol.
    static Frame ipv4(const Mac& to, const Mac& from, const Ip& source, const Ip& destination, std::uint8_t protocol,
                      const Frame& payload) {
        Frame ip = {0x45, 0};
        put16(ip, static_cast<std::uint16_t>(20 + payload.size()));
        put16(ip, 0x1234);
        put16(ip, 0x4000);
        ip.push_back(64);
        ip.push_back(protocol);
        put16(ip, 0);
        ip.insert(ip.end(), source.begin(), source.end());
        ip.insert(ip.end(), destination.begin(), destination.end());
        std::uint16_t sum = checksum(ip.data(), ip.size());
        ip[10] = static_cast<std::uint8_t>(sum >> 8);
        ip[11] = static_cast<std::uint8_t>(sum);
        ip.insert(ip.end(), payload.begin(), payload.end());
        return ethernet(to, from, 0x0800, ip);
    }

    /// An ICMP echo request with @p data.
    static Frame icmpEcho(const Mac& to, const Mac& from, const Ip& source, const Ip& destination, std::uint16_t id,
                          std::uint16_t sequence, const Frame& data) {
        Frame icmp = {8, 0, 0, 0};
        put16(icmp, id);
        put16(icmp, sequence);
        icmp.insert(icmp.end(), data.begin(), data.end());
        std::uint16_t sum = checksum(icmp.data(), icmp.size());
        icmp[2] = static_cast<std::uint8_t>(sum >> 8);
        icmp[3] = static_cast<std::uint8_t>(sum);
        return ipv4(to, from, source, destination, 1, icmp);
    }

    /// A UDP datagram with a correct checksum (or none when @p withChecksum is false).
    static Frame udp(const Mac& to, const Mac& from, const Ip& source, const Ip& destination, std::uint16_t sourcePort,
                     std::uint16_t destinationPort, const Frame& data, bool withChecksum = true) {
        Frame udp;
        put16(udp, sourcePort);
        put16(udp, destinationPort);
        put16(udp, static_cast<std::uint16_t>(8 + data.size()));
        put16(udp, 0);
        udp.insert(udp.end(), data.begin(), data.end());
        if (withChecksum) {
            Frame pseudo(source.begin(), source.end());
            pseudo.insert(pseudo.end(), destination.begin(), destination.end());
            pseudo.push_back(0);
            pseudo.push_back(17);
            put16(pseudo, static_cast<std::uint16_t>(udp.size()));
            pseudo.insert(pseudo.end(), udp.begin(), udp.end());
            std::uint16_t sum = checksum(pseudo.data(), pseudo.size());
            if (sum == 0) sum = 0xffff;  // RFC 768: a computed zero is sent as all ones
            udp[6] = static_cast<std::uint8_t>(sum >> 8);
            udp[7] = static_cast<std::uint8_t>(sum);
        }
        return ipv4(to, from, source, destination, 17, udp);
    }

    /// The Internet checksum of @p length bytes (a straightforward RFC 1071 loop).
    static std::uint16_t checksum(const std::uint8_t* data, std::size_t length) {
        std::uint32_t sum = 0;
        for (std::size_t i = 0; i < length; i += 2)
            sum += static_cast<std::uint32_t>(data[i] << 8 | (i + 1 < length ? data[i + 1] : 0));
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        return static_cast<std::uint16_t>(~sum);
    }

    /// The big-endian 16-bit field at @p offset of @p frame.
    static std::uint16_t get16(const Frame& frame, std::size_t offset) {
        return static_cast<std::uint16_t>(frame.at(offset) << 8 | frame.at(offset + 1));
    }
    /// Writes @p value big-endian at @p offset of @p frame.
    static void set16(Frame& frame, std::size_t offset, std::uint16_t value) {
        frame.at(offset) = static_cast<std::uint8_t>(value >> 8);
        frame.at(offset + 1) = static_cast<std::uint8_t>(value);
    }

private:
    static void put16(Frame& frame, std::uint16_t value) {
        frame.push_back(static_cast<std::uint8_t>(value >> 8));
        frame.push_back(static_cast<std::uint8_t>(value));
    }
};

}  // namespace nexnet::test
