#pragma once
/// @file MultiqueueHarness.h
/// @brief The multi-queue tap set-up of the VM tests (run-guest.sh --nics mq): one virtio-net NIC
/// with several queue pairs on a tap whose other end is the kernel of a namespace the harness
/// made, 10.77.0.1, with a static ARP entry for the guest's 10.77.0.2 at 52:54:00:12:34:56.

#include "GuestHarness.h"
#include "drivers/vfio/VirtioNetDriver.h"

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

namespace nexnet::test {

/// The guest's address on the tap (the namespace's kernel has a static ARP entry for it).
inline constexpr std::uint8_t kMqGuestIp[4] = {10, 77, 0, 2};
/// The kernel's address at the tap's other end.
inline constexpr std::uint8_t kMqHostIp[4] = {10, 77, 0, 1};
/// What "NEXNET-HOST: udp-flows" sends: 16 flows of 8 datagrams.
inline constexpr unsigned kMqFlows = 16, kMqDatagramsPerFlow = 8;  // what "NEXNET-HOST: udp-flows" sends

/// "Who has 10.77.0.1? Tell 10.77.0.2" from @p source.
inline std::vector<std::uint8_t> mqArpRequest(const EthernetAddress& source) {
    std::vector<std::uint8_t> f = arpRequest(source);
    std::memcpy(f.data() + 28, kMqGuestIp, 4);
    std::memcpy(f.data() + 38, kMqHostIp, 4);
    return f;
}

/// An ICMP echo request 10.77.0.2 -> 10.77.0.1 to @p destination with @p id and @p sequence.
inline std::vector<std::uint8_t> mqEchoRequest(const EthernetAddress& source, const std::uint8_t* destination,
                                               std::uint16_t id, std::uint16_t sequence) {
    std::vector<std::uint8_t> f = echoRequest(source, id, sequence);
    std::memcpy(f.data(), destination, 6);
    std::uint8_t* ip = f.data() + 14;
    std::memcpy(ip + 12, kMqGuestIp, 4);
    std::memcpy(ip + 16, kMqHostIp, 4);
    ip[10] = ip[11] = 0;
    std::uint16_t c = internetChecksum(ip, 20);
    ip[10] = c >> 8, ip[11] = c & 0xff;
    return f;
}

/// True when @p f is an IPv4 packet of @p protocol from the kernel to the guest.
inline bool isIpv4From(const std::uint8_t* f, std::size_t n, std::uint8_t protocol) {
    return n >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == protocol && std::memcmp(f + 26, kMqHostIp, 4) == 0 &&
        std::memcmp(f + 30, kMqGuestIp, 4) == 0;
}

/// The UDP source port of a datagram from 10.77.0.1 to 10.77.0.2 port 9, 0 for anything else.
inline unsigned udpFlowPort(const std::uint8_t* f, std::size_t n) {
    if (!isIpv4From(f, n, 17)) return 0;
    const std::uint8_t* udp = f + 14 + (f[14] & 0x0f) * 4;
    if (udp + 8 > f + n || ((udp[2] << 8) | udp[3]) != 9) return 0;
    return (udp[0] << 8) | udp[1];
}

/// Sends @p frame on transmit queue @p queue of @p nic.
inline bool sendOnQueue(IONetwork& nic, unsigned queue, const std::vector<std::uint8_t>& frame) {
    Netbuf* nb = nic.allocateNetbuf();
    if (nb == nullptr || nb->append(frame.data(), static_cast<std::uint32_t>(frame.size())) != 0) {
        if (nb != nullptr) nb->free();
        return false;
    }
    if (nic.send(queue, &nb, 1) == 1) return true;
    nb->free();
    return false;
}

/// Polls every receive queue of @p nic for @p timeout (or until @p done says stop), handing each
/// frame and the queue it came on to @p seen.
inline void receiveOnAllQueues(IONetwork& nic, std::chrono::milliseconds timeout,
                               const std::function<void(unsigned, const std::uint8_t*, std::size_t)>& seen,
                               const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    Netbuf* burst[32];
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        for (unsigned q = 0; q < nic.queueCount(); ++q) {
            unsigned n = nic.receive(q, burst, 32);
            for (unsigned i = 0; i < n; ++i) {
                seen(q, burst[i]->data(), burst[i]->size());
                burst[i]->free();
            }
            nic.send(q, nullptr, 0);  // completes transmits
        }
    }
}

/// Opens the virtio-net NIC with @p pairs queue pairs and brings it up.
inline std::unique_ptr<VirtioNetDriver> openMultiqueueNic(unsigned pairs) {
    auto nic = openNic(firstBdf(), ",queues=" + std::to_string(pairs));
    if (!nic) return nullptr;
    EXPECT_EQ(nic->resetAndEnable(true), 0);
    return std::unique_ptr<VirtioNetDriver>(dynamic_cast<VirtioNetDriver*>(nic.release()));
}

/// Counts the host's UDP flow datagrams (ports 40000 + flow) per receive queue, and frees every frame.
struct FlowsPerQueueSink : IONetworkClient {
    std::vector<unsigned> flows;
    unsigned total = 0;
    void inputBurst(IONetwork&, unsigned queue, Netbuf** netbufs, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            unsigned port = udpFlowPort(netbufs[i]->data(), netbufs[i]->size());
            if (port >= 40000 && port < 40000 + kMqFlows && queue < flows.size()) flows[queue]++, total++;
            netbufs[i]->free();
        }
    }
};

/// Asks 10.77.0.1 for its MAC with ARP; @return true with it in @p mac.
inline bool askHostMac(IONetwork& nic, std::uint8_t (&mac)[6]) {
    const auto* ethernet = dynamic_cast<IOEthernet*>(&nic);
    if (ethernet == nullptr || !sendFrame(nic, mqArpRequest(ethernet->hardwareAddress()))) return false;
    return receiveUntil(nic, [&](const std::uint8_t* f, std::size_t n) {
        if (n < 42 || f[12] != 0x08 || f[13] != 0x06 || f[21] != 2 || std::memcmp(f + 28, kMqHostIp, 4) != 0)
            return false;
        std::memcpy(mac, f + 22, 6);
        return true;
    });
}

/// Sends @p frame on queue 0 of @p nic with @p offload asked of the device. @return true when accepted.
inline bool sendWithOffload(IONetwork& nic, const std::vector<std::uint8_t>& frame, const NetbufOffload& offload) {
    Netbuf* nb = nic.allocateNetbuf();
    if (nb == nullptr) return false;
    if (nb->append(frame.data(), static_cast<std::uint32_t>(frame.size())) == 0) {
        nb->offload() = offload;
        if (nic.send(0, &nb, 1) == 1) return true;
    }
    nb->free();
    return false;
}

}  // namespace nexnet::test
