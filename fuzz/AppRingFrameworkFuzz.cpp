// Fuzz target: the framework's side of app rings (AppRing, AppRingDelivery) with shared memory as
// hostile applications write it. Up to four applications map one interface's rings, each through
// a real AppRingClient; the input decides what happens next: frames arrive, the framework
// services the rings, an application receives, sends, waits or ends, or writes anything it may
// write (its taken region: ring-1 tails and claims; its own region: ring-2 slots, head, tail,
// wait flags). Nothing may crash, and once every application has ended and the rings are gone,
// every buffer must be back in the pool: nobody kept what is not theirs.
#include "FuzzInput.h"

#include "drivers/null/NullDriver.h"
#include "netif/AppRing.h"
#include "netif/AppRingClient.h"
#include "netif/NetworkInterface.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace nexnet;
using nexnet::fuzz::FuzzInput;

namespace {

constexpr std::uint32_t kPool = 256;
constexpr unsigned kApplications = 4;
constexpr unsigned kOperations = 300;

// The network layer above the rings: frees what reaches it.
class FreeingLayer : public InputConsumer {
public:
    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            if (packets[i] == nullptr) continue;
            packets[i]->free();
            packets[i] = nullptr;
        }
    }
};

int readOnly(int fd) {
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    return ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

// One application: a real client over the descriptors the server would send, and the same
// regions mapped writable for its hostile writes.
struct Application {
    std::uint32_t slot = 0;
    std::unique_ptr<AppRingClient> client;
    int framework = -1;  // the framework's end of its connection
    std::uint32_t* taken = nullptr;
    std::size_t takenWords = 0;
    std::uint32_t* own = nullptr;
    std::size_t ownWords = 0;
    std::vector<app_ring_packet> held;

    ~Application() {
        client.reset();
        if (taken != nullptr) ::munmap(taken, takenWords * 4);
        if (own != nullptr) ::munmap(own, ownWords * 4);
        if (framework >= 0) ::close(framework);
    }
};

std::uint32_t* mapWords(int fd, std::size_t bytes) {
    void* address = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return address == MAP_FAILED ? nullptr : static_cast<std::uint32_t*>(address);
}

std::unique_ptr<Application> attach(AppRing& ring) {
    auto attached = ring.attach(::getpid());
    if (!attached) return nullptr;
    const AppRing::Application& record = attached.value();
    auto app = std::make_unique<Application>();
    app->slot = record.slot;
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) std::abort();
    app->framework = pair[1];
    int fds[APP_RING_REPLY_FDS] = {readOnly(record.postedFd),
                                   ::dup(record.takenFd),
                                   ::dup(record.appFd),
                                   ::dup(ring.pool().dataRegion().fd()),
                                   readOnly(ring.pool().metadataRegion().fd()),
                                   ::dup(ring.kickEventFd()),
                                   ::dup(record.ring1EventFd),
                                   ::dup(record.ring2EventFd)};
    app_ring_reply reply{};
    reply.magic = APP_RING_MAGIC;
    reply.app_slot = record.slot;
    reply.token = record.token;
    auto client = AppRingClient::adopt(pair[0], reply, fds);
    if (!client) std::abort();  // the framework's own regions must always be accepted
    app->client = std::move(client.value());
    const app_ring_header& header = app->client->header();
    std::size_t takenBytes = header.claims_offset + std::size_t{header.slot_count} * sizeof(app_ring_claim);
    std::size_t ownBytes = header.slots_offset + std::size_t{header.slot_count} * sizeof(app_ring_slot);
    app->taken = mapWords(record.takenFd, takenBytes);
    app->own = mapWords(record.appFd, ownBytes);
    if (app->taken == nullptr || app->own == nullptr) std::abort();
    app->takenWords = takenBytes / 4;
    app->ownWords = ownBytes / 4;
    return app;
}

void receive(Application& app, FuzzInput& input) {
    app_ring_packet packets[64];
    unsigned max = 1 + input.below(64);
    unsigned n = 0;
    if (input.choose(2) == 0) {
        n = app.client->receive(packets, max);
    } else {
        app_ring_entry entries[64];
        unsigned got = app.client->receiveEntries(entries, max);
        for (unsigned i = 0; i < got; ++i) {
            packets[n] = app.client->packet(entries[i]);
            if (packets[n].data != nullptr) ++n;
        }
    }
    app.held.insert(app.held.end(), packets, packets + n);
}

void send(Application& app, FuzzInput& input) {
    unsigned count = input.below(static_cast<std::uint32_t>(app.held.size()) + 1);
    if (count == 0) return;
    std::vector<app_ring_packet> burst(app.held.end() - count, app.held.end());
    for (auto& packet : burst) packet.flags = input.choose(4) == 0 ? APP_RING_SLOT_DROP : 0;
    if (app.client->send(burst.data(), count) == count) app.held.resize(app.held.size() - count);
}

