#include "samples/data/RequestCapture.h"

#include "drivers/pcap/PcapDumpFile.h"
#include "netbuf/InternetChecksum.h"
#include "inet/NetworkOrder.h"

#include <cstring>
#include <net/ethernet.h>

namespace nexnet {

namespace {

constexpr unsigned kEthernet = 14;
constexpr unsigned kIpHeader = 20;

std::vector<std::uint8_t> ethernetFrame(const EthernetAddress& destination, const EthernetAddress& source,
                                        std::uint16_t type, std::size_t payload) {
    std::vector<std::uint8_t> frame(kEthernet + payload, 0);
    std::memcpy(frame.data(), destination.bytes.data(), 6);
    std::memcpy(frame.data() + 6, source.bytes.data(), 6);
    storeBig16(frame.data() + 12, type);
    return frame;
}

// An Ethernet + IPv4 frame with @p payload bytes after the IPv4 header, header checksummed.
std::vector<std::uint8_t> ipv4Frame(const RequestCapture::Options& o, std::uint8_t protocol, std::size_t payload,
                                    std::uint16_t id) {
    auto frame = ethernetFrame(o.serverMac, o.clientMac, ETHERTYPE_IP, kIpHeader + payload);
    std::uint8_t* ip = frame.data() + kEthernet;
    ip[0] = 0x45;
    storeBig16(ip + 2, static_cast<std::uint16_t>(kIpHeader + payload));
    storeBig16(ip + 4, id);
    ip[6] = 0x40;  // don't fragment
    ip[8] = 64;
    ip[9] = protocol;
    std::memcpy(ip + 12, &o.clientIp, 4);
    std::memcpy(ip + 16, &o.serverIp, 4);
    storeBig16(ip + 10, InternetChecksum::compute(ip, kIpHeader));
    return frame;
}

}  // namespace

std::vector<std::uint8_t> RequestCapture::arpRequest(const EthernetAddress& clientMac, in_addr clientIp,
                                                     in_addr targetIp) {
    auto frame = ethernetFrame(EthernetAddress::broadcast(), clientMac, ETHERTYPE_ARP, 28);
    std::uint8_t* arp = frame.data() + kEthernet;
    storeBig16(arp, 1);  // Ethernet
    storeBig16(arp + 2, ETHERTYPE_IP);
    arp[4] = 6;
    arp[5] = 4;
    storeBig16(arp + 6, 1);  // request
    std::memcpy(arp + 8, clientMac.bytes.data(), 6);
    std::memcpy(arp + 14, &clientIp, 4);
    std::memcpy(arp + 24, &targetIp, 4);  // target hardware address stays zero
    return frame;
}

std::vector<std::uint8_t> RequestCapture::icmpEchoRequest(const Options& options, std::uint16_t id,
                                                          std::uint16_t sequence, const std::string& payload) {
    auto frame = ipv4Frame(options, IPPROTO_ICMP, 8 + payload.size(), sequence);
    std::uint8_t* icmp = frame.data() + kEthernet + kIpHeader;
    icmp[0] = 8;  // echo request
    storeBig16(icmp + 4, id);
    storeBig16(icmp + 6, sequence);
    std::memcpy(icmp + 8, payload.data(), payload.size());
    storeBig16(icmp + 2, InternetChecksum::compute(icmp, 8 + payload.size()));
    return frame;
}

std::vector<std::uint8_t> RequestCapture::udpDatagram(const Options& options, std::uint16_t sourcePort,
                                                      std::uint16_t destinationPort, const std::string& payload) {
    const auto length = static_cast<std::uint16_t>(8 + payload.size());
    auto frame = ipv4Frame(options, IPPROTO_UDP, length, sourcePort);
    std::uint8_t* udp = frame.data() + kEthernet + kIpHeader;
    storeBig16(udp, sourcePort);
    storeBig16(udp + 2, destinationPort);
    storeBig16(udp + 4, length);
    std::memcpy(udp + 8, payload.data(), payload.size());
    InternetChecksum sum;  // pseudo-header (RFC 768), then the datagram
    sum.add(&options.clientIp, 4);
    sum.add(&options.serverIp, 4);
    sum.addWord(IPPROTO_UDP);
    sum.addWord(length);
    sum.add(udp, length);
    std::uint16_t value = sum.value();
    storeBig16(udp + 6, value == 0 ? 0xffff : value);
    return frame;
}

std::vector<std::vector<std::uint8_t>> RequestCapture::requests(const Options& options) {
    std::vector<std::vector<std::uint8_t>> frames;
    frames.push_back(arpRequest(options.clientMac, options.clientIp, options.serverIp));
    for (unsigned i = 1; i <= std::max(options.echoRequests, options.udpRequests); ++i) {
        auto n = static_cast<std::uint16_t>(i);
        if (i <= options.echoRequests)
            frames.push_back(icmpEchoRequest(options, 0x4e58, n, "nexnet ping " + std::to_string(i)));
        if (i <= options.udpRequests)
            frames.push_back(udpDatagram(options, static_cast<std::uint16_t>(40000 + i), options.udpPort,
                                         "nexnet udp " + std::to_string(i)));
    }
    return frames;
}

int RequestCapture::write(const std::string& path, const Options& options) {
    auto file = PcapDumpFile::open(path);
    if (!file) return file.error();
    std::uint64_t stamp = options.startNanoseconds;
    for (const auto& frame : requests(options)) {
        file.value()->write(frame.data(), static_cast<std::uint32_t>(frame.size()), stamp);
        stamp += options.gapNanoseconds;
    }
    return file.value()->flush();
}

}  // namespace nexnet
