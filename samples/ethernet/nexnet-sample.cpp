// nexnet-sample: a tiny host on any nexnet driver. The protocol layer (inet/InetStack) answers
// ARP requests for its IPv4 address and ICMP echo (ping), and port unreachable for closed UDP
// ports; the sample adds a UDP echo service (EchoService) on one port. It prints what it saw
// every second and when it stops.
//
//   nexnet-sample [URI | --driver URI] [--ip A.B.C.D/N] [--mac MAC] [--udp-port N] [--count N]
//                 [--duration SECONDS] [--poll] [--quiet] [--beside-kernel IFNAME] [--user NAME]
//
// URI defaults to tap:nxsample0; packet:IFNAME opens the tutorial driver, SampleEthernet.
// scripts/demo.sh runs it with the kernel's end of the tap in a network namespace.
#include "drivers/BuiltinDrivers.h"
#include "framework/EventLoop.h"
#include "inet/InetStack.h"
#include "netif/NetworkInterface.h"
#include "netif/Telemetry.h"
#include "netif/netif.h"
#include "samples/common/ArgumentParser.h"
#include "samples/common/ArgumentValues.h"
#include "samples/common/LinkWatch.h"
#include "samples/common/RunAsUser.h"
#include "samples/ethernet/SampleEthernet.h"
#include "samples/responder/EchoService.h"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

using namespace nexnet;

namespace {

struct Settings {
    std::string uri = "tap:nxsample0";
    in_addr ip{htonl(0x0a4d0002)};  // 10.77.0.2
    unsigned prefix = 24;
    std::optional<EthernetAddress> mac;  // none: keep the driver's
    std::uint16_t udpPort = EchoService::kEchoPort;
    std::uint64_t count = 0;  // stop after this many replies (0: never)
    double duration = 0;      // stop after this many seconds (0: never)
    bool poll = false;
    bool quiet = false;
    std::vector<std::string> plugins;  // -d: driver plug-ins to load
    std::string besideKernel;          // the kernel interface that owns the address, if any
    std::optional<RunAsUser> user;     // --user: who to continue as once the driver is open
};

volatile std::sig_atomic_t stopSignal = 0;
void onSignal(int signal) { stopSignal = signal; }

const char kUsage[] =
    "usage: nexnet-sample [URI | --driver URI] [--ip A.B.C.D/N] [--mac MAC] [--udp-port N] [--count N]\n"
    "                     [--duration SECONDS] [--poll] [--quiet] [--beside-kernel IFNAME] [--user NAME]\n"
    "                     [-d PLUGIN.so]...\n"
    "Answers ARP, ICMP echo and UDP echo on the driver URI (default tap:nxsample0; packet:IFNAME\n"
    "is the sample driver on an existing interface). Default address 10.77.0.2/24, UDP port 7.\n"
    "--count stops after N replies, --duration after SECONDS; SIGINT and SIGTERM stop it too.\n"
    "--user continues as that account once the driver is open (started as root).\n"
    "-d loads a driver plug-in (also NEXNET_DRIVER_PATH=FILE.so:DIR).\n"
    "--beside-kernel: the kernel's interface IFNAME owns the address and answers ARP and ping (e.g.\n"
    "xdp:IFNAME,filter=udp:7); the sample answers UDP only, with the kernel's neighbour table.\n"
    "A fault of the driver (a deleted tap) is reported as it happens; the sample keeps running and\n"
    "exits with status 1 if the fault is still there when it stops.\n";

// The command line, strictly: every refusal names the argument (samples/common/ArgumentParser.h).
Result<ArgumentParser::Outcome> parseArguments(int argc, char** argv, Settings& settings) {
    ArgumentParser parser;
    parser.flag({"--poll"}, [&] { settings.poll = true; })
        .flag({"--quiet"}, [&] { settings.quiet = true; })
        .option({"--driver"}, "URI", storeText(settings.uri))
        .option({"-d", "--plugin"}, "PLUGIN.so",
                [&](std::string_view file) {
                    settings.plugins.emplace_back(file);
                    return Status();
                })
        .option({"--beside-kernel"}, "IFNAME", storeText(settings.besideKernel))
        .option({"--ip"}, "A.B.C.D/N",
                [&](std::string_view text) {
                    auto host = parseHostAddress(text);
                    if (!host) return Status::from(host);
                    settings.ip = host->address;
                    settings.prefix = host->prefix;
                    return Status();
                })
        .option({"--mac"}, "MAC", storeInto(settings.mac, parseStationAddress))
        .option({"--udp-port"}, "PORT", storeInto(settings.udpPort, [](auto v) { return parseCount(v, 1, 65535); }))
        .option({"--count"}, "N", storeInto(settings.count, [](auto v) { return parseCount(v, 0, UINT64_MAX); }))
        .option({"--duration"}, "SECONDS", storeInto(settings.duration, [](auto v) { return parseSeconds(v); }))
        .option({"--user"}, "NAME", storeInto(settings.user, RunAsUser::find))
        .operands("URI", 0, 1, storeText(settings.uri));
    return parser.parse(argc, argv);
}

// The NeXT way: everything through performCommand, with the IFCONTROL_* strings of netif.h.
int configure(NetworkInterface& interface, const Settings& settings, EthernetAddress& mac) {
    if (settings.mac) {
        EthernetAddress wanted = *settings.mac;
        if (int error = interface.performCommand(IFCONTROL_SETADDR, wanted.bytes.data())) return error;
    }
    if (int error = interface.performCommand(IFCONTROL_GETADDR, mac.bytes.data())) return error;
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    return interface.performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru);
}

