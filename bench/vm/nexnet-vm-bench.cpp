// nexnet-vm-bench: the guest side of bench/vm/vfio-fwd-bench.sh. Runs inside a QEMU guest booted
// by tests/vm/run-guest.sh --nics 4 (NICs 1 and 3 on one hub, 2 and 4 on another, all bound to
// vfio-pci). A forwarder runs between NIC 1 (A) and NIC 2 (B); this program drives it from NIC 3
// (C, A's hub) and NIC 4 (D, B's hub) with nexnet's own VFIO drivers:
//
//   1. nexnet-fwd vfio:A vfio:B                  (/test/nexnet-fwd)
//   2. dpdk-testpmd io-fwd on A and B over vfio-pci (/test/dpdk-testpmd, PMDs /test/librte_*.so*)
//   3. nexnet-fwd under valgrind --tool=callgrind (/test/valgrind, when copied): instructions per
//      forwarded frame inside the driver's receiveBurst and transmitBurst, inclusive
//
// Steps 1 and 2 alternate --rounds times (default 3), in the order 1 2 2 1 1 2... For each forwarder, three runs of --frames sequence-numbered 60-byte broadcast frames: C->D, D->C,
// and both at once. Each flow keeps at most --window frames in flight (a closed loop: it measures
// what the forwarder sustains, and a frame the forwarder drops is counted, never retried). A flow
// that receives nothing for 0.5 s with frames in flight counts them lost and goes on (10 s under
// callgrind, whose forwarder pauses when the host is busy).
//
// Prints "NEXNET-FIGURE name value unit" lines (the host script collects them) and, for callgrind,
// the profile between NEXNET-CALLGRIND-BEGIN and NEXNET-CALLGRIND-END. Exit 0 when every step ran.
//
//   nexnet-vm-bench [--frames N] [--window N] [--rounds N] [--callgrind-frames N] [--skip STEP]...
//   STEP: nexnet, testpmd, callgrind
#include "drivers/BuiltinDrivers.h"
#include "drivers/vfio/VfioDriver.h"
#include "framework/IOEthernet.h"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace nexnet;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr unsigned kBurst = 32;
constexpr std::uint32_t kMagic = 0x4e585642;  // "NXVB"
constexpr std::uint8_t kProbeFlow = 0xff;

struct Settings {
    std::uint32_t frames = 100000;
    std::uint32_t window = 256;
    std::uint32_t callgrindFrames = 20000;
    unsigned rounds = 3;
    bool skipNexnet = false, skipTestpmd = false, skipCallgrind = false;
};

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}

std::vector<std::string> splitWords(const std::string& text) {
    std::vector<std::string> words;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = text.find(' ', at);
        if (end == std::string::npos) end = text.size();
        if (end > at) words.push_back(text.substr(at, end - at));
        at = end + 1;
    }
    return words;
}

void figure(const std::string& name, double value, const char* unit) {
    std::printf("NEXNET-FIGURE %s %.6g %s\n", name.c_str(), value, unit);
}

