/* app_ring.h used from C, compiled as C: an application maps the rings, takes a burst of raw
 * entries, looks at each packet and sends the burst back. Each function returns 0 when everything
 * held, or the line of the first check that failed. */
#include "netif/app_ring.h"

#include <errno.h>
#include <stddef.h>

#define CHECK(condition)                   \
    do {                                   \
        if (!(condition)) return __LINE__; \
    } while (0)

int app_ring_c_open(const char* path, app_ring** ring) {
    *ring = app_ring_open(path, "null0", APP_RING_RX_INTERCEPT, 0);
    CHECK(*ring != NULL);
    return 0;
}

int app_ring_c_open_private(const char* path, app_ring** ring) {
    *ring = app_ring_open_with(path, "null0", APP_RING_RX_INTERCEPT, 0, APP_RING_PRIVATE);
    CHECK(*ring != NULL);
    CHECK(app_ring_control_fd(*ring) >= 0);
    return 0;
}

int app_ring_c_receive_entries_and_send_back(app_ring* ring, unsigned expected) {
    struct app_ring_entry entries[64];
    struct app_ring_packet packets[64];
    struct app_ring_entry outside = {0xffffffffu, APP_RING_PLACE(0, 64)};
    unsigned n = app_ring_receive_entries(ring, entries, 64);
    CHECK(n == expected);
    for (unsigned i = 0; i < n; ++i) {
        CHECK(app_ring_entry_packet(ring, &entries[i], &packets[i]) == 0);
        CHECK(packets[i].index == entries[i].index);
        CHECK(packets[i].length == APP_RING_PLACE_LENGTH(entries[i].place));
        CHECK(packets[i].data == app_ring_buffer(ring, entries[i].index) + packets[i].offset);
    }
    CHECK(app_ring_entry_packet(ring, &outside, &packets[63]) == EINVAL);
    CHECK(app_ring_send(ring, packets, n) == n);
    return 0;
}

void app_ring_c_close(app_ring* ring) { app_ring_close(ring); }
