// The C API of app_ring.h over AppRingClient.
#include "netif/app_ring.h"

#include "netif/AppRingClient.h"

#include <cerrno>
#include <new>

struct app_ring {
    std::unique_ptr<nexnet::AppRingClient> client;
};

extern "C" {

app_ring* app_ring_open(const char* path, const char* interface, enum app_ring_mode mode, uint32_t min_posted) {
    return app_ring_open_with(path, interface, mode, min_posted, 0);
}

app_ring* app_ring_open_with(const char* path, const char* interface, enum app_ring_mode mode, uint32_t min_posted,
                             uint32_t flags) {
    if (path == nullptr || interface == nullptr || (flags & ~uint32_t{APP_RING_PRIVATE}) != 0) {
        errno = EINVAL;
        return nullptr;
    }
    nexnet::AppRingClient::Options options;
    options.mode = mode;
    options.minPosted = min_posted;
    options.privateRings = (flags & APP_RING_PRIVATE) != 0;
    auto client = nexnet::AppRingClient::connect(path, interface, options);
    if (!client) {
        errno = client.error();
        return nullptr;
    }
    auto* ring = new (std::nothrow) app_ring{std::move(client.value())};
    if (ring == nullptr) errno = ENOMEM;
    return ring;
}

void app_ring_close(app_ring* ring) { delete ring; }

unsigned app_ring_receive(app_ring* ring, struct app_ring_packet* packets, unsigned max) {
    return ring->client->receive(packets, max);
}

unsigned app_ring_receive_entries(app_ring* ring, struct app_ring_entry* entries, unsigned max) {
    return ring->client->receiveEntries(entries, max);
}

int app_ring_entry_packet(const app_ring* ring, const struct app_ring_entry* entry, struct app_ring_packet* packet) {
    *packet = ring->client->packet(*entry);
    return packet->data != nullptr ? 0 : EINVAL;
}

unsigned app_ring_send(app_ring* ring, const struct app_ring_packet* packets, unsigned count) {
    return ring->client->send(packets, count);
}

int app_ring_wait_receive(app_ring* ring, int timeout_ms) {
    return ring->client->waitReceive(std::chrono::milliseconds(timeout_ms < 0 ? 24L * 3600 * 1000 : timeout_ms));
}

int app_ring_wait_send(app_ring* ring, int timeout_ms) {
    return ring->client->waitSend(std::chrono::milliseconds(timeout_ms < 0 ? 24L * 3600 * 1000 : timeout_ms));
}

int app_ring_receive_fd(const app_ring* ring) { return ring->client->receiveEventFd(); }

int app_ring_control_fd(const app_ring* ring) { return ring->client->controlFd(); }

void app_ring_arm_receive(app_ring* ring) { ring->client->armReceive(); }

uint8_t* app_ring_buffer(const app_ring* ring, uint32_t index) { return ring->client->buffer(index); }

uint32_t app_ring_buffer_size(const app_ring* ring) { return ring->client->header().buffer_size; }

}  // extern "C"