// Replies sent: ARP and ping answers, port unreachable, UDP echoes (what --count counts).
std::uint64_t replies(const InetStack& stack, const EchoService& echo) {
    const InetStatistics& s = stack.statistics();
    return s.arpAnswered + s.echoAnswered + s.unreachableSent + echo.statistics().echoed;
}

void printStatistics(const char* label, NetworkInterface& interface, const InetStack& stack, const EchoService& echo) {
    const InterfaceStatistics& rx = interface.receiveStatistics();
    const InterfaceStatistics& tx = interface.transmitStatistics();
    std::printf(
        "nexnet-sample: %s %s replies=%llu udp=%llu echo-refused=%llu if-rx=%llu if-rx-errors=%llu "
        "if-rx-drops=%llu if-tx=%llu if-tx-errors=%llu if-tx-drops=%llu\n",
        label, stack.statistics().format().c_str(), static_cast<unsigned long long>(replies(stack, echo)),
        static_cast<unsigned long long>(echo.statistics().echoed),
        static_cast<unsigned long long>(echo.statistics().refused), static_cast<unsigned long long>(rx.packets),
        static_cast<unsigned long long>(rx.errors), static_cast<unsigned long long>(rx.drops),
        static_cast<unsigned long long>(tx.packets), static_cast<unsigned long long>(tx.errors),
        static_cast<unsigned long long>(tx.drops));
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines appear as they happen, even into a pipe
    Settings settings;
    auto parsed = parseArguments(argc, argv, settings);
    if (!parsed || parsed.value() == ArgumentParser::Outcome::help) {
        if (!parsed) std::fprintf(stderr, "nexnet-sample: %s\n", parsed.message().c_str());
        std::fputs(kUsage, parsed ? stdout : stderr);
        return parsed ? 0 : 2;
    }

    // The library knows nothing of the sample driver: register it next to the built-in ones.
    SampleEthernet::registerWith(builtinDrivers());
    if (auto plugins = loadDriverPlugins(settings.plugins); !plugins) {
        std::fprintf(stderr, "nexnet-sample: %s\n", plugins.describe().c_str());
        return 1;
    }
    auto driver = builtinDrivers().open(settings.uri);
    if (!driver) {
        std::fprintf(stderr, "nexnet-sample: cannot open %s\n", driver.describe().c_str());
        if (driver.error() == EPROTONOSUPPORT) {
            for (const auto* entry : builtinDrivers().drivers())
                std::fprintf(stderr, "  %-40s %s\n", entry->usage.c_str(), entry->description.c_str());
        }
        return 1;
    }
    if (!driver.value()->modeDescription().empty())
        std::fprintf(stderr, "nexnet-sample: %s: %s\n", settings.uri.c_str(),
                     driver.value()->modeDescription().c_str());
    NetworkInterface interface(std::move(driver.value()));
    EthernetAddress mac;
    if (int error = configure(interface, settings, mac)) {
        std::fprintf(stderr, "nexnet-sample: cannot configure %s: %s\n", settings.uri.c_str(), std::strerror(error));
        return 1;
    }
    InetStack::Options inet;
    inet.kernelInterface = settings.besideKernel;
    auto stack = InetStack::create(interface, inet);
    if (!stack) {
        std::fprintf(stderr, "nexnet-sample: protocol layer: %s\n", std::strerror(stack.error()));
        return 1;
    }
    in_addr mask{htonl(settings.prefix == 0 ? 0 : ~0u << (32 - settings.prefix))};
    if (int error = stack.value()->setAddress(settings.ip, mask)) {  // announced with a gratuitous ARP
        std::fprintf(stderr, "nexnet-sample: address: %s\n", std::strerror(error));
        return 1;
    }
    auto echo = EchoService::open(*stack.value(), settings.udpPort);
    if (!echo) {
        std::fprintf(stderr, "nexnet-sample: UDP port %u: %s\n", settings.udpPort, std::strerror(echo.error()));
        return 1;
    }

    auto loop = EventLoop::create();
    if (!loop) {
        std::fprintf(stderr, "nexnet-sample: event loop: %s\n", std::strerror(loop.error()));
        return 1;
    }
    if (int error = stack.value()->attach(*loop.value());
        error != 0 || (error = echo.value()->attach(*loop.value())) != 0) {
        std::fprintf(stderr, "nexnet-sample: event loop: %s\n", std::strerror(error));
        return 1;
    }
    auto wanted = settings.poll ? NetworkInterface::Mode::poll : NetworkInterface::Mode::interrupt;
    auto mode = interface.attach(*loop.value(), wanted);
    if (!mode) {
        std::fprintf(stderr, "nexnet-sample: attach: %s\n", std::strerror(mode.error()));
        return 1;
    }
    // nexnetctl list / stats / set / capture see this process through its telemetry socket, made
    // before --user drops the rights its directory needs.
    auto telemetry = Telemetry::open(*loop.value());
    if (telemetry) telemetry.value()->addInterface(interface, {settings.uri, nullptr, nullptr});
    else std::fprintf(stderr, "nexnet-sample: no telemetry: %s\n", telemetry.describe().c_str());
    if (settings.user) {  // everything privileged is open: continue as the account
        if (Status dropped = settings.user->become(); !dropped) {
            std::fprintf(stderr, "nexnet-sample: %s\n", dropped.describe().c_str());
            return 1;
        }
        std::printf("nexnet-sample: continuing as %s (uid %u, gid %u)\n", settings.user->name().c_str(),
                    static_cast<unsigned>(settings.user->uid()), static_cast<unsigned>(settings.user->gid()));
    }
    char ip[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &settings.ip, ip, sizeof ip);
    bool polling = mode.value() == NetworkInterface::Mode::poll;
    std::printf("nexnet-sample: %s (%s) %s %s/%u, %s mode%s, UDP echo on port %u\n", settings.uri.c_str(),
                interface.name().c_str(), mac.toString().c_str(), ip, settings.prefix, polling ? "poll" : "interrupt",
                polling && !settings.poll ? " (the driver has no interrupts)" : "", settings.udpPort);
    if (const std::string& how = interface.driver().modeDescription(); !how.empty())
        std::printf("nexnet-sample: %s\n", how.c_str());  // which mode runs: never a hidden slower one

    struct sigaction action {};
    action.sa_handler = onSignal;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);

    using Clock = std::chrono::steady_clock;
    auto start = Clock::now();
    auto nextReport = start + std::chrono::seconds(1);
    // Interrupt mode sleeps in epoll up to 100 ms (then checks the signal flag and the clock);
    // poll mode never sleeps.
    auto wait = polling ? std::chrono::milliseconds(0) : std::chrono::milliseconds(100);
    LinkWatch watch(interface.driver(), settings.uri);  // a deleted tap, a failing file: said, not hidden
    while (stopSignal == 0) {
        loop.value()->runOnce(wait);
        auto now = Clock::now();
        if (settings.count != 0 && replies(*stack.value(), *echo.value()) >= settings.count) break;
        if (settings.duration > 0 && std::chrono::duration<double>(now - start).count() >= settings.duration) break;
        if (now >= nextReport) {
            if (auto line = watch.change()) std::printf("nexnet-sample: %s\n", line->c_str());
            if (watch.deviceGone()) break;  // hot-unplugged: said above, and nothing will come back
            if (!settings.quiet) printStatistics("stats", interface, *stack.value(), *echo.value());
            nextReport = now + std::chrono::seconds(1);
        }
    }
    if (telemetry) telemetry.value().reset();  // before the interface it shows
    interface.detach();
    printStatistics("final", interface, *stack.value(), *echo.value());
    if (auto line = watch.finalMessage()) std::printf("nexnet-sample: %s\n", line->c_str());
    echo.value().reset();  // the endpoint before the stack, the stack before the interface
    stack.value().reset();
    return watch.exitStatus();
}
