// nexnet-pcap-bench: how fast the pcap driver reads a capture file, the figure to set against
// DPDK's net_pcap (dpdk-anchors.sh pcap FILE: rte_eth_rx_burst of 32 until the file is drained).
//
//   nexnet-pcap-bench make FILE [--frames N] [--size BYTES]   writes N frames of BYTES (1M x 64)
//   nexnet-pcap-bench read FILE                               prints "nexnet_pcap_read X Mpps"
//
// The read loop is the peer's: receiveBurst of 32 until the file is drained, each burst freed in
// bulk; the clock starts once the driver is open (as the peer's starts after rte_eth_dev_start).
#include "drivers/BuiltinDrivers.h"
#include "drivers/pcap/PcapDriver.h"
#include "drivers/pcap/PcapDumpFile.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace nexnet;

namespace {

int make(const std::string& path, unsigned long frames, unsigned size) {
    auto file = PcapDumpFile::open(path);
    if (!file) {
        std::fprintf(stderr, "nexnet-pcap-bench: %s: %s\n", path.c_str(), std::strerror(file.error()));
        return 1;
    }
    std::vector<std::uint8_t> frame(size, 0);
    std::memset(frame.data(), 0xff, 6);
    const std::uint8_t source[6] = {0x02, 0, 0, 0, 0, 1};
    std::memcpy(frame.data() + 6, source, 6);
    frame[12] = 0x88;  // IEEE 802 local experimental EtherType
    frame[13] = 0xb5;
    std::uint64_t stamp = 1767225600000000000ull;
    for (unsigned long i = 0; i < frames; ++i) {
        if (size >= 22) std::memcpy(frame.data() + 14, &i, sizeof i);
        file.value()->write(frame.data(), size, stamp + i * 67);  // 64 B at 10 Gbit/s: 67 ns apart
    }
    return file.value()->flush() == 0 ? 0 : 1;
}

int read(const std::string& path) {
    auto opened = builtinDrivers().open("pcap:" + path);
    if (!opened) {
        std::fprintf(stderr, "nexnet-pcap-bench: cannot open %s: %s\n", path.c_str(), std::strerror(opened.error()));
        return 1;
    }
    auto& driver = static_cast<PcapDriver&>(*opened.value());
    driver.resetAndEnable(true);
    Netbuf* burst[32];
    std::uint64_t frames = 0;
    auto start = std::chrono::steady_clock::now();
    for (unsigned n; (n = driver.receive(0, burst, 32)) > 0;) {
        frames += n;
        driver.pool()->freeBulk(burst, n);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("nexnet_pcap_read %.2f Mpps\n", static_cast<double>(frames) / seconds / 1e6);
    std::printf("nexnet_pcap_frames %llu frames\n", static_cast<unsigned long long>(frames));
    if (!driver.readError().empty()) std::fprintf(stderr, "nexnet-pcap-bench: %s\n", driver.readError().c_str());
    return frames > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 3 && std::strcmp(argv[1], "make") == 0) {
        unsigned long frames = 1000000;
        unsigned size = 64;
        for (int i = 3; i + 1 < argc; i += 2) {
            if (std::strcmp(argv[i], "--frames") == 0) frames = std::strtoul(argv[i + 1], nullptr, 10);
            else if (std::strcmp(argv[i], "--size") == 0)
                size = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
        }
        if (size < 14 || size > 65535) size = 64;
        return make(argv[2], frames, size);
    }
    if (argc == 3 && std::strcmp(argv[1], "read") == 0) return read(argv[2]);
    std::fputs("usage: nexnet-pcap-bench make FILE [--frames N] [--size BYTES] | read FILE\n", stderr);
    return 2;
}
