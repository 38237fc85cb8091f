// nexnet-fwd: forwards everything one driver receives to the other and back, in bursts of 32:
// nexnet's ixy-fwd and testpmd io-fwd, and the forwarding benchmark.
//
//   nexnet-fwd URI URI [--threads N] [--cpus LIST] [--burst N] [--duration SECONDS] [--stats] [--interrupt]
//              [--user NAME]
//
// --threads N runs N workers (QueueWorkers), worker w forwarding queue pair w of each driver both
// ways (and queues w + N, w + 2N... of a driver that has more), so each driver needs N queue
// pairs or more (null:,queues=N; tap:NAME,queues=N). --cpus pins the workers (taskset's list
// syntax, worker w on the w-th CPU listed). Poll mode (default) spins on the receive bursts;
// --interrupt sleeps in each worker's EventLoop on the queues' interruptEventFd when idle (a
// driver without one is polled, and said so). Every second it prints the forwarded Mpps of each
// direction; at exit the totals (--stats adds the drivers' own counters and each thread's share).
// SIGINT and SIGTERM stop it. --burst sets the packets per receive (1-256, default 32). nexnetctl
// sees both drivers through the process's telemetry socket. The main thread runs the drivers'
// timers (a tap's link watchdog) and prints a driver's link changes and faults (a deleted tap) as
// they happen; it keeps forwarding and exits with status 1 if a fault is still there when it
// stops. The command line is strict: a refusal names the argument, exit status 2.
#include "drivers/BuiltinDrivers.h"
#include "framework/EventLoop.h"
#include "framework/IOCommands.h"
#include "netif/QueueWorkers.h"
#include "netif/Telemetry.h"
#include "samples/common/ArgumentParser.h"
#include "samples/common/ArgumentValues.h"
#include "samples/common/LinkWatch.h"
#include "samples/common/RunAsUser.h"

#include <net/if.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace nexnet;
using Clock = std::chrono::steady_clock;

namespace {

constexpr unsigned kBurst = 32;

volatile std::sig_atomic_t stopSignal = 0;
void onSignal(int signal) { stopSignal = signal; }

/// One direction: what `from` receives on queue q goes out through `to` on the worker's queue
/// (q modulo the number of workers), so each worker uses one transmit queue of `to` and a flow,
/// which stays on one receive queue, stays in order. Also the client of `from` in interrupt
/// mode, where the driver's interruptOccurred hands its bursts here.
struct Direction final : IONetworkClient {
    // One queue's counts, written by its worker only.
    struct alignas(64) QueueCounts {
        std::atomic<std::uint64_t> forwarded{0};
        std::atomic<std::uint64_t> dropped{0};  // received but not accepted for transmit: freed
    };
    IONetwork* from = nullptr;
    IONetwork* to = nullptr;
    std::string name;
    unsigned workers = 1;
    unsigned burstSize = kBurst;
    std::array<QueueCounts, IONetwork::kMaxQueues> counts{};
    std::uint64_t lastForwarded = 0;  // the main thread's, for the rate
    std::optional<LinkWatch> watch;   // of `from`: its link and faults, printed as they change (main thread)