void pinTo(int cpu) {
    if (std::thread::hardware_concurrency() < 2) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

std::unique_ptr<IOEthernet> openNic(const std::string& bdf) {
    auto driver = builtinDrivers().open("vfio:" + bdf + ",pool=2048");
    if (!driver) {
        std::printf("nexnet-vm-bench: cannot open vfio:%s: %s\n", bdf.c_str(), driver.describe().c_str());
        return nullptr;
    }
    std::unique_ptr<IOEthernet> nic(dynamic_cast<IOEthernet*>(driver->release()));
    if (!nic || nic->resetAndEnable(true) != 0) {
        std::printf("nexnet-vm-bench: cannot enable %s\n", bdf.c_str());
        return nullptr;
    }
    return nic;
}

/// One stream of sequence-numbered frames from `tx` (through the forwarder) to `rx`.
struct Flow {
    IOEthernet* tx = nullptr;
    IOEthernet* rx = nullptr;
    std::uint8_t id = 0;
    std::uint8_t frame[60] = {};
    std::uint64_t sent = 0, received = 0, presumedLost = 0, late = 0, foreign = 0;
    std::uint32_t expected = 0;  // next sequence number in order
    Clock::time_point lastReceive;

    void prepare(IOEthernet* from, IOEthernet* to, std::uint8_t flowId) {
        tx = from, rx = to, id = flowId;
        std::memset(frame, 0, sizeof frame);
        std::memset(frame, 0xff, 6);  // broadcast: the forwarder's NIC passes it without promiscuous mode
        std::memcpy(frame + 6, tx->hardwareAddress().bytes.data(), 6);
        frame[12] = 0x88, frame[13] = 0xb5;  // local experimental ethertype
        std::memcpy(frame + 14, &kMagic, 4);
        frame[18] = id;
        for (unsigned i = 23; i < sizeof frame; ++i) frame[i] = static_cast<std::uint8_t>(i * 7 + id);
        sent = received = presumedLost = late = foreign = 0;
        expected = 0;
    }
    /// Sends up to a burst while the window has room. @return frames sent.
    std::uint64_t inFlight() const { return received + presumedLost >= sent ? 0 : sent - received - presumedLost; }
    unsigned send(std::uint64_t total, std::uint32_t window) {
        std::uint64_t inFlight = this->inFlight();
        if (sent >= total || inFlight >= window) return 0;
        unsigned want = static_cast<unsigned>(std::min<std::uint64_t>({kBurst, total - sent, window - inFlight}));
        Netbuf* burst[kBurst];
        if (tx->pool()->allocateBulk(burst, want) != 0) return 0;
        for (unsigned i = 0; i < want; ++i) {
            std::uint32_t sequence = static_cast<std::uint32_t>(sent + i);
            burst[i]->append(frame, sizeof frame);
            std::memcpy(burst[i]->data() + 19, &sequence, 4);
        }
        unsigned accepted = tx->send(0, burst, want);
        if (accepted < want) tx->pool()->freeBulk(burst + accepted, want - accepted);
        sent += accepted;
        return accepted;
    }
    /// Checks one received frame. @return true when it belongs to this flow.
    bool take(const std::uint8_t* f, std::size_t size, Clock::time_point now) {
        if (size < sizeof frame || std::memcmp(f + 14, &kMagic, 4) != 0 || f[18] != id) return false;
        if (std::memcmp(f + 23, frame + 23, sizeof frame - 23) != 0 || std::memcmp(f, frame, 14) != 0) {
            ++foreign;  // ours by its header, corrupted after it
            return true;
        }
        std::uint32_t sequence;
        std::memcpy(&sequence, f + 19, 4);
        if (sequence < expected) {
            ++late;  // reordered or duplicated: not counted as received
            return true;
        }
        expected = sequence + 1;
        ++received;
        lastReceive = now;
        return true;
    }
};

/// Receives a burst on @p nic and hands each frame to the flow it belongs to.
void receive(IOEthernet& nic, Flow* flows, unsigned count, Clock::time_point now) {
    Netbuf* burst[kBurst];
    unsigned n = nic.receive(0, burst, kBurst);
    for (unsigned i = 0; i < n; ++i) {
        for (unsigned f = 0; f < count; ++f) {
            if (flows[f].rx == &nic && flows[f].take(burst[i]->data(), burst[i]->size(), now)) break;
        }
    }
    if (n > 0) nic.pool()->freeBulk(burst, n);
}

struct RunResult {
    double seconds = 0;
    std::uint64_t sent = 0, received = 0, late = 0, corrupted = 0;
};

/// Runs @p count flows at once, @p frames each. The clock runs from the first send to the last frame.
/// Frames in flight when nothing arrived for @p silence are counted lost.
RunResult runFlows(Flow* flows, unsigned count, std::uint64_t frames, std::uint32_t window, IOEthernet* nics[2],
                   std::chrono::milliseconds silence = 500ms) {
    Clock::time_point start = Clock::now(), last = start;
    for (unsigned f = 0; f < count; ++f) flows[f].lastReceive = start;
    for (;;) {
        bool done = true;
        Clock::time_point now = Clock::now();
        for (unsigned f = 0; f < count; ++f) {
            Flow& flow = flows[f];
            flow.send(frames, window);
            std::uint64_t inFlight = flow.inFlight();
            if (inFlight > 0 && now - flow.lastReceive > silence) {  // the forwarder dropped them
                flow.presumedLost += inFlight;
                flow.lastReceive = now;
            }
            done = done && flow.sent == frames && flow.inFlight() == 0;
        }
        for (unsigned n = 0; n < 2; ++n) receive(*nics[n], flows, count, now);
        if (done) break;
    }
    RunResult result;
    for (unsigned f = 0; f < count; ++f) {
        last = std::max(last, flows[f].lastReceive);
        result.sent += flows[f].sent;
        result.received += flows[f].received;
        result.late += flows[f].late;
        result.corrupted += flows[f].foreign;
    }
    result.seconds = std::chrono::duration<double>(last - start).count();
    return result;
}

/// Sends one probe frame each way every 100 ms until both arrive. @return true when the path works.
bool waitUntilForwarding(IOEthernet& c, IOEthernet& d, std::chrono::seconds limit, const std::function<bool()>& alive) {
    Flow probes[2];
    probes[0].prepare(&c, &d, kProbeFlow);
    probes[1].prepare(&d, &c, kProbeFlow - 1);
    IOEthernet* nics[2] = {&c, &d};
    Clock::time_point deadline = Clock::now() + limit;
    while (Clock::now() < deadline && alive()) {
        for (Flow& p : probes) {
            if (p.received == 0) {
                p.sent = 0, p.presumedLost = 0;
                p.send(1, 1);
            }
        }
        Clock::time_point until = Clock::now() + 100ms;
        while (Clock::now() < until) {
            for (IOEthernet* nic : nics) receive(*nic, probes, 2, Clock::now());
        }
        if (probes[0].received > 0 && probes[1].received > 0) {
            // Late probes still in the forwarder: let them out before counting anything.
            until = Clock::now() + 300ms;
            while (Clock::now() < until) {
                for (IOEthernet* nic : nics) receive(*nic, probes, 2, Clock::now());
            }
            return true;
        }
    }
    return false;
}

/// The three runs (C->D, D->C, both) against the forwarder now running. @return false when one failed.
bool measure(const std::string& side, IOEthernet& c, IOEthernet& d, const Settings& settings) {
    IOEthernet* nics[2] = {&c, &d};
    struct Case {
        const char* name;
        bool cToD, dToC;
    } cases[] = {{"a2b", true, false}, {"b2a", false, true}, {"both", true, true}};
    bool ok = true;
    for (const Case& k : cases) {
        Flow flows[2];
        unsigned count = 0;
        if (k.cToD) flows[count++].prepare(&c, &d, 1);
        if (k.dToC) flows[count++].prepare(&d, &c, 2);
        RunResult r = runFlows(flows, count, settings.frames, settings.window, nics);
        double rate = r.seconds > 0 ? r.received / r.seconds : 0;
        std::printf(
            "nexnet-vm-bench: %s %s: sent %llu received %llu lost %llu late %llu corrupted %llu in %.2f s: %.0f "
            "frames/s\n",
            side.c_str(), k.name, static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.received),
            static_cast<unsigned long long>(r.sent - r.received), static_cast<unsigned long long>(r.late),
            static_cast<unsigned long long>(r.corrupted), r.seconds, rate);
        figure(side + "_" + k.name + "_rate", rate / 1e3, "kframes/s");
        figure(side + "_" + k.name + "_lost", static_cast<double>(r.sent - r.received), "frames");
        figure(side + "_" + k.name + "_corrupted", static_cast<double>(r.corrupted + r.late), "frames");
        ok = ok && r.received > 0;
    }
    return ok;
}