// What a hostile application may write: anything in its taken and own regions, chosen to hit
// the words that matter (tails, heads, claims naming live positions and live tokens, slots).
void scribble(Application& app, const AppRing& ring, const std::vector<std::unique_ptr<Application>>& apps,
              FuzzInput& input) {
    const app_ring_header& header = app.client->header();
    std::uint32_t head = app.client->posted()->head;
    std::uint32_t slots = header.slot_count;
    switch (input.choose(6)) {
    case 0:
        app.taken[input.below(static_cast<std::uint32_t>(app.takenWords))] = input.take<std::uint32_t>();
        break;
    case 1:  // a shared or single tail near the live positions
        app.taken[input.choose(2) * 16] = head - input.below(2 * slots) + input.below(4);
        break;
    case 2: {  // a claim deciding a live position, for some application or nobody
        std::uint32_t position = head - input.below(2 * slots);
        std::uint32_t token = input.take<std::uint16_t>();
        if (input.choose(2) == 0 && !apps.empty()) {
            const auto& other = apps[input.below(static_cast<std::uint32_t>(apps.size()))];
            if (other) token = other->client->token();
        }
        std::uint64_t word = AppRingClaim{position, static_cast<std::uint16_t>(token),
                                          static_cast<std::uint16_t>(input.below(slots + 2))}
                                 .toWord();
        auto* claims =
            reinterpret_cast<std::uint64_t*>(reinterpret_cast<std::uint8_t*>(app.taken) + header.claims_offset);
        claims[position & (slots - 1)] = word;
        break;
    }
    case 3:
        app.own[input.below(static_cast<std::uint32_t>(app.ownWords))] = input.take<std::uint32_t>();
        break;
    case 4: {  // ring-2 slots naming buffers it may or may not hold, published by its head
        auto* control = reinterpret_cast<app_ring_app*>(app.own);
        auto* ring2 = reinterpret_cast<app_ring_slot*>(reinterpret_cast<std::uint8_t*>(app.own) + header.slots_offset);
        std::uint32_t tail = control->tail;
        unsigned n = 1 + input.below(8);
        for (unsigned i = 0; i < n; ++i) {
            app_ring_slot& slot = ring2[(control->head + i) & (slots - 1)];
            slot.index = input.below(2 * ring.pool().capacity());
            slot.length = input.below(4096);
            slot.offset = static_cast<std::uint16_t>(input.below(4096));
            slot.flags = static_cast<std::uint16_t>(input.take<std::uint8_t>());
        }
        control->head = input.choose(4) == 0 ? input.take<std::uint32_t>() : control->head + n;
        (void)tail;
        break;
    }
    default:  // a ring-2 head anywhere
        reinterpret_cast<app_ring_app*>(app.own)->head = input.take<std::uint32_t>();
        break;
    }
}

void run(FuzzInput& input) {
    NullDriver::Options driverOptions;
    driverOptions.fill = true;
    auto driver = NullDriver::create(driverOptions, kPool);
    if (!driver) std::abort();
    driver.value()->setName("null0");
    NetworkInterface interface(std::move(driver.value()));
    interface.setUp();
    FreeingLayer layer;
    interface.addInputConsumer(&layer, 100);
    NetbufPool& pool = *interface.driver().pool();
    std::uint32_t available = pool.available();

    AppRing::Options options;
    const app_ring_mode modes[] = {APP_RING_RX_INTERCEPT, APP_RING_TX_INTERCEPT, APP_RING_BYPASS, APP_RING_NON_NETWORK};
    options.mode = modes[input.choose(4)];
    options.slotCount = input.choose(2) == 0 ? 32 : 64;
    options.minPosted = 1 + input.below(16);
    options.privateRings = input.choose(4) == 0;
    {
        auto made = AppRing::create(interface, options);
        if (!made) std::abort();
        AppRing& ring = *made.value();
        std::vector<std::unique_ptr<Application>> apps(kApplications);
        for (unsigned step = 0; step < kOperations && input.more(); ++step) {
            auto& app = apps[input.choose(kApplications)];
            switch (input.choose(10)) {
            case 0:
                if (!app) app = attach(ring);
                break;
            case 1:
                if (app) {
                    std::uint32_t slot = app->slot;
                    app.reset();  // unmaps, as the process would
                    if (ring.detach(slot) != 0) std::abort();
                }
                break;
            case 2:
                interface.poll();
                if (options.mode == APP_RING_TX_INTERCEPT || options.mode == APP_RING_BYPASS) {
                    Netbuf* frame = pool.allocate();
                    std::uint8_t bytes[60] = {};
                    if (frame != nullptr && frame->append(bytes, sizeof bytes) == 0) {
                        interface.outputBurst(&frame, 1);
                    } else if (frame != nullptr) {
                        frame->free();
                    }
                }
                break;
            case 3:
                ring.service();
                break;
            case 4:
                if (app) receive(*app, input);
                break;
            case 5:
                if (app) send(*app, input);
                break;
            case 6:
                if (app) app->client->waitReceive(std::chrono::milliseconds(0));
                break;
            default:
                if (app) scribble(*app, ring, apps, input);
                break;
            }
        }
        for (auto& app : apps) {
            if (!app) continue;
            std::uint32_t slot = app->slot;
            app.reset();
            if (ring.detach(slot) != 0) std::abort();
        }
        if (ring.applicationCount() != 0) std::abort();
    }
    interface.removeInputConsumer(&layer);
    if (pool.available() != available) {
        std::fprintf(stderr, "app rings kept %u buffers after every application ended\n", available - pool.available());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput input(data, size);
    run(input);
    return 0;
}
