#ifndef NEXNET_APP_RING_H
#define NEXNET_APP_RING_H
/// @file app_ring.h
/// @brief Application rings (app-rings seed): the shared-memory layout, the socket protocol, and
/// the C API an application uses to map an interface's rings.
///
/// An interface's rings live in three kinds of memfd: the posted region (ring 1's entries, which
/// only the framework writes: read-only for applications), the taken region (ring 1's removal
/// cursors and claims, written by the applications that share ring 1) and one application region
/// per application (its ring 2 and wait flags: nobody else maps it). They come with the netbuf
/// pool's packet buffers (read-write) and its Netbuf metadata (read-only). Everything is named by
/// index; nothing in shared memory is a pointer. The framework trusts nothing an application can
/// write: it keeps its own copy of every cursor and validates every index, length, offset and
/// claim it reads back.
///
/// @verbatim
///  posted region (memfd, read-only for applications; one per ring 1)
///  offset 0      +--------------------------------------------------+
///                | app_ring_header (64 B)  magic, mode, slot_count, |  written once by the
///                |   buffer_count, buffer_size, headroom, offsets   |  framework
///  64            | head (framework)                          | 64 B |  ring 1: network layer inserts
///  128           | consumers, shared_from, domain_released   | 64 B |  rarely written (hand-over)
///  entries_offset| ring 1 entries [slot_count] x 8 B                |
///                +--------------------------------------------------+
///  taken region (memfd, read-write for the applications removing from that ring 1)
///  0             | single_tail (the single consumer)         | 64 B |
///  64            | tail (shared consumers, CAS)              | 64 B |
///  claims_offset | claims [slot_count] x 8 B                        |  who took which entries
///                +--------------------------------------------------+
///  application region (memfd, read-write, one per application: nobody else maps it)
///  0             | wait_ring1, wait_ring2                    | 64 B |  wait flags (claims 13-14)
///  64            | head (the application)                    | 64 B |  ring 2: the application
///  128           | tail (framework)                          | 64 B |  inserts, the network layer
///  slots_offset  | ring 2 slots [slot_count] x 16 B                 |  removes
///                +--------------------------------------------------+
///
///  ring-1 entry (8 B):  | index u32 | place u32 = offset (bits 0-14) | length << 15 |
///  claim (8 B):         | position u32 | token u16 | count u16 |
///  ring-2 slot (16 B):  | index u32 | length u32 | offset u16 | flags u16 | reserved u32 |
///
///  data region (pool memfd, read-write):  | buffer 0 | buffer 1 | ... |  buffer_size bytes each;
///     the packet of an entry is at  data + index * buffer_size + offset,  length bytes.
///  metadata region (pool memfd, read-only): | Netbuf 0 | Netbuf 1 | ... | 64 B each.
///
///  Cursors are free-running 32-bit counters; slot of cursor c is c & (slot_count - 1).
///  ring 1:  the framework writes entries, then head (release). Who removes depends on consumers:
///           APP_RING_CONSUMERS_SINGLE (one application mapped): it copies entries from its own
///             copy of the tail and stores single_tail; everything before single_tail is its own.
///           APP_RING_CONSUMERS_SHARED (several, for good once a second one mapped the rings):
///             an application copies n entries from tail t, CAS(tail, t, t + n), then CAS
///             claims[t] from any word whose position is not t to { t, its token, n }, then
///             stores { t + i, token, 0 } into claims[t + i]. A claim whose position matches
///             decides that position: the framework reads who holds each buffer from the claim
///             (claims 9-10); an application whose claim CAS finds the position decided (the
///             framework took an abandoned entry back: token 0) drops what it copied.
///           The hand-over: when a second application maps the rings, the framework gives every
///             entry posted so far (before shared_from) to the single consumer, sets tail to
///             shared_from and consumers to SHARED. Newcomers remove from shared_from at once;
///             the single consumer finishes its entries before shared_from with single_tail, then
///             joins the others. When ring 1 needs room and it has not, the framework sets
///             domain_released and reuses those slots (their buffers stay the single consumer's).
///  ring 2:  each application's own: it writes slots, then head (release); the framework removes
///           up to head and stores tail.
/// @endverbatim
///
/// Waits (claims 13-14): each application has two eventfds of its own. Before sleeping it sets
/// wait_ring1 (or wait_ring2) in its application region and checks the ring again; the framework,
/// after inserting into ring 1 (or removing from ring 2), clears set flags and signals the
/// eventfds. Applications signal the framework through the shared kick eventfd after inserting
/// into ring 2. A wait also watches the connection to the framework: when the framework ends,
/// it returns EPIPE.
///
/// Trust: nothing an application writes can make the framework read outside the pool, hold a
/// buffer for ever, or stop the rings for the other applications. What one application can do
/// to others mapping the same (shared) ring 1: take entries first, and write claims naming
/// their tokens (which it can read). Rings of its own (APP_RING_PRIVATE) close that.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// "NXRN": first word of the posted region and of every socket message.
#define APP_RING_MAGIC 0x4e58524eu
/// Layout and protocol version.
#define APP_RING_VERSION 3u
/// Most applications mapping one interface's rings at once.
#define APP_RING_MAX_APPS 16u
/// Most entries one removal takes from shared ring 1 (the largest count a claim holds).
#define APP_RING_MAX_REMOVE 65535u
/// A ring-1 entry's place: where the packet starts in its buffer (below 32 KiB) and its length
/// (below 128 KiB; 0 for an empty buffer).
#define APP_RING_PLACE(offset, length) ((uint32_t)(offset) | (uint32_t)(length) << 15)
/// The offset of a ring-1 place.
#define APP_RING_PLACE_OFFSET(place) ((uint32_t)(place)&0x7fffu)
/// The length of a ring-1 place.
#define APP_RING_PLACE_LENGTH(place) ((uint32_t)(place) >> 15)
/// consumers value: one application removes from ring 1 with plain stores.
#define APP_RING_CONSUMERS_SINGLE 0u
/// consumers value: several applications remove from ring 1 with CAS and claim entries.
#define APP_RING_CONSUMERS_SHARED 1u
/// Count of each file descriptor the framework's answer carries (see app_ring_reply).
#define APP_RING_REPLY_FDS 8u

