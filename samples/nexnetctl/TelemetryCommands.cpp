#include "TelemetryCommands.h"

#include "CaptureFile.h"
#include "InterfaceStatistics.h"
#include "ProcessDirectory.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <thread>

namespace nexnet {

namespace {

volatile sig_atomic_t interrupted = 0;
void onInterrupt(int) { interrupted = 1; }

void catchInterrupts() {
    struct sigaction action {};
    action.sa_handler = onInterrupt;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

int fail(const std::string& message) {
    std::fprintf(stderr, "nexnetctl: %s\n", message.c_str());
    return 1;
}

// Sleeps @p seconds unless interrupted (or 'q' typed on a terminal). @return false when stopped.
bool pause(std::uint64_t seconds, bool keyboard) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!interrupted && std::chrono::steady_clock::now() < end) {
        pollfd input{STDIN_FILENO, POLLIN, 0};
        if (keyboard && ::poll(&input, 1, 100) == 1) {
            char key = 0;
            if (::read(STDIN_FILENO, &key, 1) == 1 && (key == 'q' || key == 'Q')) return false;
        } else if (!keyboard) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    return !interrupted;
}

// The terminal without line buffering or echo while top runs, as it was afterwards.
class RawTerminal {
public:
    RawTerminal() {
        if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
        termios raw = saved_;
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO);
        active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    ~RawTerminal() {
        if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    }
    bool active() const { return active_; }

private:
    termios saved_{};
    bool active_ = false;
};

}  // namespace

std::vector<CommandSpec> TelemetryCommands::specs() {
    using O = CommandSpec::Option;
    return {
        {"list", {}, {}, false, "", "the nexnet processes and their interfaces"},
        {"stats",
         {"IF"},
         {{"--watch"}, O{"--interval", "SECONDS", true, 60, 0}},
         false,
         "IF [--watch] [--interval SECONDS]",
         "counters of IF (NAME or NAME@PID) per queue, as ip -s link, with rates over SECONDS (1; 0: none)"},
        {"top",
         {},
         {O{"--iterations", "N", true, 1000000, 1}},
         false,
         "[--iterations N]",
         "every interface's rates, refreshed each second (q quits)"},
        {"set",
         {"IF", "SETTING"},
         {},
         true,
         "IF up|down|promisc on|off|mtu N|address MAC",
         "changes IF in its process (performCommand)"},
        {"capture",
         {"IF"},
         {O{"-w", "FILE"}, O{"--count", "N", true, UINT32_MAX, 1}, O{"--snaplen", "N", true, 262144, 1}},
         true,
         "IF -w FILE|- [--count N] [--snaplen N] [FILTER...]",
         "IF's frames, both directions, into pcapng FILE (- for stdout), with a BPF FILTER"},
        {"export", {}, {{"--prometheus"}}, false, "--prometheus", "every counter in Prometheus text format"},
    };
}

int TelemetryCommands::run(const CommandLine& line) {
    const std::string& name = line.spec->name;
    if (name == "list") return list(line);
    if (name == "stats") return stats(line);
    if (name == "top") return top(line);
    if (name == "set") return set(line);
    if (name == "capture") return capture(line);
    return exportMetrics(line);
}

int TelemetryCommands::list(const CommandLine&) {
    auto samples = ProcessDirectory::sampleAll();
    if (samples.empty()) return fail("no nexnet process found (sockets in " + ProcessDirectory::searched() + ")");
    InterfaceStatistics::printList(samples);
    return 0;
}

int TelemetryCommands::stats(const CommandLine& line) {
    auto target = ProcessDirectory::find(line.operands[0]);
    if (!target) return fail(target.describe());
    std::uint64_t interval = line.number("--interval", 1);
    bool watch = line.has("--watch");
    if (watch && interval == 0) interval = 1;
    catchInterrupts();
    auto previous = target->client->describe(target->interface);
    if (!previous) return fail(previous.describe());
    if (interval == 0) {
        InterfaceStatistics::printStats(*previous, nullptr, target->interface);
        return 0;
    }
    do {
        if (!pause(interval, false)) break;
        auto current = target->client->describe(target->interface);
        if (!current) return fail(current.describe());
        if (watch) std::printf("\033[H\033[2J");
        InterfaceStatistics::printStats(*current, &previous.value(), target->interface);
        std::fflush(stdout);
        previous = std::move(current);
    } while (watch && !interrupted);
    return 0;
}

int TelemetryCommands::top(const CommandLine& line) {
    std::uint64_t iterations = line.number("--iterations", 0);
    catchInterrupts();
    RawTerminal terminal;
    auto previous = ProcessDirectory::sampleAll();
    for (std::uint64_t turn = 0; iterations == 0 || turn < iterations; ++turn) {
        if (!pause(1, terminal.active())) break;
        auto current = ProcessDirectory::sampleAll();
        std::printf("\033[H\033[2J");
        InterfaceStatistics::printTop(current, previous);
        std::fflush(stdout);
        previous = std::move(current);
    }
    return 0;
}

int TelemetryCommands::set(const CommandLine& line) {
    const std::string& what = line.operands[1];
    std::vector<std::string> values(line.operands.begin() + 2, line.operands.end());
    TelemetrySetting setting;
    std::string error;
    auto one = [&](const char* expected) {
        if (values.size() != 1) error = what + " needs " + expected;
        return values.size() == 1;
    };
    if (what == "up" || what == "down") {
        if (!values.empty()) error = what + " takes no value";
        setting.kind = what == "up" ? TelemetrySetting::Kind::up : TelemetrySetting::Kind::down;
    } else if (what == "promisc" || what == "promiscuous") {
        setting.kind = TelemetrySetting::Kind::promiscuous;
        if (one("on or off")) {
            if (values[0] != "on" && values[0] != "off") error = "promisc wants on or off, not \"" + values[0] + "\"";
            setting.on = values[0] == "on";
        }
    } else if (what == "mtu") {
        setting.kind = TelemetrySetting::Kind::mtu;
        if (one("a number")) {
            const std::string& text = values[0];
            auto [end, bad] = std::from_chars(text.data(), text.data() + text.size(), setting.mtu);
            if (bad != std::errc() || end != text.data() + text.size() || setting.mtu < 68 || setting.mtu > 65535)
                error = "mtu wants a whole number from 68 to 65535, not \"" + text + "\"";
        }
    } else if (what == "address") {
        setting.kind = TelemetrySetting::Kind::address;
        if (one("a MAC address")) {
            auto address = EthernetAddress::parse(values[0]);
            if (!address || address->isMulticast() || address->isZero())
                error = "\"" + values[0] + "\" is not a unicast MAC address (02:00:00:00:00:01)";
            else setting.address = *address;
        }
    } else {
        error = "unknown setting \"" + what + "\" (up, down, promisc on|off, mtu N, address MAC)";
    }
    if (!error.empty()) return fail(error);
    auto target = ProcessDirectory::find(line.operands[0]);
    if (!target) return fail(target.describe());
    Status status = target->client->set(target->interface, setting);
    if (!status) return fail(target->interface + "@" + std::to_string(target->pid) + ": " + status.describe());
    return 0;
}

int TelemetryCommands::capture(const CommandLine& line) {
    if (!line.has("-w")) return fail("capture needs -w FILE (- for standard output)");
    TelemetryRequest request;
    request.command = TelemetryRequest::Command::capture;
    request.count = line.number("--count", 0);
    request.snaplen = static_cast<std::uint32_t>(line.number("--snaplen", 65535));
    for (std::size_t i = 1; i < line.operands.size(); ++i) request.filter += (i > 1 ? " " : "") + line.operands[i];
    auto target = ProcessDirectory::find(line.operands[0]);
    if (!target) return fail(target.describe());
    request.interface = target->interface;
    auto file = CaptureFile::open(line.value("-w"));
    if (!file) return fail(file.describe());
    catchInterrupts();
    if (Status status = target->client->startCapture(request); !status)
        return fail(target->interface + "@" + std::to_string(target->pid) + ": " + status.describe());
    std::fprintf(stderr, "nexnetctl: capturing %s@%d%s%s\n", target->interface.c_str(), target->pid,
                 request.filter.empty() ? "" : ", filter: ", request.filter.c_str());
    bool stopping = false;
    char buffer[65536];
    for (;;) {
        if (interrupted && !stopping) {
            // Half-close: the process ends the capture and sends its statistics block, then closes.
            ::shutdown(target->client->fd(), SHUT_WR);
            stopping = true;
        }
        auto got = target->client->readStream(buffer, sizeof buffer, std::chrono::milliseconds(200));
        if (!got && got.error() == ETIMEDOUT) continue;
        if (!got) return fail("capture stream: " + got.describe());
        if (got.value() == 0) break;
        if (int error = file->append(buffer, got.value()); error != 0)
            return fail(line.value("-w") + ": " +
                        (error == EBADMSG ? "the process sent something that is not pcapng" : std::strerror(error)));
    }
    std::fprintf(stderr, "nexnetctl: %llu frames captured%s%s\n", static_cast<unsigned long long>(file->frames()),
                 file->drops() != 0 ? (", " + std::to_string(file->drops()) + " lost to a full queue").c_str() : "",
                 file->complete() ? "" : " (the stream ended early)");
    return file->complete() ? 0 : 1;
}

int TelemetryCommands::exportMetrics(const CommandLine& line) {
    if (!line.has("--prometheus")) return fail("export needs a format: --prometheus");
    InterfaceStatistics::printPrometheus(ProcessDirectory::sampleAll());
    return 0;
}

}  // namespace nexnet
