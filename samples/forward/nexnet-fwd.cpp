// nexnet-fwd: forwards everything one driver receives to the other and back, in bursts of 32,
// on one thread: nexnet's ixy-fwd and testpmd io-fwd, and the forwarding benchmark.
//
//   nexnet-fwd URI URI [--duration SECONDS] [--stats] [--interrupt] [--burst N] [--threads N]
//
// Poll mode (default) spins on the receive bursts of both drivers. --interrupt sleeps in an EventLoop
// on each driver's interruptEventFd when idle (a driver without one is polled, and said so).
// Every second it prints the forwarded Mpps of each direction; at exit the totals (--stats adds
// the drivers' own counters). SIGINT and SIGTERM stop it. --burst sets the packets per receive
// (1-256, default 32); --threads N (poll mode) opens the two URIs N times and forwards each pair on
// a thread of its own (null: null: scales so; the benchmark's thread axis), totals summed.
#include "drivers/BuiltinDrivers.h"
#include "framework/EventLoop.h"
#include "framework/IOCommands.h"
#include "netif/Telemetry.h"

#include <net/if.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace nexnet;
using Clock = std::chrono::steady_clock;

namespace {

constexpr unsigned kBurst = 32;

volatile std::sig_atomic_t stopSignal = 0;
EventLoop* signalLoop = nullptr;
void onSignal(int signal) {
    stopSignal = signal;
    if (signalLoop != nullptr) signalLoop->stop();  // stop() is async-signal-safe
}

/// One direction: what `from` receives goes out through `to`. Also the input sink of `from` in
/// interrupt mode, where the driver's interruptOccurred hands its bursts here.
struct Direction final : IONetworkClient {
    IONetwork* from = nullptr;
    IONetwork* to = nullptr;
    std::string name;
    std::uint64_t forwarded = 0;
    std::uint64_t dropped = 0;  // received but not accepted for transmit: freed
    std::uint64_t lastForwarded = 0;
    unsigned burstSize = kBurst;

    void forward(Netbuf** burst, unsigned n) {
        unsigned sent = to->send(0, burst, n);
        if (sent < n) [[unlikely]] {  // the ring is full: drop, as a forwarder does, and count it
            NetbufPool::freeToOwners(burst + sent, n - sent);
            to->report(QueueEvent::transmitDrop, 0, n - sent);
            dropped += n - sent;
        }
        forwarded += sent;
    }
    // Poll mode: one burst. @return true when it moved something.
    bool poll() {
        Netbuf* burst[IONetwork::kMaxBurst];
        unsigned n = from->receive(0, burst, burstSize);
        if (n != 0) forward(burst, n);
        return n != 0;
    }
    void inputBurst(IONetwork&, unsigned, Netbuf** netbufs, unsigned count) override { forward(netbufs, count); }
};

struct Settings {
    std::string uri[2];
    std::vector<std::string> plugins;  // -d: driver plug-ins to load
    double duration = 0;  // seconds; 0: until a signal
    bool stats = false;
    bool interrupt = false;
    unsigned burst = kBurst;  // packets per receive
    unsigned threads = 1;     // pairs forwarded, one thread each
};

const char kUsage[] =
    "usage: nexnet-fwd URI URI [--duration SECONDS] [--stats] [--interrupt] [--burst N] [--threads N]\n"
    "                  [-d PLUGIN.so]...\n"
    "Forwards in bursts of 32 between two drivers (e.g. null: null:, tap:a tap:b), both ways, on\n"
    "one thread. Poll mode by default; --interrupt sleeps on the drivers' event fds when idle.\n"
    "Prints Mpps per direction every second and totals at exit; --stats adds driver counters.\n";

// A whole number from 1 to @p max, nothing else.
bool parseCount(const char* text, unsigned max, unsigned& out) {
    char* end = nullptr;
    unsigned long value = std::strtoul(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || value < 1 || value > max) return false;
    out = static_cast<unsigned>(value);
    return true;
}

// 0: run, 1: bad usage, 2: --help.
int parseArguments(int argc, char** argv, Settings& settings) {
    unsigned uris = 0;
    for (int i = 1; i < argc; ++i) {
        std::string option = argv[i];
        if (option == "--help" || option == "-h") return 2;
        if (option == "--stats") settings.stats = true;
        else if (option == "--interrupt") settings.interrupt = true;
        else if (option == "--duration" && i + 1 < argc && (settings.duration = std::atof(argv[i + 1])) > 0) ++i;
        else if ((option == "-d" || option == "--plugin") && i + 1 < argc) settings.plugins.push_back(argv[++i]);
        else if (option == "--burst" && i + 1 < argc && parseCount(argv[i + 1], IONetwork::kMaxBurst, settings.burst)) ++i;
        else if (option == "--threads" && i + 1 < argc && parseCount(argv[i + 1], 16, settings.threads)) ++i;
        else if (option.rfind("--", 0) != 0 && uris < 2) settings.uri[uris++] = option;
        else return 1;
    }
    if (settings.threads > 1 && settings.interrupt) return 1;  // one event loop: poll mode only
    return uris == 2 ? 0 : 1;
}

std::unique_ptr<IONetwork> openUp(const std::string& uri) {
    auto driver = builtinDrivers().open(uri);
    if (!driver) {
        std::fprintf(stderr, "nexnet-fwd: cannot open %s\n", driver.describe().c_str());
        return nullptr;
    }
    if (!driver.value()->modeDescription().empty())
        std::printf("nexnet-fwd: %s: %s\n", uri.c_str(), driver.value()->modeDescription().c_str());
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    if (int error = driver.value()->performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru)) {
        std::fprintf(stderr, "nexnet-fwd: cannot bring %s up: %s\n", uri.c_str(), std::strerror(error));
        return nullptr;
    }
    return std::move(driver.value());
}

