// nexnet-xdp-loadgen: the traffic source and sink of bench/xdp/xdp-bench.sh. It sends 64-byte
// UDP frames (or --size) as fast as it can on one driver and counts what arrives on another, on
// one thread, for SECONDS, and prints both rates:
//
//   nexnet-xdp-loadgen TX-URI RX-URI [--seconds S] [--size BYTES] [--destination MAC]
//
// The same generator drives every forwarder the benchmark compares (nexnet-fwd, DPDK testpmd,
// the kernel bridge), so its own cost is the same for all; "sent" against "received" says whether
// the forwarder or the generator was the limit. Frames go to --destination (default: the RX
// driver's address, so a bridge forwards them to it), from 198.18.0.1:9 to 198.18.0.2:9.
#include "drivers/BuiltinDrivers.h"
#include "framework/IOCommands.h"
#include "framework/IOEthernet.h"

#include <net/if.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

using namespace nexnet;
using Clock = std::chrono::steady_clock;

namespace {

constexpr unsigned kBurst = 32;

std::unique_ptr<IONetwork> openUp(const std::string& uri) {
    auto driver = builtinDrivers().open(uri);
    if (!driver) {
        std::fprintf(stderr, "nexnet-xdp-loadgen: cannot open %s: %s\n", uri.c_str(), driver.describe().c_str());
        return nullptr;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    if (driver.value()->performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru) != 0) return nullptr;
    return std::move(driver.value());
}

// An Ethernet/IPv4/UDP frame of @p size bytes: a valid IPv4 header (a bridge with br_netfilter
// checks it), no UDP checksum (0: none, RFC 768).
std::vector<std::uint8_t> frame(const EthernetAddress& to, const EthernetAddress& from, unsigned size) {
    std::vector<std::uint8_t> f(size, 0);
    std::memcpy(f.data(), to.bytes.data(), 6);
    std::memcpy(f.data() + 6, from.bytes.data(), 6);
    f[12] = 0x08;  // IPv4
    unsigned ipLength = size - 14, udpLength = size - 34;
    std::uint8_t ip[20] = {0x45,
                           0,
                           std::uint8_t(ipLength >> 8),
                           std::uint8_t(ipLength),
                           0,
                           0,
                           0x40,
                           0,
                           64,
                           17,
                           0,
                           0,
                           198,
                           18,
                           0,
                           1,
                           198,
                           18,
                           0,
                           2};
    std::uint32_t sum = 0;
    for (unsigned i = 0; i < sizeof ip; i += 2) sum += std::uint32_t{ip[i]} << 8 | ip[i + 1];
    while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = static_cast<std::uint8_t>(~sum >> 8);
    ip[11] = static_cast<std::uint8_t>(~sum);
    std::memcpy(f.data() + 14, ip, sizeof ip);
    std::uint8_t udp[8] = {0, 9, 0, 9, std::uint8_t(udpLength >> 8), std::uint8_t(udpLength), 0, 0};
    std::memcpy(f.data() + 34, udp, sizeof udp);
    return f;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: nexnet-xdp-loadgen TX-URI RX-URI [--seconds S] [--size BYTES] [--destination MAC]\n");
        return 2;
    }
    double seconds = 5;
    unsigned size = 64;
    std::optional<EthernetAddress> destination;
    for (int i = 3; i + 1 < argc; i += 2) {
        std::string option = argv[i];
        if (option == "--seconds") seconds = std::atof(argv[i + 1]);
        else if (option == "--size") size = static_cast<unsigned>(std::atoi(argv[i + 1]));
        else if (option == "--destination") destination = EthernetAddress::parse(argv[i + 1]);
    }
    if (size < 60 || size > 1514 || seconds <= 0) return 2;
    std::unique_ptr<IONetwork> tx = openUp(argv[1]), rx = openUp(argv[2]);
    if (!tx || !rx) return 1;
    auto* txEthernet = dynamic_cast<IOEthernet*>(tx.get());
    auto* rxEthernet = dynamic_cast<IOEthernet*>(rx.get());
    if (txEthernet == nullptr || rxEthernet == nullptr) return 1;
    std::vector<std::uint8_t> bytes =
        frame(destination.value_or(rxEthernet->hardwareAddress()), txEthernet->hardwareAddress(), size);

    std::uint64_t sent = 0, received = 0, warmReceived = 0, warmSent = 0;
    const Clock::time_point start = Clock::now(), measure = start + std::chrono::seconds(1);
    const Clock::time_point end =
        measure + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    bool measuring = false;
    Netbuf* burst[kBurst];
    for (unsigned turn = 0;; ++turn) {
        if (tx->pool()->allocateBulk(burst, kBurst) == 0) {
            for (Netbuf* n : burst) n->append(bytes.data(), size);
            unsigned n = tx->send(0, burst, kBurst);
            if (n < kBurst) NetbufPool::freeToOwners(burst + n, kBurst - n);
            sent += n;
        }
        for (unsigned round = 0; round < 2; ++round) {
            unsigned n = rx->receive(0, burst, kBurst);
            NetbufPool::freeToOwners(burst, n);
            received += n;
        }
        if (turn % 256 != 0) continue;
        Clock::time_point now = Clock::now();
        if (!measuring && now >= measure) {  // one second of warm-up: rings and caches filled
            measuring = true;
            warmSent = sent;
            warmReceived = received;
        }
        if (now >= end) break;
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - measure).count();
    std::printf("nexnet-xdp-loadgen: %u-byte frames for %.2f s: sent %.3f Mpps received %.3f Mpps\n", size, elapsed,
                double(sent - warmSent) / elapsed / 1e6, double(received - warmReceived) / elapsed / 1e6);
    return 0;
}
