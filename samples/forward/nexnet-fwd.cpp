// nexnet-fwd: forwards everything one driver receives to the other and back, in bursts of 32,
// on one thread: nexnet's ixy-fwd and testpmd io-fwd, and the forwarding benchmark.
//
//   nexnet-fwd URI URI [--duration SECONDS] [--stats] [--interrupt] [--user NAME]
//
// Poll mode (default) spins on the receive bursts of both drivers. --interrupt sleeps in an EventLoop
// on each driver's interruptEventFd when idle (a driver without one is polled, and said so).
// Every second it prints the forwarded Mpps of each direction; at exit the totals (--stats adds
// the drivers' own counters). SIGINT and SIGTERM stop it. A driver's link changes and faults (a
// deleted tap) are printed as they happen; it keeps forwarding and exits with status 1 if a fault
// is still there when it stops.
#include "drivers/BuiltinDrivers.h"
#include "framework/EventLoop.h"
#include "framework/IOCommands.h"
#include "samples/common/ArgumentParser.h"
#include "samples/common/ArgumentValues.h"
#include "samples/common/LinkWatch.h"
#include "samples/common/RunAsUser.h"

#include <net/if.h>

#include <algorithm>
#include <chrono>
#include <csignal>
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
    std::optional<LinkWatch> watch;  // of `from`: its link and faults, printed as they change

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
        Netbuf* burst[kBurst];
        unsigned n = from->receive(0, burst, kBurst);
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
    std::optional<RunAsUser> user;  // --user: who to continue as once both drivers are open
};

const char kUsage[] =
    "usage: nexnet-fwd URI URI [--duration SECONDS] [--stats] [--interrupt] [--user NAME] [-d PLUGIN.so]...\n"
    "Forwards in bursts of 32 between two drivers (e.g. null: null:, tap:a tap:b), both ways, on\n"
    "one thread. Poll mode by default; --interrupt sleeps on the drivers' event fds when idle.\n"
    "Prints Mpps per direction every second and totals at exit; --stats adds driver counters.\n"
    "--user continues as that account once both drivers are open (started as root).\n";

// The command line, strictly: every refusal names the argument (samples/common/ArgumentParser.h).
Result<ArgumentParser::Outcome> parseArguments(int argc, char** argv, Settings& settings) {
    unsigned uris = 0;
    ArgumentParser parser;
    parser.flag({"--stats"}, [&] { settings.stats = true; })
        .flag({"--interrupt"}, [&] { settings.interrupt = true; })
        .option({"--duration"}, "SECONDS", storeInto(settings.duration, [](auto v) { return parseSeconds(v); }))
        .option({"-d", "--plugin"}, "PLUGIN.so", [&](std::string_view file) {
            settings.plugins.emplace_back(file);
            return Status();
        })
        .option({"--user"}, "NAME", storeInto(settings.user, RunAsUser::find))
        .operands("URIs", 2, 2, [&](std::string_view uri) {
            settings.uri[uris++] = uri;
            return Status();
        });
    return parser.parse(argc, argv);
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
    for (unsigned d = 0; d < 2; ++d) {
        if (auto line = directions[d].watch->change()) std::printf("nexnet-fwd: %s\n", line->c_str());
    }
}