void printRates(Direction* directions, double seconds) {
    for (unsigned d = 0; d < 2; ++d) {
        Direction& dir = directions[d];
        std::printf("%s%s %.3f Mpps", d == 0 ? "nexnet-fwd: " : "  ", dir.name.c_str(),
                    double(dir.forwarded - dir.lastForwarded) / seconds / 1e6);
        dir.lastForwarded = dir.forwarded;
    }
    std::printf("\n");
}

void printTotals(Direction* directions, double seconds, const Settings& settings, std::uint64_t others) {
    for (unsigned d = 0; d < 2; ++d) {
        const Direction& dir = directions[d];
        std::printf("nexnet-fwd: total %s forwarded %llu dropped %llu in %.3f s: %.3f Mpps\n", dir.name.c_str(),
                    static_cast<unsigned long long>(dir.forwarded), static_cast<unsigned long long>(dir.dropped),
                    seconds, double(dir.forwarded) / seconds / 1e6);
    }
    if (settings.threads > 1)
        std::printf("nexnet-fwd: total other threads %.3f Mpps\n", double(others) / seconds / 1e6);
    std::printf("nexnet-fwd: total both %.3f Mpps\n",
                double(directions[0].forwarded + directions[1].forwarded + others) / seconds / 1e6);
    if (!settings.stats) return;
    for (unsigned d = 0; d < 2; ++d) {
        const IONetwork& driver = *directions[d].from;
        std::printf("nexnet-fwd: %c=%s input %llu input-errors %llu input-drops %llu output %llu output-errors %llu\n",
                    "AB"[d], settings.uri[d].c_str(), static_cast<unsigned long long>(driver.inputPackets()),
                    static_cast<unsigned long long>(driver.inputErrors()),
                    static_cast<unsigned long long>(driver.inputDrops()),
                    static_cast<unsigned long long>(driver.outputPackets()),
                    static_cast<unsigned long long>(driver.outputErrors()));
    }
}

// Spins on both drivers; looks at the clock and at telemetry requests every 256 turns (a vDSO
// call and a relaxed load, no syscall).
void runPolling(Direction* directions, Clock::time_point end, Telemetry* telemetry) {
    Clock::time_point last = Clock::now();
    for (unsigned turn = 0; stopSignal == 0; ++turn) {
        directions[0].poll();
        directions[1].poll();
        if (turn % 256 != 0) continue;
        if (telemetry != nullptr) telemetry->serviceControl();
        Clock::time_point now = Clock::now();
        if (now - last >= std::chrono::seconds(1)) {
            printRates(directions, std::chrono::duration<double>(now - last).count());
            last = now;
        }
        if (now >= end) break;
    }
}

// Sleeps in epoll until a driver signals; its interruptOccurred drains the queue into the
// Direction (its input sink). A driver without an interrupt fd becomes a poller.
int runInterrupts(Direction* directions, Clock::time_point end, Telemetry* telemetry) {
    auto created = EventLoop::create();
    if (!created) return created.error();
    EventLoop& loop = *created.value();
    if (telemetry != nullptr) {
        if (int error = loop.watchReadable(telemetry->controlEventFd(), [telemetry] { telemetry->serviceControl(); })) return error;
    }
    for (unsigned d = 0; d < 2; ++d) {
        Direction* dir = &directions[d];
        int fd = dir->from->interruptEventFd(0);
        if (fd < 0 || dir->from->setInterruptsEnabled(0, true) != 0) {
            std::printf("nexnet-fwd: %s has no interrupts: polling it\n", dir->name.c_str());
            loop.addPoller([dir] { return dir->poll(); });
            continue;
        }
        dir->from->setClient(dir);
        if (int error = loop.watchReadable(fd, [dir] { dir->from->interruptOccurred(0); })) return error;
    }
    Clock::time_point last = Clock::now();
    auto timer = loop.addTimer(std::chrono::seconds(1), [&] {
        Clock::time_point now = Clock::now();
        printRates(directions, std::chrono::duration<double>(now - last).count());
        last = now;
    }, true);
    if (!timer) return timer.error();
    if (end != Clock::time_point::max()) {
        // A zero delay would disarm the timerfd: wait at least a millisecond.
        auto delay = std::max<Clock::duration>(end - Clock::now(), std::chrono::milliseconds(1));
        auto stop = loop.addTimer(delay, [&] { loop.stop(); });
        if (!stop) return stop.error();
    }
    signalLoop = &loop;
    if (stopSignal == 0) loop.run();
    signalLoop = nullptr;
    for (unsigned d = 0; d < 2; ++d) directions[d].from->setClient(nullptr);
    return 0;
}

