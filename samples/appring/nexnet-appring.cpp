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

using namespace nexnet;

namespace {

volatile std::sig_atomic_t stopRequested = 0;
bool frameworkEnded = false;
void onSignal(int) { stopRequested = 1; }

struct Settings {
    std::string socket, interface, mode, action;
    in_addr ip{};
    std::uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    unsigned hold = 64;
    double seconds = 1e9;
};

struct Counters {
    std::uint64_t received = 0, sent = 0, requests = 0, replies = 0, returned = 0;
};

app_ring_mode parseMode(const std::string& mode) {
    if (mode == "rx") return APP_RING_RX_INTERCEPT;
    if (mode == "tx") return APP_RING_TX_INTERCEPT;
    if (mode == "bypass") return APP_RING_BYPASS;
    if (mode == "non-network") return APP_RING_NON_NETWORK;
    return APP_RING_JOIN;
}

bool parse(int argc, char** argv, Settings& settings) {
    if (argc < 5) return false;
    settings.socket = argv[1];
    settings.interface = argv[2];
    settings.mode = argv[3];
    settings.action = argv[4];
    for (int i = 5; i + 1 < argc; i += 2) {
        std::string option = argv[i];
        if (option == "--ip" && inet_pton(AF_INET, argv[i + 1], &settings.ip) != 1) return false;
        if (option == "--mac" &&
            std::sscanf(argv[i + 1], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &settings.mac[0], &settings.mac[1],
                        &settings.mac[2], &settings.mac[3], &settings.mac[4], &settings.mac[5]) != 6)
            return false;
        if (option == "--hold") settings.hold = static_cast<unsigned>(std::atoi(argv[i + 1]));
        if (option == "--seconds") settings.seconds = std::atof(argv[i + 1]);
    }
    return true;
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
    if (!parse(argc, argv, settings)) {
        std::fprintf(stderr,
                     "usage: nexnet-appring SOCKET INTERFACE rx|tx|bypass|non-network|join "
                     "reinject|respond|watch|hold|garbage [--ip A.B.C.D] [--mac MAC] [--hold N] [--seconds S]\n");
        return 2;
    }
    std::signal(SIGTERM, onSignal);
    std::signal(SIGINT, onSignal);
    AppRingClient::Options options;
    options.mode = parseMode(settings.mode);
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
