// nexnet-lowres-bench: what LowResourceBuffer costs per packet on the null driver.
//
//   direct      null driver -> sink that frees each burst (the path without the layer)
//   layer-fine  null driver -> LowResourceBuffer (pool above its low-water mark) -> same sink
//   buffering   the same, with the condition forced (low-water mark above the pool's size):
//               every packet is flagged, copied into the reserve and handed up from there
//
// Each case runs RUNS times (default 3), alternating, and prints median [min-max] in ns per
// packet and Mpps, measured in the thread's CPU time. Usage: nexnet-lowres-bench [PACKETS] [FRAME_BYTES] [RUNS]
#include "drivers/null/NullDriver.h"
#include "netif/LowResourceBuffer.h"

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

using namespace nexnet;

namespace {

constexpr unsigned kBurst = 32;

// The layers above at their cheapest: free what arrives, in bulk.
class FreeingSink : public IONetworkClient {
public:
    std::uint64_t packets = 0;
    void inputBurst(IONetwork&, unsigned, Netbuf** netbufs, unsigned count) override {
        packets += count;
        NetbufPool::freeToOwners(netbufs, count);
    }
};

double cpuSeconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

enum class Case { direct, layerFine, buffering };

// Packets per second through driver -> (layer) -> sink, for @p packets packets.
double run(Case which, std::uint64_t packets, std::uint32_t frameBytes) {
    NullDriver::Options options;
    options.frameSize = frameBytes;
    auto driver = NullDriver::create(options, 8192);
    if (!driver) {
        std::fprintf(stderr, "null driver: error %d\n", driver.error());
        std::exit(1);
    }
    NullDriver& nd = *driver.value();
    nd.resetAndEnable(true);
    FreeingSink sink;
    std::unique_ptr<LowResourceBuffer> layer;
    if (which == Case::direct) {
        nd.setClient(&sink);
    } else {
        LowResourceBuffer::Config config;
        config.lowWater = which == Case::buffering ? nd.pool()->capacity() + 1 : 256;
        config.reserveCount = 1024;
        auto made = LowResourceBuffer::create(nd.sharedPool(), config);
        if (!made) {
            std::fprintf(stderr, "layer: error %d\n", made.error());
            std::exit(1);
        }
        layer = std::move(made.value());
        nd.setClient(&sink);
        layer->insert(nd);
    }
    // Thread CPU time, not wall time: the machine is shared, and a descheduled run is not slower.
    double start = cpuSeconds();
    for (std::uint64_t done = 0; done < packets;) {
        done += nd.receiveAndDeliver(0, kBurst);
    }
    double seconds = cpuSeconds() - start;
    if (layer) {
        auto stats = layer->statistics();
        if (which == Case::buffering && stats.packetsBuffered != packets)
            std::fprintf(stderr, "buffering case did not buffer every packet\n");
        if (which == Case::layerFine && stats.packetsToHost != packets)
            std::fprintf(stderr, "fine case took the slow path\n");
        layer->remove();
    }
    if (sink.packets != packets)
        std::fprintf(stderr, "sink saw %llu of %llu\n", (unsigned long long)sink.packets, (unsigned long long)packets);
    return static_cast<double>(packets) / seconds;
}

struct Figures {
    double median, low, high;
};

Figures summarise(std::vector<double> ns) {
    std::sort(ns.begin(), ns.end());
    return {ns[ns.size() / 2], ns.front(), ns.back()};
}

void print(const char* name, const Figures& f) {
    std::printf("%-12s %8.2f ns/packet [%.2f-%.2f]  %7.2f Mpps\n", name, f.median, f.low, f.high, 1e3 / f.median);
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t packets = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20'000'000;
    auto frameBytes = static_cast<std::uint32_t>(argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 64);
    int runs = argc > 3 ? std::atoi(argv[3]) : 3;
    if (packets == 0 || runs <= 0 || frameBytes < 14) {
        std::fprintf(stderr, "usage: nexnet-lowres-bench [PACKETS] [FRAME_BYTES>=14] [RUNS]\n");
        return 2;
    }
    std::vector<double> direct, fine, buffering;
    run(Case::direct, packets / 10, frameBytes);  // warm up
    for (int r = 0; r < runs; ++r) {
        direct.push_back(1e9 / run(Case::direct, packets, frameBytes));
        fine.push_back(1e9 / run(Case::layerFine, packets, frameBytes));
        buffering.push_back(1e9 / run(Case::buffering, packets / 4, frameBytes));
    }
    Figures d = summarise(direct), f = summarise(fine), b = summarise(buffering);
    std::printf("nexnet-lowres-bench: null driver, %u-byte frames, bursts of %u, %llu packets, median of %d\n",
                frameBytes, kBurst, (unsigned long long)packets, runs);
    print("direct", d);
    print("layer-fine", f);
    print("buffering", b);
    std::printf("layer-fine / direct: %.3f (cost %+.2f ns/packet, %+.1f%%)\n", f.median / d.median, f.median - d.median,
                100.0 * (f.median / d.median - 1.0));
    std::printf("buffering / direct:  %.3f\n", b.median / d.median);
    return 0;
}