/// A forwarder process: started by start(), stopped by stop() (SIGINT, or a line on its stdin).
struct Forwarder {
    pid_t pid = -1;
    int stdinPipe = -1;

    bool start(const std::vector<std::string>& argv, const std::vector<std::string>& environment, bool pipeStdin) {
        int fds[2] = {-1, -1};
        if (pipeStdin && pipe(fds) != 0) return false;
        std::fflush(stdout);
        pid = fork();
        if (pid < 0) return false;
        if (pid == 0) {
            if (pipeStdin) {
                dup2(fds[0], 0);
                close(fds[0]);
                close(fds[1]);
            }
            pinTo(1);  // this process sends and receives on CPU 0
            for (const std::string& e : environment) putenv(const_cast<char*>(e.c_str()));
            std::vector<char*> args;
            for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            execv(args[0], args.data());
            std::perror(args[0]);
            _exit(127);
        }
        if (pipeStdin) {
            close(fds[0]);
            stdinPipe = fds[1];
        }
        return true;
    }
    /// @return the exit status as waitpid reports it (-1 when it had to be killed).
    int stop() {
        if (pid <= 0) return -1;
        if (stdinPipe >= 0) {
            if (write(stdinPipe, "\n", 1) != 1) kill(pid, SIGINT);
            close(stdinPipe);
            stdinPipe = -1;
        } else {
            kill(pid, SIGINT);
        }
        int status = 0;
        for (int i = 0; i < 1200; ++i) {  // 120 s: valgrind under TCG writes its profile slowly
            if (waitpid(pid, &status, WNOHANG) == pid) {
                pid = -1;
                return status;
            }
            std::this_thread::sleep_for(100ms);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        pid = -1;
        return -1;
    }
    /// @return false once the process has ended (it is then reaped).
    bool alive() {
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) pid = -1;
        return pid > 0;
    }
    ~Forwarder() { stop(); }
};