void printTotals(Direction* directions, double seconds, const Settings& settings) {
    for (unsigned d = 0; d < 2; ++d) {
        const Direction& dir = directions[d];
        std::printf("nexnet-fwd: total %s forwarded %llu dropped %llu in %.3f s: %.3f Mpps\n", dir.name.c_str(),
                    static_cast<unsigned long long>(dir.forwarded), static_cast<unsigned long long>(dir.dropped),
                    seconds, double(dir.forwarded) / seconds / 1e6);
    }
    std::printf("nexnet-fwd: total both %.3f Mpps\n", double(directions[0].forwarded + directions[1].forwarded) / seconds / 1e6);
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

// Spins on both drivers; looks at the clock every 256 turns (a vDSO call, no syscall). Once a
// second it also lets @p loop run the drivers' timers (a tap's link watchdog) without waiting.
void runPolling(Direction* directions, Clock::time_point end, EventLoop& loop) {
    Clock::time_point last = Clock::now();
    for (unsigned turn = 0; stopSignal == 0; ++turn) {
        directions[0].poll();
        directions[1].poll();
        if (turn % 256 != 0) continue;
        Clock::time_point now = Clock::now();
        if (now - last >= std::chrono::seconds(1)) {
            loop.runOnce(std::chrono::milliseconds(0));
            printRates(directions, std::chrono::duration<double>(now - last).count());
            last = now;
        }
        if (now >= end) break;
    }
}

// Sleeps in epoll until a driver signals; its interruptOccurred drains the queue into the
// Direction (its input sink). A driver without an interrupt fd becomes a poller.
int runInterrupts(Direction* directions, Clock::time_point end, EventLoop& loop) {
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
    for (unsigned d = 0; d < 2; ++d) {
        loop.unwatch(directions[d].from->interruptEventFd(0));
        directions[d].from->setClient(nullptr);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    Settings settings;
    auto parsed = parseArguments(argc, argv, settings);
    if (!parsed || parsed.value() == ArgumentParser::Outcome::help) {
        if (!parsed) std::fprintf(stderr, "nexnet-fwd: %s\n", parsed.message().c_str());
        std::fputs(kUsage, parsed ? stdout : stderr);
        return parsed ? 0 : 2;
    }
    if (auto plugins = loadDriverPlugins(settings.plugins); !plugins) {
        std::fprintf(stderr, "nexnet-fwd: %s\n", plugins.describe().c_str());
        return 1;
    }
    std::unique_ptr<IONetwork> drivers[2] = {openUp(settings.uri[0]), openUp(settings.uri[1])};
    if (!drivers[0] || !drivers[1]) return 1;
    if (settings.user) {  // both drivers are open: continue as the account
        if (Status dropped = settings.user->become(); !dropped) {
            std::fprintf(stderr, "nexnet-fwd: %s\n", dropped.describe().c_str());
            return 1;
        }
        std::printf("nexnet-fwd: continuing as %s (uid %u, gid %u)\n", settings.user->name().c_str(),
                    static_cast<unsigned>(settings.user->uid()), static_cast<unsigned>(settings.user->gid()));
    }
    Direction directions[2];
    for (unsigned d = 0; d < 2; ++d) {
        directions[d].from = drivers[d].get();
        directions[d].to = drivers[1 - d].get();
        directions[d].name = d == 0 ? "A->B" : "B->A";
        directions[d].watch.emplace(*drivers[d], settings.uri[d]);
    }
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);

    Clock::time_point start = Clock::now();
    Clock::time_point end = settings.duration > 0
                                ? start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(settings.duration))
                                : Clock::time_point::max();
    std::printf("nexnet-fwd: A=%s B=%s, bursts of %u, %s mode\n", settings.uri[0].c_str(), settings.uri[1].c_str(),
                kBurst, settings.interrupt ? "interrupt" : "poll");
    for (unsigned d = 0; d < 2; ++d) {
        if (const NetbufPool* pool = drivers[d]->pool())  // say which memory runs: hugepages or not
            std::printf("nexnet-fwd: %c pool %u netbufs on %zu KiB pages\n", "AB"[d], pool->capacity(),
                        pool->dataRegion().pageSize() / 1024);
    }
    // Both modes run the drivers' timers (a tap's link watchdog) on one event loop.
    auto loop = EventLoop::create();
    if (!loop) {
        std::fprintf(stderr, "nexnet-fwd: event loop: %s\n", std::strerror(loop.error()));
        return 1;
    }
    for (auto& driver : drivers) driver->attachToEventLoop(loop.value().get());
    int error = settings.interrupt ? runInterrupts(directions, end, *loop.value()) : 0;
    if (!settings.interrupt) runPolling(directions, end, *loop.value());
    for (auto& driver : drivers) driver->attachToEventLoop(nullptr);
    if (error != 0) {
        std::fprintf(stderr, "nexnet-fwd: event loop: %s\n", std::strerror(error));
        return 1;
    }
    printTotals(directions, std::chrono::duration<double>(Clock::now() - start).count(), settings);
    int status = 0;
    for (const Direction& dir : directions) {
        if (auto line = dir.watch->finalMessage()) std::printf("nexnet-fwd: %s\n", line->c_str());
        status = std::max(status, dir.watch->exitStatus());
    }
    return status;
}
