// Fuzz target: the client library (AppRingClient, app_ring.h) with regions as a hostile or broken
// framework could hand them: any sizes, any header, any cursors, entries, claims and ring-2 tail,
// changed between calls while the application receives, sends, waits and looks at packets.
// Nothing may crash or hang, and every packet the client hands out must lie inside the data
// region it mapped.
#include "FuzzInput.h"

#include "netif/AppRingClient.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <vector>

using namespace nexnet;
using nexnet::fuzz::FuzzInput;

namespace {

constexpr unsigned kOperations = 200;

// One memfd the framework would send, mapped here too so that the "framework" can write it.
struct Region {
    int fd = -1;
    std::uint8_t* bytes = nullptr;
    std::size_t size = 0;

    Region(std::size_t length, FuzzInput& input) : size(length) {
        fd = ::memfd_create("nexnet-fuzz-region", MFD_CLOEXEC);
        if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) std::abort();
        void* address = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (address == MAP_FAILED) std::abort();
        bytes = static_cast<std::uint8_t*>(address);
        std::size_t filled = input.below(static_cast<std::uint32_t>(size) + 1);
        for (std::size_t i = 0; i < filled; ++i) bytes[i] = input.take<std::uint8_t>();
    }
    ~Region() {
        if (bytes != nullptr) ::munmap(bytes, size);
        if (fd >= 0) ::close(fd);
    }
    void write32(FuzzInput& input) {
        std::size_t at = input.below(static_cast<std::uint32_t>(size / 4)) * 4;
        std::uint32_t value = input.take<std::uint32_t>();
        std::memcpy(bytes + at, &value, sizeof value);
    }
};

// A header that mostly fits, so that the interesting paths run; the input may spoil any field.
void plausibleHeader(Region& posted, std::size_t taken, std::size_t own, std::size_t data, FuzzInput& input) {
    if (posted.size < sizeof(app_ring_posted) || input.choose(4) == 0) return;
    app_ring_header header{};
    header.magic = APP_RING_MAGIC;
    header.version = APP_RING_VERSION;
    header.mode = 1 + input.choose(4);
    header.slot_count = 1u << input.choose(8);
    header.buffer_size = 64u << input.choose(4);
    header.buffer_count = static_cast<std::uint32_t>(data / header.buffer_size);
    header.headroom = input.below(128);
    header.entries_offset = 256;
    header.claims_offset = sizeof(app_ring_taken);
    header.slots_offset = 256;
    header.posted_size = static_cast<std::uint32_t>(posted.size);
    header.taken_size = static_cast<std::uint32_t>(taken);
    header.app_size = static_cast<std::uint32_t>(own);
    if (input.choose(3) == 0) reinterpret_cast<std::uint32_t*>(&header)[input.choose(16)] = input.take<std::uint32_t>();
    std::memcpy(posted.bytes, &header, sizeof header);
}

void run(FuzzInput& input) {
    auto size = [&input] { return std::size_t{64} << input.choose(8); };  // 64 B to 8 KiB
    std::size_t postedSize = size(), takenSize = size(), ownSize = size(), dataSize = size(), metadataSize = size();
    Region posted(postedSize, input), taken(takenSize, input), own(ownSize, input), data(dataSize, input),
        metadata(metadataSize, input);
    plausibleHeader(posted, takenSize, ownSize, dataSize, input);
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) std::abort();
    int fds[APP_RING_REPLY_FDS] = {::dup(posted.fd),
                                   ::dup(taken.fd),
                                   ::dup(own.fd),
                                   ::dup(data.fd),
                                   ::dup(metadata.fd),
                                   ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC),
                                   ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC),
                                   ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    app_ring_reply reply{};
    reply.magic = APP_RING_MAGIC;
    reply.token = input.take<std::uint32_t>() % 0x10000 + (input.choose(8) == 0 ? 0x10000 : 0);
    auto adopted = AppRingClient::adopt(pair[0], reply, fds);
    if (!adopted) {
        ::close(pair[1]);
        return;  // refused: fine, as long as it did not crash
    }
    AppRingClient& client = *adopted.value();
    std::uint8_t* first = client.buffer(0);
    std::uint8_t* end = first + std::size_t{client.header().buffer_count} * client.header().buffer_size;
    auto inside = [&](const app_ring_packet& packet) {
        if (packet.data == nullptr) return;
        if (packet.data < first || packet.data + packet.length > end) std::abort();
    };
    std::vector<app_ring_packet> held;
    for (unsigned step = 0; step < kOperations && input.more(); ++step) {
        switch (input.choose(9)) {
        case 0: {
            app_ring_packet packets[64];
            unsigned n = client.receive(packets, 1 + input.below(64));
            if (n > 64) std::abort();
            for (unsigned i = 0; i < n; ++i) inside(packets[i]);
            held.insert(held.end(), packets, packets + n);
            break;
        }
        case 1: {
            app_ring_entry entries[64];
            unsigned n = client.receiveEntries(entries, 1 + input.below(64));
            if (n > 64) std::abort();
            for (unsigned i = 0; i < n; ++i) inside(client.packet(entries[i]));
            break;
        }
        case 2:
            if (!held.empty()) client.send(held.data(), 1 + input.below(static_cast<std::uint32_t>(held.size())));
            break;
        case 3:
            client.waitReceive(std::chrono::milliseconds(0));
            client.waitSend(std::chrono::milliseconds(0), input.below(70000));
            client.receivable();
            break;
        case 4:
            posted.write32(input);  // the framework's own words, as a broken framework writes them
            break;
        case 5:
            taken.write32(input);
            break;
        case 6:
            own.write32(input);
            break;
        case 7: {  // an empty buffer to fill (non-network mode): its start lies in the pool
            app_ring_packet fresh = client.packet(input.take<std::uint32_t>(), input.below(70000));
            if (fresh.data != nullptr && (fresh.data < first || fresh.data >= end)) std::abort();
            break;
        }
        default:
            if (input.choose(8) == 0 && pair[1] >= 0) {  // the framework ends
                ::close(pair[1]);
                pair[1] = -1;
                int waited = client.waitReceive(std::chrono::milliseconds(1000));
                if (waited != EPIPE && waited != 0) std::abort();  // 0: entries were there already
            }
            break;
        }
    }
    if (pair[1] >= 0) ::close(pair[1]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput input(data, size);
    run(input);
    return 0;
}