bool exitedCleanly(const char* name, int status) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    if (status == -1) std::printf("nexnet-vm-bench: %s did not stop: killed\n", name);
    else if (WIFEXITED(status)) std::printf("nexnet-vm-bench: %s exited with %d\n", name, WEXITSTATUS(status));
    else std::printf("nexnet-vm-bench: %s ended by signal %d\n", name, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return false;
}

std::vector<std::string> pmdLibraries() {
    std::vector<std::string> list;
    if (DIR* dir = opendir("/test")) {
        while (dirent* e = readdir(dir)) {
            std::string name = e->d_name;
            if (name.rfind("librte_", 0) == 0) list.push_back("/test/" + name);
        }
        closedir(dir);
    }
    std::sort(list.begin(), list.end());
    return list;
}

bool runNexnet(const std::vector<std::string>& bdfs, IOEthernet& c, IOEthernet& d, const Settings& settings) {
    std::printf("nexnet-vm-bench: == nexnet-fwd vfio:%s vfio:%s\n", bdfs[0].c_str(), bdfs[1].c_str());
    Forwarder fwd;
    if (!fwd.start({"/test/nexnet-fwd", "vfio:" + bdfs[0], "vfio:" + bdfs[1], "--stats"}, {}, false)) return false;
    if (!waitUntilForwarding(c, d, 60s, [&] { return fwd.alive(); })) {
        std::printf("nexnet-vm-bench: nexnet-fwd forwarded nothing in 60 s\n");
        return false;
    }
    bool ok = measure("nexnet_fwd", c, d, settings);
    return exitedCleanly("nexnet-fwd", fwd.stop()) && ok;
}

bool runTestpmd(const std::vector<std::string>& bdfs, IOEthernet& c, IOEthernet& d, const Settings& settings) {
    bool virtio = env("NEXNET_NIC") == "virtio-net";
    std::string ring = virtio ? "256" : "512";  // the rings nexnet's drivers use by default
    std::vector<std::string> argv = {"/test/dpdk-testpmd", "-l", "0-1",   "-n", "1",     "--in-memory",
                                     "--iova-mode=va",     "-a", bdfs[0], "-a", bdfs[1], "--log-level=lib.eal:notice"};
    for (const std::string& lib : pmdLibraries()) argv.insert(argv.end(), {"-d", lib});
    argv.insert(argv.end(),
                {"--", "--forward-mode=io", "--nb-cores=1", "--burst=32", "--rxd=" + ring, "--txd=" + ring,
                 "--total-num-mbufs=8192"});
    std::printf("nexnet-vm-bench: == dpdk-testpmd io-fwd on %s %s (%s PMD)\n", bdfs[0].c_str(), bdfs[1].c_str(),
                virtio ? "virtio" : "e1000");
    Forwarder fwd;
    if (!fwd.start(argv, {"LD_LIBRARY_PATH=/test"}, true)) return false;
    if (!waitUntilForwarding(c, d, 120s, [&] { return fwd.alive(); })) {
        std::printf("nexnet-vm-bench: testpmd forwarded nothing in 120 s\n");
        return false;
    }
    bool ok = measure("testpmd", c, d, settings);
    return exitedCleanly("dpdk-testpmd", fwd.stop()) && ok;
}

