#pragma once
/// @file RequestCapture.h
/// @brief RequestCapture: the ARP, ICMP echo and UDP requests nexnet-sample answers, as frames
/// and as a pcap file (samples/data/requests.pcap is made with it).

#include "framework/EthernetAddress.h"
#include "netbuf/Result.h"

#include <cstdint>
#include <netinet/in.h>
#include <string>
#include <vector>

namespace nexnet {

/// Builds the requests a client sends to nexnet-sample, and writes them to a pcap file, so the
/// sample runs without privileges: `nexnet-sample pcap:requests.pcap,tx=replies.pcap`.
///
/// The defaults match the sample's and the pcap driver's: the server is 10.77.0.2 at
/// 02:70:63:61:70:00 (PcapDriver's default address), the client 10.77.0.1 at 02:00:00:00:00:01.
/// Tests build their frames with it too.
class RequestCapture {
public:
    /// Who talks to whom, and how much.
    struct Options {
        EthernetAddress clientMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};  ///< Source of the requests.
        EthernetAddress serverMac{{0x02, 0x70, 0x63, 0x61, 0x70, 0x00}};  ///< nexnet-sample's address.
        in_addr clientIp{htonl(0x0a4d0001)};                              ///< 10.77.0.1
        in_addr serverIp{htonl(0x0a4d0002)};                              ///< 10.77.0.2
        unsigned echoRequests = 3;                                        ///< ICMP echo requests (sequence 1..N).
        unsigned udpRequests = 3;                                 ///< UDP datagrams to udpPort ("nexnet udp N").
        std::uint16_t udpPort = 7;                                ///< Destination port of the UDP requests.
        std::uint64_t startNanoseconds = 1767225600000000000ull;  ///< First timestamp (2026-01-01).
        std::uint64_t gapNanoseconds = 1000001;                   ///< Between frames (1 ms and 1 ns: nanoseconds show).
    };

    /// An ARP request (broadcast) from @p clientMac/@p clientIp asking for @p targetIp.
    static std::vector<std::uint8_t> arpRequest(const EthernetAddress& clientMac, in_addr clientIp, in_addr targetIp);
    /// An IPv4 ICMP echo request with identifier @p id, sequence @p sequence and @p payload.
    static std::vector<std::uint8_t> icmpEchoRequest(const Options& options, std::uint16_t id, std::uint16_t sequence,
                                                     const std::string& payload);
    /// An IPv4 UDP datagram from port @p sourcePort to @p destinationPort, checksummed.
    static std::vector<std::uint8_t> udpDatagram(const Options& options, std::uint16_t sourcePort,
                                                 std::uint16_t destinationPort, const std::string& payload);
    /// The whole conversation: one ARP request, then the echo and UDP requests, interleaved.
    static std::vector<std::vector<std::uint8_t>> requests(const Options& options);
    /// Writes requests(@p options) to @p path (nanosecond pcap). @return 0 or an errno.
    static int write(const std::string& path, const Options& options);
};

}  // namespace nexnet
