#ifndef NEXNET_APP_RING_H
#define NEXNET_APP_RING_H
/// @file app_ring.h
/// @brief Application rings (app-rings seed): the shared-memory layout, the socket protocol, and
/// the C API an application uses to map an interface's rings.
///
/// An interface's rings live in one memfd (the ring region) that the framework shares with every
/// application that maps them, together with the netbuf pool's packet buffers (read-write) and its
/// Netbuf metadata (read-only). Everything is named by index; nothing in shared memory is a
/// pointer. The framework trusts nothing an application can write: it keeps its own copy of every
/// cursor and validates every index, length, offset and owner token it reads back.
///
/// @verbatim
///  ring region (memfd, read-write for applications)
///  offset 0      +--------------------------------------------------+
///                | app_ring_header (64 B)  magic, mode, slot_count, |  written once by the
///                |   buffer_count, buffer_size, headroom, offsets   |  framework, never read back
///  64            +--------------------------------------------------+
///                | ring 1 control: head (framework)          | 64 B |  ring 1: network layer
///                |   tail (apps), consumers, shared_ready    | 64 B |  inserts, applications remove
///  192           +--------------------------------------------------+
///                | ring 2 control: head (apps, CAS)          | 64 B |  ring 2: applications insert,
///                |                 tail (framework)          | 64 B |  network layer removes
///  320           +--------------------------------------------------+
///                | app table: APP_RING_MAX_APPS x 64 B              |  per-application wait flags
///                |   { wait_ring1, wait_ring2, pid,                 |  and consumer-mode answer
///                |     consumers_seen, switch_tail }                |
///  ring1_offset  +--------------------------------------------------+
///                | ring 1 entries [slot_count] x 8 B                |
///  ring2_offset  +--------------------------------------------------+
///                | ring 2 slots [slot_count] x 16 B                 |
///                +--------------------------------------------------+
///
///  ring-1 entry (8 B):  | index u32 | place u32 = offset (bits 0-14) | length << 15 |
///  ring-2 slot (16 B):  | index u32 | length u32 | offset u16 | flags u16 | owner u32 |
///
///  data region (pool memfd, read-write):  | buffer 0 | buffer 1 | ... |  buffer_size bytes each;
///     the packet of an entry is at  data + index * buffer_size + offset,  length bytes.
///  metadata region (pool memfd, read-only): | Netbuf 0 | Netbuf 1 | ... | 64 B each.
///
///  Cursors are free-running 32-bit counters; slot of cursor c is c & (slot_count - 1).
///  ring 1:  [tail, head)  posted, not yet removed. Who removes depends on consumers:
///           APP_RING_CONSUMERS_SINGLE (one application mapped): it reads the entries and stores
///             tail + n. Everything before tail is that application's: nothing else is written.
///           APP_RING_CONSUMERS_SHARED (several): an application reads n entries, CAS(tail, t,
///             t + n), then overwrites each entry with a claim { its token, APP_RING_CLAIMED }
///             (how the framework learns who holds each buffer, claims 9-10). It may remove only
///             once shared_ready is set, unless it was the single consumer before.
///           From single to shared (a second application maps the rings): the framework sets
///             consumers to SHARED and wakes the single consumer, which answers at its next call
///             by storing its tail into switch_tail and then SHARED into consumers_seen; the
///             framework then records everything before switch_tail as that application's and
///             sets shared_ready. The rings stay shared until they are destroyed.
///  ring 2:  an application reserves n slots with CAS(head, h, h + n) when h + n - tail <=
///           slot_count, fills them, and publishes each by storing its token into owner last
///           (release). The framework removes slot by slot while owner != 0, clears owner and
///           advances tail.
/// @endverbatim
///
/// Waits (claims 13-14): each application has two eventfds of its own. Before sleeping it sets
/// wait_ring1 (or wait_ring2) in its app-table entry and checks the ring again; the framework,
/// after inserting into ring 1 (or removing from ring 2), clears set flags and signals the
/// eventfds. Applications signal the framework through the shared kick eventfd after inserting
/// into ring 2.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// "NXRN": first word of the ring region and of every socket message.
#define APP_RING_MAGIC 0x4e58524eu
/// Layout and protocol version.
#define APP_RING_VERSION 2u
/// Most applications mapping one interface's rings at once.
#define APP_RING_MAX_APPS 16u
/// Place of a ring-1 entry an application claimed (shared consumers): its index field then holds
/// the application's token. Never a real place: the framework posts offsets below 0x7fff.
#define APP_RING_CLAIMED 0xffffffffu
/// A ring-1 entry's place: where the packet starts in its buffer (below 32 KiB) and its length
/// (below 128 KiB; 0 for an empty buffer).
#define APP_RING_PLACE(offset, length) ((uint32_t)(offset) | (uint32_t)(length) << 15)
/// The offset of a ring-1 place.
#define APP_RING_PLACE_OFFSET(place) ((uint32_t)(place) & 0x7fffu)
/// The length of a ring-1 place.
#define APP_RING_PLACE_LENGTH(place) ((uint32_t)(place) >> 15)
/// consumers value: one application removes from ring 1 with plain stores.
#define APP_RING_CONSUMERS_SINGLE 0u
/// consumers value: several applications remove from ring 1 with CAS and claim entries.
#define APP_RING_CONSUMERS_SHARED 1u
/// Owner value the framework writes into a ring-2 slot it skipped (a dead application's
/// unfinished insertion). Never a token.
#define APP_RING_OWNER_SKIP 0xffffffffu