/// Sends one monitor command to the callgrind of @p pid through vgdb. @return true on success.
bool vgdb(pid_t pid, const char* command) {
    std::string line =
        "VALGRIND_LIB=/test /test/vgdb --pid=" + std::to_string(pid) + " " + command + " >/dev/null 2>&1";
    return std::system(line.c_str()) == 0;
}

bool runCallgrind(const std::vector<std::string>& bdfs, IOEthernet& c, IOEthernet& d, const Settings& settings) {
    // Debian's /usr/bin/valgrind is a shell wrapper that runs valgrind.bin next to it.
    std::string valgrind = access("/test/valgrind.bin", X_OK) == 0 ? "/test/valgrind.bin" : "/test/valgrind";
    if (access(valgrind.c_str(), X_OK) != 0) {
        std::printf("nexnet-vm-bench: no /test/valgrind: callgrind step skipped\n");
        return true;
    }
    std::string cls = env("NEXNET_NIC") == "virtio-net" ? "VirtioNetDriver" : "E1000eDriver";
    std::printf(
        "nexnet-vm-bench: == valgrind --tool=callgrind nexnet-fwd (collects in %s::receiveBurst and ::transmitBurst)\n",
        cls.c_str());
    std::system("rm -f /tmp/callgrind.out*");
    Forwarder fwd;
    if (!fwd.start({valgrind, "--tool=callgrind", "--callgrind-out-file=/tmp/callgrind.out", "--collect-atstart=no",
                    "--toggle-collect=nexnet::" + cls + "::receiveBurst*",
                    "--toggle-collect=nexnet::" + cls + "::transmitBurst*", "--vgdb=yes", "/test/nexnet-fwd",
                    "vfio:" + bdfs[0], "vfio:" + bdfs[1]},
                   {"VALGRIND_LIB=/test"}, false)) {
        return false;
    }
    if (!waitUntilForwarding(c, d, 400s, [&] { return fwd.alive(); })) {
        std::printf("nexnet-vm-bench: nexnet-fwd under callgrind forwarded nothing in 400 s\n");
        return false;
    }
    // Zero the counters now, dump them after the last frame: the idle polls before and after the
    // run stay out (those between "zero" and the first frame, and after the last one, are in).
    bool bracketed = access("/test/vgdb", X_OK) == 0 && vgdb(fwd.pid, "zero");
    Flow flows[2];
    flows[0].prepare(&c, &d, 1);
    flows[1].prepare(&d, &c, 2);
    IOEthernet* nics[2] = {&c, &d};
    // Under valgrind the forwarder pauses for whole seconds when the host is busy: a frame is late
    // then, not lost, and counting it lost would inflate the instructions per frame.
    RunResult r = runFlows(flows, 2, settings.callgrindFrames, settings.window, nics, 10s);
    if (bracketed) bracketed = vgdb(fwd.pid, "dump measured");
    // A second profile of one idle second: the cost of an empty poll, which the host script takes
    // out of the receive figure (the measured run has empty polls too, on a port that had nothing).
    bool idle = false;
    if (bracketed) {
        std::this_thread::sleep_for(1s);
        idle = vgdb(fwd.pid, "dump idle");
    }
    std::printf("nexnet-vm-bench: callgrind: sent %llu received %llu in %.2f s, counters %s\n",
                static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.received), r.seconds,
                bracketed ? "zeroed before and dumped after the run (vgdb)" : "of the whole process (vgdb failed)");
    int status = fwd.stop();
    figure("callgrind_forwarded", static_cast<double>(r.received), "frames");
    figure("callgrind_bracketed", bracketed ? 1 : 0, "bool");
    // The dumps vgdb made (callgrind.out.1: the run, .2: idle), else the one at exit (whole process).
    std::vector<std::pair<std::string, std::string>> files;
    if (bracketed) files.push_back({"measured", "/tmp/callgrind.out.1"});
    else files.push_back({"whole", "/tmp/callgrind.out"});
    if (idle) files.push_back({"idle", "/tmp/callgrind.out.2"});
    for (const auto& [part, file] : files) {
        std::ifstream in(file);
        if (!in) {
            std::printf("nexnet-vm-bench: no %s (valgrind status %d)\n", file.c_str(), status);
            return false;
        }
        std::printf("NEXNET-CALLGRIND-BEGIN %s\n", part.c_str());
        std::string line;
        while (std::getline(in, line)) std::printf("%s\n", line.c_str());
        std::printf("NEXNET-CALLGRIND-END\n");
    }
    return r.received > 0;
}

