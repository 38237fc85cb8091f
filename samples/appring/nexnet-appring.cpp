// nexnet-appring: an application on an interface's app rings, in its own process.
//
//   nexnet-appring SOCKET INTERFACE MODE ACTION [--ip A.B.C.D] [--mac MAC] [--hold N] [--seconds S]
//
// MODE: rx | tx | bypass | non-network | join.   ACTION:
//   reinject  counts ICMP echo requests in ring 1 and re-inserts everything into ring 2
//   respond   answers ARP and ICMP echo for --ip/--mac itself, gives everything else back
//   watch     counts ICMP echo replies (tx intercept: the network layer's output), sends all
//   hold      removes --hold N buffers and keeps them until killed
//   garbage   scribbles random values over every region it may write (ring-1 cursors and claims,
//             its own ring 2) for --seconds, and sends buffers it never received
// It prints "ready" once mapped and "name value" counters when it ends (SIGTERM, SIGINT, --seconds).
// When the framework ends it says so and exits with status 3.
#include "RawResponder.h"
#include "netif/AppRingClient.h"
#include "samples/common/ArgumentParser.h"
#include "samples/common/ArgumentValues.h"

#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <utility>

using namespace nexnet;

namespace {

volatile std::sig_atomic_t stopRequested = 0;
bool frameworkEnded = false;
void onSignal(int) { stopRequested = 1; }

struct Settings {
    std::string socket, interface, action;
    app_ring_mode mode = APP_RING_JOIN;
    in_addr ip{};
    std::uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    unsigned hold = 64;
    double seconds = 1e9;
};

struct Counters {
    std::uint64_t received = 0, sent = 0, requests = 0, replies = 0, returned = 0;
};

// The modes and actions by name; anything else is refused (issue 17: an unknown mode used to
// become join).
constexpr std::pair<std::string_view, app_ring_mode> kModes[] = {{"rx", APP_RING_RX_INTERCEPT},
                                                                 {"tx", APP_RING_TX_INTERCEPT},
                                                                 {"bypass", APP_RING_BYPASS},
                                                                 {"non-network", APP_RING_NON_NETWORK},
                                                                 {"join", APP_RING_JOIN}};
constexpr std::string_view kActions[] = {"reinject", "respond", "watch", "hold", "garbage"};

const char kUsage[] =
    "usage: nexnet-appring SOCKET INTERFACE rx|tx|bypass|non-network|join reinject|respond|watch|hold|garbage\n"
    "                      [--ip A.B.C.D] [--mac MAC] [--hold N] [--seconds S]\n";

// The command line, strictly (samples/common/ArgumentParser.h): four operands, each option's
// value checked, every refusal naming the argument.
Result<ArgumentParser::Outcome> parse(int argc, char** argv, Settings& settings) {
    unsigned operand = 0;
    ArgumentParser parser;
    parser
        .option({"--ip"}, "A.B.C.D",
                [&](std::string_view text) {
                    auto host = parseHostAddress(text);
                    if (!host) return Status::from(host);
                    settings.ip = host->address;
                    return Status();
                })
        .option({"--mac"}, "MAC",
                [&](std::string_view text) {
                    auto mac = parseStationAddress(text);
                    if (!mac) return Status::from(mac);
                    std::copy(mac->bytes.begin(), mac->bytes.end(), settings.mac);
                    return Status();
                })
        .option({"--hold"}, "N", storeInto(settings.hold, [](auto v) { return parseCount(v, 1, UINT32_MAX); }))
        .option({"--seconds"}, "S", storeInto(settings.seconds, [](auto v) { return parseSeconds(v); }))
        .operands("SOCKET INTERFACE MODE ACTION", 4, 4, [&](std::string_view word) -> Status {
            switch (operand++) {
            case 0:
                settings.socket = word;
                return {};
            case 1:
                settings.interface = word;
                return {};
            case 2:
                for (const auto& [name, mode] : kModes)
                    if (word == name) {
                        settings.mode = mode;
                        return {};
                    }
                return Status(EINVAL,
                              "unknown mode " + quotedArgument(word) + " (rx, tx, bypass, non-network or join)");
            default:
                for (std::string_view action : kActions)
                    if (word == action) {
                        settings.action = word;
                        return {};
                    }
                return Status(
                    EINVAL, "unknown action " + quotedArgument(word) + " (reinject, respond, watch, hold or garbage)");
            }
        });
    return parser.parse(argc, argv);
}

// Waits, and notices when the framework has ended (EPIPE).
void waitFor(int result) {
    if (result != EPIPE) return;
    frameworkEnded = true;
    stopRequested = 1;
}

void sendAll(AppRingClient& ring, app_ring_packet* packets, unsigned count, Counters& counters) {
    while (count > 0 && ring.send(packets, count) == 0) {
        if (stopRequested) return;
        waitFor(ring.waitSend(std::chrono::milliseconds(100), count));
    }
    counters.sent += count;
}

void scribble(AppRingClient& ring, double seconds) {
    std::mt19937 random(static_cast<unsigned>(getpid()));
    const app_ring_header& header = ring.header();
    auto* taken = reinterpret_cast<std::uint32_t*>(ring.taken());
    std::size_t takenWords = (header.claims_offset + header.slot_count * sizeof(app_ring_claim)) / 4;
    auto* own = reinterpret_cast<std::uint32_t*>(ring.application());
    std::size_t ownWords = (header.slots_offset + header.slot_count * sizeof(app_ring_slot)) / 4;
    auto* claims =
        reinterpret_cast<std::uint64_t*>(reinterpret_cast<std::uint8_t*>(ring.taken()) + header.claims_offset);
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!stopRequested && std::chrono::steady_clock::now() < end) {
        std::uint32_t head = std::atomic_ref<const std::uint32_t>(ring.posted()->head).load(std::memory_order_relaxed);
        for (int i = 0; i < 4096; ++i) {
            std::uint32_t value = random();
            switch (random() % 4) {
            case 0:
                value = head - random() % (2 * header.slot_count);
                break;  // positions near the live ones
            case 1:
                value %= 2 * header.buffer_count;
                break;  // indices near the pool's end
            default:
                break;
            }
            if (random() % 4 == 0) {
                std::atomic_ref<std::uint32_t>(own[random() % ownWords]).store(value, std::memory_order_relaxed);
            } else {
                std::atomic_ref<std::uint32_t>(taken[random() % takenWords]).store(value, std::memory_order_relaxed);
            }
        }
        for (int i = 0; i < 64; ++i) {  // claims that decide live positions, for itself or anyone
            std::uint32_t position = head - random() % header.slot_count;
            std::uint64_t word = position | std::uint64_t{random() % 2 == 0 ? ring.token() : random()} << 32;
            std::atomic_ref<std::uint64_t>(claims[position & (header.slot_count - 1)])
                .store(word, std::memory_order_relaxed);
        }
        app_ring_packet forged = ring.packet(random() % ring.header().buffer_count, random() % 4096);
        ring.send(&forged, 1);  // a buffer it never received: must be refused
        usleep(100);
    }
}

}  // namespace