    static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n) {
        counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void forward(unsigned queue, Netbuf** burst, unsigned n) {
        unsigned out = queue < workers ? queue : queue % workers;  // no division in the common case
        unsigned sent = to->send(out, burst, n);
        if (sent < n) [[unlikely]] {  // the ring is full: drop, as a forwarder does, and count it
            NetbufPool::freeToOwners(burst + sent, n - sent);
            to->report(QueueEvent::transmitDrop, out, n - sent);
            add(counts[queue].dropped, n - sent);
        }
        add(counts[queue].forwarded, sent);
    }
    // Poll mode: one burst from @p queue. @return true when it moved something.
    bool poll(unsigned queue) {
        Netbuf* burst[IONetwork::kMaxBurst];
        unsigned n = from->receive(queue, burst, burstSize);
        if (n != 0) forward(queue, burst, n);
        return n != 0;
    }
    void inputBurst(IONetwork&, unsigned queue, Netbuf** netbufs, unsigned count) override {
        forward(queue, netbufs, count);
    }

    std::uint64_t forwarded(unsigned queue) const { return counts[queue].forwarded.load(std::memory_order_relaxed); }
    std::uint64_t forwarded() const { return sum(&QueueCounts::forwarded); }
    std::uint64_t dropped() const { return sum(&QueueCounts::dropped); }
    std::uint64_t sum(std::atomic<std::uint64_t> QueueCounts::*field) const {
        std::uint64_t total = 0;
        for (const QueueCounts& c : counts) total += (c.*field).load(std::memory_order_relaxed);
        return total;
    }
};

struct Settings {
    std::string uri[2];
    std::vector<std::string> plugins;  // -d: driver plug-ins to load
    double duration = 0;               // seconds; 0: until a signal
    bool stats = false;
    bool interrupt = false;
    unsigned threads = 1;
    unsigned burst = kBurst;  // packets per receive
    std::vector<unsigned> cpus;
    std::optional<RunAsUser> user;  // --user: who to continue as once both drivers are open
};

const char kUsage[] =
    "usage: nexnet-fwd URI URI [--threads N] [--cpus LIST] [--burst N] [--duration SECONDS] [--stats]\n"
    "                  [--interrupt] [--user NAME] [-d PLUGIN.so]...\n"
    "Forwards in bursts (32, --burst) between two drivers (e.g. null: null:, tap:a tap:b), both ways. --threads N:\n"
    "N workers, worker w forwarding queue pair w of each driver (each needs N queue pairs:\n"
    "null:,queues=N, tap:NAME,queues=N); --cpus 2-3 pins them. Poll mode by default; --interrupt\n"
    "sleeps on the drivers' event fds when idle. Prints Mpps per direction every second and totals\n"
    "at exit; --stats adds driver counters and each thread's share.\n"
    "--user continues as that account once both drivers are open (started as root).\n";

// The command line, strictly: every refusal names the argument (samples/common/ArgumentParser.h).
Result<ArgumentParser::Outcome> parseArguments(int argc, char** argv, Settings& settings) {
    unsigned uris = 0;
    ArgumentParser parser;
    parser.flag({"--stats"}, [&] { settings.stats = true; })
        .flag({"--interrupt"}, [&] { settings.interrupt = true; })
        .option({"--duration"}, "SECONDS", storeInto(settings.duration, [](auto v) { return parseSeconds(v); }))
        .option({"--threads"}, "N",
                storeInto(settings.threads, [](auto v) { return parseCount(v, 1, IONetwork::kMaxQueues); }))
        .option({"--burst"}, "N",
                storeInto(settings.burst, [](auto v) { return parseCount(v, 1, IONetwork::kMaxBurst); }))
        .option({"--cpus"}, "LIST", storeInto(settings.cpus, QueueWorkers::parseCpuList))
        .option({"-d", "--plugin"}, "PLUGIN.so",
                [&](std::string_view file) {
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
        std::uint64_t forwarded = dir.forwarded();
        std::printf("%s%s %.3f Mpps", d == 0 ? "nexnet-fwd: " : "  ", dir.name.c_str(),
                    double(forwarded - dir.lastForwarded) / seconds / 1e6);
        dir.lastForwarded = forwarded;
    }
    std::printf("\n");
    for (unsigned d = 0; d < 2; ++d) {
        if (auto line = directions[d].watch->change()) std::printf("nexnet-fwd: %s\n", line->c_str());
    }
}

void printTotals(Direction* directions, double seconds, const Settings& settings, const QueueWorkers& workers) {
    for (unsigned d = 0; d < 2; ++d) {
        const Direction& dir = directions[d];
        std::printf("nexnet-fwd: total %s forwarded %llu dropped %llu in %.3f s: %.3f Mpps\n", dir.name.c_str(),
                    static_cast<unsigned long long>(dir.forwarded()), static_cast<unsigned long long>(dir.dropped()),
                    seconds, double(dir.forwarded()) / seconds / 1e6);
    }
    std::printf("nexnet-fwd: total both %.3f Mpps\n",
                double(directions[0].forwarded() + directions[1].forwarded()) / seconds / 1e6);
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
    for (unsigned w = 0; w < workers.threads(); ++w) {
        std::uint64_t moved[2] = {0, 0};
        for (unsigned d = 0; d < 2; ++d)
            for (unsigned q = w; q < IONetwork::kMaxQueues; q += workers.threads())
                moved[d] += directions[d].forwarded(q);
        std::printf("nexnet-fwd: thread %u (CPU %d) A->B %llu B->A %llu\n", w, workers.cpu(w),
                    static_cast<unsigned long long>(moved[0]), static_cast<unsigned long long>(moved[1]));
    }
}

// The receive queues of @p driver that worker @p worker runs: w, w + N, w + 2N...
std::vector<unsigned> queuesOf(const IONetwork& driver, unsigned worker, unsigned workers) {
    std::vector<unsigned> queues;
    for (unsigned q = worker; q < driver.queueCount(); q += workers) queues.push_back(q);
    return queues;
}

// Sets up worker w's loop: a poller over its queues of both directions (poll mode), or a watch
// on each queue's interrupt descriptor (interrupt mode; a driver without one is polled).
int prepareWorker(QueueWorkers& workers, unsigned w, Direction* directions, bool interrupt) {
    EventLoop& loop = workers.loop(w);
    std::vector<std::pair<Direction*, unsigned>> polled;
    for (unsigned d = 0; d < 2; ++d) {
        Direction* dir = &directions[d];
        for (unsigned q : queuesOf(*dir->from, w, workers.threads())) {
            int fd = interrupt ? dir->from->interruptEventFd(q) : -1;
            if (fd < 0 || dir->from->setInterruptsEnabled(q, true) != 0) {
                if (interrupt && q == 0)
                    std::printf("nexnet-fwd: %s has no interrupts: polling it\n", dir->name.c_str());
                polled.emplace_back(dir, q);
                continue;
            }
            dir->from->setQueueEventLoop(q, &loop);  // where its interruptOccurred posts leftover work
            if (int error = loop.watchReadable(fd, [dir, q] { dir->from->serviceInterrupt(q); })) return error;
        }
    }
    if (!polled.empty()) {
        // Up to 16 turns per call while frames come: the loop's own turn (timers, descriptors,
        // the stop request) is paid once per 16 bursts per queue, as testpmd checks its lcore's
        // state between bursts only now and then.
        loop.addPoller([polled] {
            bool busy = false;
            for (unsigned turn = 0; turn < 16; ++turn) {
                bool moved = false;
                for (auto [dir, q] : polled) moved |= dir->poll(q);
                if (!moved) break;
                busy = true;
            }
            return busy;
        });
    }
    return 0;
}

// Starts the workers and prints the rates every second until the duration or a signal.
// @p loop is the main thread's: it runs the drivers' timers (a tap's link watchdog) between the
// telemetry requests, and sleeps the rest of each 50 ms turn.
int run(QueueWorkers& workers, Direction* directions, const Settings& settings, Clock::time_point end,
        Telemetry* telemetry, EventLoop& loop) {
    for (unsigned w = 0; w < workers.threads(); ++w) {
        if (int error = prepareWorker(workers, w, directions, settings.interrupt)) return error;
    }
    if (settings.interrupt) {
        for (unsigned d = 0; d < 2; ++d) directions[d].from->setClient(&directions[d]);
    }
    if (auto started = workers.start(); !started.ok()) {
        std::fprintf(stderr, "nexnet-fwd: %s\n", started.describe().c_str());
        return -1;
    }
    Clock::time_point last = Clock::now();
    while (stopSignal == 0 && Clock::now() < end) {
        auto wait = std::min<Clock::duration>(std::chrono::milliseconds(50), end - Clock::now());
        if (int turn = loop.runOnce(std::chrono::ceil<std::chrono::milliseconds>(wait)); turn < 0) {
            workers.stop();
            for (unsigned d = 0; d < 2; ++d) directions[d].from->setClient(nullptr);
            return -turn;
        }
        // Telemetry requests on this thread: a set command is a control call, which the drivers'
        // queue gates keep apart from the workers' bursts.
        if (telemetry != nullptr) telemetry->serviceControl();
        Clock::time_point now = Clock::now();
        if (now - last >= std::chrono::seconds(1)) {
            printRates(directions, std::chrono::duration<double>(now - last).count());
            last = now;
            // A side hot-unplugged (said by printRates): nothing will come back, so stop.
            if (directions[0].watch->deviceGone() || directions[1].watch->deviceGone()) break;
        }
    }
    workers.stop();
    for (unsigned d = 0; d < 2; ++d) directions[d].from->setClient(nullptr);
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
    for (unsigned d = 0; d < 2; ++d) {
        if (drivers[d]->queueCount() < settings.threads) {
            std::fprintf(stderr, "nexnet-fwd: %s has %u queue pair%s; --threads %u needs %u (add ,queues=%u)\n",
                         settings.uri[d].c_str(), drivers[d]->queueCount(), drivers[d]->queueCount() == 1 ? "" : "s",
                         settings.threads, settings.threads, settings.threads);
            return 1;
        }
    }
    QueueWorkers::Options options;
    options.threads = settings.threads;
    options.cpus = settings.cpus;
    options.name = "nexnet-fwd";
    auto workers = QueueWorkers::create(options);
    if (!workers) {
        std::fprintf(stderr, "nexnet-fwd: %s\n", workers.describe().c_str());
        return 1;
    }
    Direction directions[2];
    for (unsigned d = 0; d < 2; ++d) {
        directions[d].from = drivers[d].get();
        directions[d].to = drivers[1 - d].get();
        directions[d].name = d == 0 ? "A->B" : "B->A";
        directions[d].workers = settings.threads;
        directions[d].burstSize = settings.burst;
        directions[d].watch.emplace(*drivers[d], settings.uri[d]);
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
    for (unsigned d = 0; d < 2; ++d) {
        if (const NetbufPool* pool = drivers[d]->pool())  // say which memory runs: hugepages or not
            std::printf("nexnet-fwd: %c pool %u netbufs on %zu KiB pages\n", "AB"[d], pool -> capacity(),
                        pool -> dataRegion().pageSize() / 1024);
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
    if (settings.user) {  // both drivers and the telemetry socket are open: continue as the account
        if (Status dropped = settings.user->become(); !dropped) {
            std::fprintf(stderr, "nexnet-fwd: %s\n", dropped.describe().c_str());
            return 1;
        }
        std::printf("nexnet-fwd: continuing as %s (uid %u, gid %u)\n", settings.user->name().c_str(),
                    static_cast<unsigned>(settings.user->uid()), static_cast<unsigned>(settings.user->gid()));
    }
    // The main thread's loop runs the drivers' timers (a tap's link watchdog: control calls, kept
    // apart from the workers' bursts by the queue gates) in both modes.
    auto loop = EventLoop::create();
    if (!loop) {
        std::fprintf(stderr, "nexnet-fwd: event loop: %s\n", std::strerror(loop.error()));
        return 1;
    }
    for (auto& driver : drivers) driver->attachToEventLoop(loop.value().get());
    int error = run(*workers.value(), directions, settings, end, served, *loop.value());
    for (auto& driver : drivers) driver->attachToEventLoop(nullptr);
    if (error != 0) {
        if (error > 0) std::fprintf(stderr, "nexnet-fwd: event loop: %s\n", std::strerror(error));
        return 1;
    }
    printTotals(directions, std::chrono::duration<double>(Clock::now() - start).count(), settings, *workers.value());
    int status = 0;
    for (const Direction& dir : directions) {
        if (auto line = dir.watch->finalMessage()) std::printf("nexnet-fwd: %s\n", line->c_str());
        status = std::max(status, dir.watch->exitStatus());
    }
    return status;
}