// One more pair of the same URIs forwarded on its own thread (--threads).
struct Pair {
    std::unique_ptr<IONetwork> drivers[2];
    Direction directions[2];
    std::thread thread;
};

std::unique_ptr<Pair> openPair(const Settings& settings) {
    auto pair = std::make_unique<Pair>();
    for (unsigned d = 0; d < 2; ++d) {
        pair->drivers[d] = openUp(settings.uri[d]);
        if (!pair->drivers[d]) return nullptr;
    }
    for (unsigned d = 0; d < 2; ++d) {
        pair->directions[d].from = pair->drivers[d].get();
        pair->directions[d].to = pair->drivers[1 - d].get();
        pair->directions[d].burstSize = settings.burst;
    }
    return pair;
}

std::atomic<bool> othersStop{false};  // the main pair is done: so are the others

void forwardQuietly(Pair& pair, Clock::time_point end) {
    for (unsigned turn = 0; !othersStop.load(std::memory_order_relaxed); ++turn) {
        pair.directions[0].poll();
        pair.directions[1].poll();
        if (turn % 256 == 0 && Clock::now() >= end) break;
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    Settings settings;
    if (int usage = parseArguments(argc, argv, settings); usage != 0) {
        std::fputs(kUsage, usage == 2 ? stdout : stderr);
        return usage == 2 ? 0 : 2;
    }
    if (auto plugins = loadDriverPlugins(settings.plugins); !plugins) {
        std::fprintf(stderr, "nexnet-fwd: %s\n", plugins.describe().c_str());
        return 1;
    }
    std::unique_ptr<IONetwork> drivers[2] = {openUp(settings.uri[0]), openUp(settings.uri[1])};
    if (!drivers[0] || !drivers[1]) return 1;
    Direction directions[2];
    for (unsigned d = 0; d < 2; ++d) {
        directions[d].from = drivers[d].get();
        directions[d].to = drivers[1 - d].get();
        directions[d].name = d == 0 ? "A->B" : "B->A";
        directions[d].burstSize = settings.burst;
    }
    std::vector<std::unique_ptr<Pair>> others;
    for (unsigned t = 1; t < settings.threads; ++t) {
        others.push_back(openPair(settings));
        if (!others.back()) return 1;
    }
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);

    Clock::time_point start = Clock::now();
    Clock::time_point end = settings.duration > 0
                                ? start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(settings.duration))
                                : Clock::time_point::max();
    std::printf("nexnet-fwd: A=%s B=%s, bursts of %u, %s mode, %u thread%s\n", settings.uri[0].c_str(),
                settings.uri[1].c_str(), settings.burst, settings.interrupt ? "interrupt" : "poll", settings.threads,
                settings.threads == 1 ? "" : "s");
    for (auto& pair : others) pair->thread = std::thread([&pair, end] { forwardQuietly(*pair, end); });
    for (unsigned d = 0; d < 2; ++d) {
        if (const NetbufPool* pool = drivers[d]->pool())  // say which memory runs: hugepages or not
            std::printf("nexnet-fwd: %c pool %u netbufs on %zu KiB pages\n", "AB"[d], pool->capacity(),
                        pool->dataRegion().pageSize() / 1024);
    }
    // nexnetctl sees both drivers (counters, link, set) through this process's telemetry socket.
    auto telemetry = Telemetry::open(Telemetry::Options{});
    if (telemetry) {
        for (unsigned d = 0; d < 2; ++d) {
            if (telemetry.value()->addDriver(*drivers[d], settings.uri[d]) == EEXIST)  // two null: are both "null"
                telemetry.value()->addDriver(*drivers[d], settings.uri[d], drivers[d]->name() + "-" + "ab"[d]);
        }
    } else {
        std::fprintf(stderr, "nexnet-fwd: no telemetry: %s\n", telemetry.describe().c_str());
    }
    Telemetry* served = telemetry ? telemetry.value().get() : nullptr;
    if (settings.interrupt) {
        if (int error = runInterrupts(directions, end, served)) {
            std::fprintf(stderr, "nexnet-fwd: event loop: %s\n", std::strerror(error));
            return 1;
        }
    } else {
        runPolling(directions, end, served);
    }
    std::uint64_t othersForwarded = 0;
    othersStop.store(true);
    for (auto& pair : others) {
        pair->thread.join();
        othersForwarded += pair->directions[0].forwarded + pair->directions[1].forwarded;
    }
    printTotals(directions, std::chrono::duration<double>(Clock::now() - start).count(), settings, othersForwarded);
    return 0;
}