/// What the rings carry (app-rings seed claims 1, 17, 19, 6).
enum app_ring_mode {
    APP_RING_JOIN = 0,  ///< Request only: map the interface's rings in whatever mode they exist.
    APP_RING_RX_INTERCEPT =
        1,  ///< Ring 1: received frames before the network layer; ring 2: frames the network layer processes as received.
    APP_RING_TX_INTERCEPT = 2,  ///< Ring 1: frames the network layer outputs; ring 2: frames the interface sends.
    APP_RING_BYPASS = 3,        ///< Ring 1: everything received; ring 2: what is sent; the network layer sees nothing.
    APP_RING_NON_NETWORK =
        4,  ///< Ring 1: received non-IP frames plus at least min_posted empty buffers; ring 2: frames sent.
};

/// Request flags (app_ring_request::flags).
enum app_ring_request_flags {
    /// Rings of its own: the application gets a ring 1 that no other application maps (the
    /// framework shares the interface's frames out between the applications' rings), so nobody
    /// can read its claims or take its entries. Refused with EBUSY when the interface's rings
    /// exist shared. Without the flag an application maps whatever exists.
    APP_RING_PRIVATE = 1u << 0,
};

/// Packet and slot flags.
enum app_ring_slot_flags {
    APP_RING_SLOT_EMPTY =
        1u << 0,  ///< Ring 1: an empty buffer posted for the application to fill (non-network mode; a length-0 entry).
    APP_RING_SLOT_DROP = 1u << 1,  ///< Ring 2: give the buffer back to the framework without passing the packet on.
};

/// One ring-1 entry: a netbuf named by its index in the pool (8 bytes: eight per cache line).
struct app_ring_entry {
    uint32_t index;  ///< Netbuf index in the pool.
    uint32_t place;  ///< APP_RING_PLACE(offset, length).
};