const char kUsage[] =
    "usage: nexnet-vm-bench [--frames N] [--window N] [--rounds N] [--callgrind-frames N] [--skip "
    "nexnet|testpmd|callgrind]...\n"
    "Runs in the guest of bench/vm/vfio-fwd-bench.sh (tests/vm/run-guest.sh --nics 4).\n";

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    Settings settings;
    for (int i = 1; i < argc; ++i) {
        std::string option = argv[i];
        std::string value = i + 1 < argc ? argv[i + 1] : "";
        if (option == "--frames" && !value.empty())
            settings.frames = static_cast<std::uint32_t>(std::atol(value.c_str())), ++i;
        else if (option == "--window" && !value.empty())
            settings.window = static_cast<std::uint32_t>(std::atol(value.c_str())), ++i;
        else if (option == "--rounds" && !value.empty())
            settings.rounds = static_cast<unsigned>(std::atoi(value.c_str())), ++i;
        else if (option == "--callgrind-frames" && !value.empty())
            settings.callgrindFrames = static_cast<std::uint32_t>(std::atol(value.c_str())), ++i;
        else if (option == "--skip" && (value == "nexnet" || value == "testpmd" || value == "callgrind")) {
            (value == "nexnet"        ? settings.skipNexnet
                 : value == "testpmd" ? settings.skipTestpmd
                                      : settings.skipCallgrind) = true;
            ++i;
        } else {
            std::fputs(kUsage, stderr);
            return 2;
        }
    }
    if (settings.frames == 0 || settings.window == 0 || settings.callgrindFrames == 0 || settings.rounds == 0) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    std::vector<std::string> bdfs = splitWords(env("NEXNET_BDFS"));
    if (bdfs.size() != 4) {
        std::printf("nexnet-vm-bench: needs 4 NICs (run-guest.sh --nics 4), has %zu\n", bdfs.size());
        return 2;
    }
    std::ofstream("/proc/sys/vm/nr_hugepages") << 192;  // 384 MiB: both forwarders and the generator
    pinTo(0);
    auto c = openNic(bdfs[2]);
    auto d = openNic(bdfs[3]);
    if (!c || !d) return 1;
    std::printf("nexnet-vm-bench: %s, %u CPUs, %u frames per run, window %u; A=%s B=%s C=%s D=%s\n",
                env("NEXNET_NIC").c_str(), std::thread::hardware_concurrency(), settings.frames, settings.window,
                bdfs[0].c_str(), bdfs[1].c_str(), bdfs[2].c_str(), bdfs[3].c_str());
    figure("cpus", std::thread::hardware_concurrency(), "vCPUs");
    bool ok = true;
    // Alternating, in the order ABBA ABBA...: a host load that drifts during the run weighs on both.
    for (unsigned round = 1; round <= settings.rounds; ++round) {
        std::printf("nexnet-vm-bench: round %u/%u\n", round, settings.rounds);
        bool nexnetFirst = round % 2 == 1;
        for (unsigned turn = 0; turn < 2; ++turn) {
            if ((turn == 0) == nexnetFirst) {
                if (!settings.skipNexnet) ok = runNexnet(bdfs, *c, *d, settings) && ok;
            } else if (!settings.skipTestpmd) {
                ok = runTestpmd(bdfs, *c, *d, settings) && ok;
            }
        }
    }
    if (!settings.skipCallgrind) ok = runCallgrind(bdfs, *c, *d, settings) && ok;
    std::printf("nexnet-vm-bench: %s\n", ok ? "done" : "FAILED");
    return ok ? 0 : 1;
}