/// What the rings carry (app-rings seed claims 1, 17, 19, 6).
enum app_ring_mode {
    APP_RING_JOIN = 0,           ///< Request only: map the interface's rings in whatever mode they exist.
    APP_RING_RX_INTERCEPT = 1,   ///< Ring 1: received frames before the network layer; ring 2: frames the network layer processes as received.
    APP_RING_TX_INTERCEPT = 2,   ///< Ring 1: frames the network layer outputs; ring 2: frames the interface sends.
    APP_RING_BYPASS = 3,         ///< Ring 1: everything received; ring 2: what is sent; the network layer sees nothing.
    APP_RING_NON_NETWORK = 4,    ///< Ring 1: received non-IP frames plus at least min_posted empty buffers; ring 2: frames sent.
};

/// Packet and slot flags.
enum app_ring_slot_flags {
    APP_RING_SLOT_EMPTY = 1u << 0,  ///< Ring 1: an empty buffer posted for the application to fill (non-network mode; a length-0 entry).
    APP_RING_SLOT_DROP = 1u << 1,   ///< Ring 2: give the buffer back to the framework without passing the packet on.
};

/// One ring-1 entry: a netbuf named by its index in the pool (8 bytes: eight per cache line).
struct app_ring_entry {
    uint32_t index;   ///< Netbuf index in the pool, or the claimer's token when place is APP_RING_CLAIMED.
    uint32_t place;   ///< APP_RING_PLACE(offset, length).
};

/// One ring-2 slot: a netbuf named by its index in the pool.
struct app_ring_slot {
    uint32_t index;   ///< Netbuf index in the pool.
    uint32_t length;  ///< Packet bytes.
    uint16_t offset;  ///< Where the packet starts, from the start of the buffer.
    uint16_t flags;   ///< app_ring_slot_flags.
    uint32_t owner;   ///< Token of the application that inserted it; 0: not yet published.
};

/// The read-only description at the start of the ring region.
struct app_ring_header {
    uint32_t magic;          ///< APP_RING_MAGIC.
    uint32_t version;        ///< APP_RING_VERSION.
    uint32_t mode;           ///< app_ring_mode of these rings.
    uint32_t slot_count;     ///< Slots per ring, a power of two.
    uint32_t buffer_count;   ///< Netbufs in the pool (valid indices: 0 .. buffer_count - 1).
    uint32_t buffer_size;    ///< Bytes per buffer in the data region.
    uint32_t headroom;       ///< Default headroom of a fresh buffer.
    uint32_t min_posted;     ///< Non-network mode: empty buffers kept posted in ring 1.
    uint32_t ring1_offset;   ///< Byte offset of ring 1's entries.
    uint32_t ring2_offset;   ///< Byte offset of ring 2's slots.
    uint32_t region_size;    ///< Bytes of the ring region.
    uint32_t reserved[5];    ///< Zero.
};

/// Ring 1's cursors, each on its own cache line, with who may remove.
struct app_ring_ring1_control {
    uint32_t head;           ///< Insertion cursor (framework).
    uint32_t pad0[15];       ///< Keeps tail on its own cache line.
    uint32_t tail;           ///< Removal cursor (applications).
    uint32_t consumers;      ///< APP_RING_CONSUMERS_SINGLE or _SHARED (framework).
    uint32_t shared_ready;   ///< Nonzero once every application may remove with CAS (framework).
    uint32_t pad1[13];       ///< Fills the cache line.
};

/// Ring 2's cursors, each on its own cache line.
struct app_ring_control {
    uint32_t head;           ///< Insertion cursor.
    uint32_t pad0[15];       ///< Keeps tail on its own cache line.
    uint32_t tail;           ///< Removal cursor.
    uint32_t pad1[15];       ///< Fills the cache line.
};

/// One application's wait flags.
struct app_ring_app_entry {
    uint32_t wait_ring1;     ///< Set by the application before sleeping until ring 1 has entries.
    uint32_t wait_ring2;     ///< Set by the application before sleeping until ring 2 has room.
    uint32_t pid;            ///< The application's pid (informational).
    uint32_t consumers_seen; ///< The consumers value the application last acted on (its answer).
    uint32_t switch_tail;    ///< Ring-1 tail when it stopped being the single consumer.
    uint32_t pad[11];        ///< Fills the cache line.
};

