#pragma once
/// @file GuestFrames.h
/// @brief Frames and helpers the VM tests share: ARP and ICMP for QEMU's user network, bounded waits.

#include "framework/EthernetAddress.h"
#include "framework/IONetwork.h"
#include "netbuf/Netbuf.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace nexnet::test {

/// The PCI addresses of the NICs run-guest.sh bound to vfio-pci (NEXNET_BDFS), in order.
inline std::vector<std::string> allBdfs() {
    const char* all = std::getenv("NEXNET_BDFS");
    std::istringstream list(all != nullptr ? all : "");
    std::vector<std::string> bdfs;
    for (std::string bdf; list >> bdf;) bdfs.push_back(bdf);
    return bdfs;
}

/// The guest's address on QEMU's user network and the address slirp answers for.
constexpr std::uint8_t kGuestIp[4] = {10, 0, 2, 15};
constexpr std::uint8_t kSlirpIp[4] = {10, 0, 2, 2};
/// The MAC QEMU's user network uses for 10.0.2.2.
constexpr std::uint8_t kSlirpMac[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};

/// An ARP request "who has 10.0.2.2? tell 10.0.2.15" from @p source (60 bytes).
inline std::vector<std::uint8_t> arpRequest(const EthernetAddress& source) {
    std::vector<std::uint8_t> f(60, 0);
    std::memset(f.data(), 0xff, 6);
    std::memcpy(f.data() + 6, source.bytes.data(), 6);
    f[12] = 0x08, f[13] = 0x06;
    const std::uint8_t head[8] = {0, 1, 8, 0, 6, 4, 0, 1};
    std::memcpy(f.data() + 14, head, 8);
    std::memcpy(f.data() + 22, source.bytes.data(), 6);
    std::memcpy(f.data() + 28, kGuestIp, 4);
    std::memcpy(f.data() + 38, kSlirpIp, 4);
    return f;
}

/// True when @p f is an ARP reply from 10.0.2.2.
inline bool isArpReplyFromSlirp(const std::uint8_t* f, std::size_t size) {
    return size >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 && std::memcmp(f + 28, kSlirpIp, 4) == 0;
}

/// The Internet checksum of @p size bytes.
inline std::uint16_t internetChecksum(const std::uint8_t* p, std::size_t size) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < size; i += 2) sum += (p[i] << 8) | p[i + 1];
    if (size % 2) sum += p[size - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

/// An ICMP echo request from 10.0.2.15 to 10.0.2.2 with @p id and @p sequence, 56 bytes of data.
inline std::vector<std::uint8_t> echoRequest(const EthernetAddress& source, std::uint16_t id, std::uint16_t sequence) {
    std::vector<std::uint8_t> f(14 + 20 + 8 + 56, 0);
    std::memcpy(f.data(), kSlirpMac, 6);
    std::memcpy(f.data() + 6, source.bytes.data(), 6);
    f[12] = 0x08, f[13] = 0x00;
    std::uint8_t* ip = f.data() + 14;
    ip[0] = 0x45, ip[3] = 84, ip[8] = 64, ip[9] = 1;
    std::memcpy(ip + 12, kGuestIp, 4);
    std::memcpy(ip + 16, kSlirpIp, 4);
    std::uint16_t c = internetChecksum(ip, 20);
    ip[10] = c >> 8, ip[11] = c & 0xff;
    std::uint8_t* icmp = ip + 20;
    icmp[0] = 8, icmp[4] = id >> 8, icmp[5] = id & 0xff, icmp[6] = sequence >> 8, icmp[7] = sequence & 0xff;
    for (int i = 0; i < 56; ++i) icmp[8 + i] = static_cast<std::uint8_t>(i);
    c = internetChecksum(icmp, 64);
    icmp[2] = c >> 8, icmp[3] = c & 0xff;
    return f;
}

/// True when @p f is an ICMP echo reply from 10.0.2.2 with @p sequence.
inline bool isEchoReply(const std::uint8_t* f, std::size_t size, std::uint16_t sequence) {
    return size >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 1 && std::memcmp(f + 26, kSlirpIp, 4) == 0 &&
        f[34] == 0 && ((f[40] << 8) | f[41]) == sequence;
}

/// Sends @p frame on queue 0 of @p driver from a netbuf of its pool. @return true when accepted.
inline bool sendFrame(IONetwork& driver, const std::vector<std::uint8_t>& frame) {
    Netbuf* nb = driver.allocateNetbuf();
    if (nb == nullptr || nb->append(frame.data(), static_cast<std::uint32_t>(frame.size())) != 0) {
        if (nb != nullptr) nb->free();
        return false;
    }
    if (driver.send(0, &nb, 1) == 1) return true;
    nb->free();
    return false;
}

/// Receives from queue 0 of @p driver until @p wanted accepts a frame or @p timeout passes; frees
/// every frame. @return true when @p wanted accepted one.
inline bool receiveUntil(IONetwork& driver, const std::function<bool(const std::uint8_t*, std::size_t)>& wanted,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    Netbuf* burst[32];
    bool found = false;
    while (!found && std::chrono::steady_clock::now() < deadline) {
        unsigned n = driver.receive(0, burst, 32);
        for (unsigned i = 0; i < n; ++i) {
            if (!found && wanted(burst[i]->data(), burst[i]->size())) found = true;
            burst[i]->free();
        }
        // Flush completed transmits too (their netbufs return to the pool).
        driver.send(0, nullptr, 0);
    }
    return found;
}

}  // namespace nexnet::test