int main(int argc, char** argv) {
    Settings settings;
    auto parsed = parse(argc, argv, settings);
    if (!parsed || parsed.value() == ArgumentParser::Outcome::help) {
        if (!parsed) std::fprintf(stderr, "nexnet-appring: %s\n", parsed.message().c_str());
        std::fputs(kUsage, parsed ? stdout : stderr);
        return parsed ? 0 : 2;
    }
    std::signal(SIGTERM, onSignal);
    std::signal(SIGINT, onSignal);
    AppRingClient::Options options;
    options.mode = settings.mode;
    auto connected = AppRingClient::connect(settings.socket, settings.interface, options);
    if (!connected) {
        std::fprintf(stderr, "nexnet-appring: cannot map %s's rings: %s\n", settings.interface.c_str(),
                     std::strerror(connected.error()));
        return 1;
    }
    AppRingClient& ring = *connected.value();
    std::printf("ready\n");
    std::fflush(stdout);
    Counters counters;
    RawResponder responder(settings.ip, settings.mac);
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(settings.seconds);
    if (settings.action == "garbage") scribble(ring, settings.seconds);
    app_ring_packet packets[32];
    while (!stopRequested && settings.action != "garbage" && std::chrono::steady_clock::now() < end) {
        if (settings.action == "hold" && counters.received >= settings.hold) {
            pollfd control{ring.controlFd(), POLLIN, 0};  // holds, while watching the framework
            if (poll(&control, 1, 10) > 0) waitFor(EPIPE);
            continue;
        }
        unsigned max = settings.action == "hold"
            ? static_cast<unsigned>(std::min<std::uint64_t>(32, settings.hold - counters.received))
            : 32;
        unsigned n = ring.receive(packets, max);
        if (n == 0) {
            waitFor(ring.waitReceive(std::chrono::milliseconds(50)));
            continue;
        }
        counters.received += n;
        if (settings.action == "hold") {
            if (counters.received >= settings.hold)
                std::printf("held %llu\n", static_cast<unsigned long long>(counters.received));
            std::fflush(stdout);
            continue;
        }
        for (unsigned i = 0; i < n; ++i) {
            app_ring_packet& packet = packets[i];
            if (RawResponder::isEchoRequest(packet.data, packet.length)) counters.requests++;
            if (RawResponder::isEchoReply(packet.data, packet.length)) counters.replies++;
            if (settings.action == "respond" && !responder.answer(packet.data, packet.length)) {
                packet.flags = APP_RING_SLOT_DROP;  // claim 19: the network layer must not see it
                counters.returned++;
            } else {
                packet.flags = 0;
            }
        }
        sendAll(ring, packets, n, counters);
    }
    std::printf("received %llu\nsent %llu\nrequests %llu\nreplies %llu\nreturned %llu\ninvalid %llu\n",
                static_cast<unsigned long long>(counters.received), static_cast<unsigned long long>(counters.sent),
                static_cast<unsigned long long>(counters.requests), static_cast<unsigned long long>(counters.replies),
                static_cast<unsigned long long>(counters.returned), static_cast<unsigned long long>(ring.invalid()));
    if (frameworkEnded) {
        std::fprintf(stderr, "nexnet-appring: the framework ended: %s's rings are gone\n", settings.interface.c_str());
        return 3;
    }
    return 0;
}