/// Who took ring-1 entries (shared consumers): one 8-byte word per ring-1 slot in the taken region.
struct app_ring_claim {
    uint32_t position;  ///< The ring-1 position this claim decides (a word naming another position decides nothing).
    uint16_t token;     ///< The claimer's token; 0: the framework took the entry back.
    uint16_t count;     ///< Entries from position the claimer took; 0: inside a run claimed before it.
};

/// One ring-2 slot: a netbuf named by its index in the pool.
struct app_ring_slot {
    uint32_t index;     ///< Netbuf index in the pool.
    uint32_t length;    ///< Packet bytes.
    uint16_t offset;    ///< Where the packet starts, from the start of the buffer.
    uint16_t flags;     ///< app_ring_slot_flags.
    uint32_t reserved;  ///< Zero.
};

/// The description at the start of the posted region.
struct app_ring_header {
    uint32_t magic;           ///< APP_RING_MAGIC.
    uint32_t version;         ///< APP_RING_VERSION.
    uint32_t mode;            ///< app_ring_mode of these rings.
    uint32_t slot_count;      ///< Slots per ring, a power of two.
    uint32_t buffer_count;    ///< Netbufs in the pool (valid indices: 0 .. buffer_count - 1).
    uint32_t buffer_size;     ///< Bytes per buffer in the data region.
    uint32_t headroom;        ///< Default headroom of a fresh buffer.
    uint32_t min_posted;      ///< Non-network mode: empty buffers kept posted in ring 1.
    uint32_t entries_offset;  ///< Byte offset of ring 1's entries in the posted region.
    uint32_t claims_offset;   ///< Byte offset of the claims in the taken region.
    uint32_t slots_offset;    ///< Byte offset of ring 2's slots in an application region.
    uint32_t posted_size;     ///< Bytes of the posted region.
    uint32_t taken_size;      ///< Bytes of the taken region.
    uint32_t app_size;        ///< Bytes of an application region.
    uint32_t flags;           ///< APP_RING_PRIVATE when every application has a ring 1 of its own.
    uint32_t reserved;        ///< Zero.
};

/// The framework's part of the posted region, after the header.
struct app_ring_posted {
    struct app_ring_header header;  ///< The description.
    uint32_t head;                  ///< Ring 1's insertion cursor (framework).
    uint32_t pad0[15];              ///< Keeps the head on its own cache line.
    uint32_t consumers;             ///< APP_RING_CONSUMERS_SINGLE or _SHARED.
    uint32_t shared_from;      ///< Shared: the first position shared consumers remove (the single consumer's before).
    uint32_t domain_released;  ///< Nonzero once the framework reused the single consumer's unremoved slots.
    uint32_t pad1[13];         ///< Fills the cache line.
};

/// The applications' part of the taken region, before the claims.
struct app_ring_taken {
    uint32_t single_tail;  ///< Ring 1's removal cursor while one application removes (it alone writes it).
    uint32_t pad0[15];     ///< Keeps single_tail on its own cache line.
    uint32_t tail;         ///< Ring 1's removal cursor of shared consumers (CAS).
    uint32_t pad1[15];     ///< Fills the cache line.
};

/// One application's region, before its ring-2 slots.
struct app_ring_app {
    uint32_t wait_ring1;  ///< Set by the application before sleeping until ring 1 has entries.
    uint32_t wait_ring2;  ///< Set by the application before sleeping until ring 2 has room.
    uint32_t pad0[14];    ///< Fills the cache line.
    uint32_t head;        ///< Ring 2's insertion cursor (the application).
    uint32_t pad1[15];    ///< Keeps the head on its own cache line.
    uint32_t tail;        ///< Ring 2's removal cursor (framework).
    uint32_t pad2[15];    ///< Fills the cache line.
};