/// The fixed part of the ring region.
struct app_ring_shared {
    struct app_ring_header header;                      ///< The description (read only).
    struct app_ring_ring1_control ring1;                ///< Ring 1's cursors.
    struct app_ring_control ring2;                      ///< Ring 2's cursors.
    struct app_ring_app_entry apps[APP_RING_MAX_APPS];  ///< One entry per mapped application.
};

/// What an application sends after connecting to the framework's socket.
struct app_ring_request {
    uint32_t magic;          ///< APP_RING_MAGIC.
    uint32_t version;        ///< APP_RING_VERSION.
    char interface[32];      ///< Interface name, NUL-terminated.
    uint32_t mode;           ///< app_ring_mode (APP_RING_JOIN: whatever exists).
    uint32_t min_posted;     ///< Non-network mode: empty buffers to keep posted (0: default 64).
    uint32_t slot_count;     ///< Slots per ring when the rings are created (0: default 1024).
    uint32_t reserved;       ///< Zero.
};

/// The framework's answer; with error 0 it carries 6 descriptors (SCM_RIGHTS), in order: ring
/// region (rw), data region (rw), metadata region (ro), kick eventfd, ring-1 eventfd, ring-2 eventfd.
struct app_ring_reply {
    uint32_t magic;          ///< APP_RING_MAGIC.
    int32_t error;           ///< 0 or an errno (EACCES, ENODEV, EBUSY, EINVAL, EMFILE).
    uint32_t app_slot;       ///< This application's entry in the app table.
    uint32_t token;          ///< This application's owner token (secret, nonzero).
    uint64_t region_size;    ///< Bytes of the ring region.
    uint64_t data_size;      ///< Bytes of the data region.
    uint64_t metadata_size;  ///< Bytes of the metadata region.
};

/// An application's handle on mapped rings (C API).
typedef struct app_ring app_ring;

/// A packet as the application sees it.
struct app_ring_packet {
    uint32_t index;   ///< Netbuf index: give it back to app_ring_send.
    uint32_t length;  ///< Packet bytes.
    uint16_t offset;  ///< Start of the packet in the buffer.
    uint16_t flags;   ///< app_ring_slot_flags.
    uint8_t* data;    ///< The packet in this process (buffer + offset).
};

/// Maps @p interface's rings through the framework's socket at @p path, creating them in @p mode
/// when absent (claim 2). Returns NULL and sets errno on failure.
app_ring* app_ring_open(const char* path, const char* interface, enum app_ring_mode mode, uint32_t min_posted);
/// Unmaps the rings (claims 3, 18, 20); buffers still held return to the framework.
void app_ring_close(app_ring* ring);
/// Removes up to @p max packets from ring 1; they belong to the caller until sent back.
/// @return the number removed (0 when the ring is empty).
unsigned app_ring_receive(app_ring* ring, struct app_ring_packet* packets, unsigned max);
/// Removes up to @p max entries from ring 1 as the ring holds them (8 bytes each, unchecked): the
/// cheapest way to take a burst. They belong to the caller as with app_ring_receive; look at one
/// with app_ring_entry_packet. @return the number removed.
unsigned app_ring_receive_entries(app_ring* ring, struct app_ring_entry* entries, unsigned max);
/// Fills @p packet with what @p entry names. @return 0, or EINVAL when it names memory outside the
/// pool (only a process scribbling on the rings makes such entries; what they held returns to
/// the pool when the application unmaps).
int app_ring_entry_packet(const app_ring* ring, const struct app_ring_entry* entry, struct app_ring_packet* packet);
/// Inserts @p count packets into ring 2 (index, offset, length are read), all or nothing.
/// @return @p count, or 0 when ring 2 has no room for all of them.
unsigned app_ring_send(app_ring* ring, const struct app_ring_packet* packets, unsigned count);
/// Sleeps until ring 1 has entries (claim 13), at most @p timeout_ms (-1: forever).
/// @return 0, ETIMEDOUT, or an errno.
int app_ring_wait_receive(app_ring* ring, int timeout_ms);
/// Sleeps until ring 2 has room (claim 14), at most @p timeout_ms. @return 0, ETIMEDOUT or an errno.
int app_ring_wait_send(app_ring* ring, int timeout_ms);
/// The eventfd that becomes readable when ring 1 gets entries (for poll/epoll; arm it with
/// app_ring_arm_receive first).
int app_ring_receive_fd(const app_ring* ring);
/// Asks the framework to signal app_ring_receive_fd at the next insertion into ring 1.
void app_ring_arm_receive(app_ring* ring);
/// The start of buffer @p index in this process, or NULL for a bad index.
uint8_t* app_ring_buffer(const app_ring* ring, uint32_t index);
/// Bytes per buffer.
uint32_t app_ring_buffer_size(const app_ring* ring);

#ifdef __cplusplus
}
#endif

#endif  // NEXNET_APP_RING_H