/// What an application sends after connecting to the framework's socket.
struct app_ring_request {
    uint32_t magic;       ///< APP_RING_MAGIC.
    uint32_t version;     ///< APP_RING_VERSION.
    char interface[32];   ///< Interface name, NUL-terminated.
    uint32_t mode;        ///< app_ring_mode (APP_RING_JOIN: whatever exists).
    uint32_t min_posted;  ///< Non-network mode: empty buffers to keep posted (0: default 64).
    uint32_t slot_count;  ///< Slots per ring when the rings are created (0: default 1024).
    uint32_t flags;       ///< app_ring_request_flags.
};

/// The framework's answer; with error 0 it carries APP_RING_REPLY_FDS descriptors (SCM_RIGHTS), in
/// order: posted region (read-only), taken region, application region, data region, metadata
/// region (read-only), kick eventfd, ring-1 eventfd, ring-2 eventfd.
struct app_ring_reply {
    uint32_t magic;          ///< APP_RING_MAGIC.
    int32_t error;           ///< 0 or an errno (EACCES, ENODEV, EBUSY, EINVAL, EMFILE, EPERM, ENOENT).
    uint32_t app_slot;       ///< This application's number among those mapping the interface.
    uint32_t token;          ///< This application's claim token (nonzero, below 65536).
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
/// As app_ring_open, with app_ring_request_flags (APP_RING_PRIVATE: rings of its own).
app_ring* app_ring_open_with(const char* path, const char* interface, enum app_ring_mode mode, uint32_t min_posted,
                             uint32_t flags);
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
/// @return 0, ETIMEDOUT, EPIPE when the framework ended (close the rings), or poll's errno.
int app_ring_wait_receive(app_ring* ring, int timeout_ms);
/// Sleeps until ring 2 has room (claim 14), at most @p timeout_ms (-1: forever).
/// @return 0, ETIMEDOUT, EPIPE when the framework ended (close the rings), or poll's errno.
int app_ring_wait_send(app_ring* ring, int timeout_ms);
/// The eventfd that becomes readable when ring 1 gets entries (for poll/epoll; arm it with
/// app_ring_arm_receive first).
int app_ring_receive_fd(const app_ring* ring);
/// Asks the framework to signal app_ring_receive_fd at the next insertion into ring 1.
void app_ring_arm_receive(app_ring* ring);
/// The connection to the framework: it becomes readable (end of file) when the framework ends or
/// unmaps the rings, for applications that watch app_ring_receive_fd with poll/epoll.
int app_ring_control_fd(const app_ring* ring);
/// The start of buffer @p index in this process, or NULL for a bad index.
uint8_t* app_ring_buffer(const app_ring* ring, uint32_t index);
/// Bytes per buffer.
uint32_t app_ring_buffer_size(const app_ring* ring);

#ifdef __cplusplus
}
#endif

/// @cond layout_checks
#ifdef __cplusplus
#define NEXNET_APP_RING_ASSERT(condition, why) static_assert(condition, why)
#else
#define NEXNET_APP_RING_ASSERT(condition, why) _Static_assert(condition, why)
#endif

// The picture above, checked wherever this header is compiled (C and C++ must agree on it).
NEXNET_APP_RING_ASSERT(sizeof(struct app_ring_entry) == 8, "a ring-1 entry is 8 bytes: eight per cache line");
NEXNET_APP_RING_ASSERT(sizeof(struct app_ring_claim) == 8, "a claim is one 64-bit word");
NEXNET_APP_RING_ASSERT(sizeof(struct app_ring_slot) == 16, "a ring-2 slot is 16 bytes: four per cache line");
NEXNET_APP_RING_ASSERT(sizeof(struct app_ring_header) == 64, "the header is one cache line");
NEXNET_APP_RING_ASSERT(sizeof(struct app_ring_posted) == 192, "header, head, hand-over words: a line each");
NEXNET_APP_RING_ASSERT(sizeof(struct app_ring_taken) == 128, "single_tail and tail each on their own line");
NEXNET_APP_RING_ASSERT(sizeof(struct app_ring_app) == 192, "wait flags, head, tail: a line each");
#undef NEXNET_APP_RING_ASSERT
/// @endcond

#endif  // NEXNET_APP_RING_H
