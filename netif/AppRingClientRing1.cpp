// AppRingClient: removing from ring 1 (app_ring.h), as the single consumer, while finishing its
// own entries after the hand-over, and as one of several consumers with claims.
#include "netif/AppRingClient.h"

#include "netif/AppRingEntry.h"

#include <unistd.h>

#include <atomic>
#include <cstring>

namespace nexnet {

namespace {

constexpr unsigned kChunk = 32;      // ring-1 entries read ahead of their checks
constexpr int kSharedAttempts = 16;  // CAS rounds before a removal gives up (others keep taking)

std::uint32_t load(const std::uint32_t& word, std::memory_order order = std::memory_order_relaxed) {
    return std::atomic_ref<std::uint32_t>(const_cast<std::uint32_t&>(word)).load(order);
}
void store(std::uint32_t& word, std::uint32_t value, std::memory_order order = std::memory_order_relaxed) {
    std::atomic_ref<std::uint32_t>(word).store(value, order);
}
std::uint64_t loadWord(const std::uint64_t& word) {
    return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(word)).load(std::memory_order_relaxed);
}

}  // namespace

std::uint32_t AppRingClient::receivable() const {
    std::uint32_t n = header_.slot_count;
    std::uint32_t head = load(posted()->head, std::memory_order_acquire);
    bool single = removal_ == Removal::single &&
        load(posted()->consumers, std::memory_order_acquire) == APP_RING_CONSUMERS_SINGLE;
    if (single) return head - tail_ <= n ? head - tail_ : 0;
    std::uint32_t from = removal_ == Removal::single ? load(posted()->shared_from) : sharedFrom_;
    std::uint32_t own = removal_ != Removal::shared && from - tail_ <= n ? from - tail_ : 0;
    std::uint32_t rest = head - load(taken()->tail, std::memory_order_acquire);
    return own + (rest <= n ? rest : 0);
}

// Turns entries into packets, dropping those naming memory outside the pool. The pool's geometry
// is copied into locals: stores into packets cannot alias it.
struct AppRingClient::Unpacker {
    std::uint8_t* data;
    std::uint32_t count;
    std::uint32_t size;
    std::uint16_t emptyFlag;  // APP_RING_SLOT_EMPTY in non-network mode, else 0

    /// @return 1 when @p packet was filled, 0 for an entry that names no packet.
    unsigned operator()(AppRingEntry entry, app_ring_packet& packet) const {
        std::uint32_t offset = entry.offset(), length = entry.length();
        if (entry.index >= count || offset + length > size) return 0;
        packet.index = entry.index;
        packet.length = length;
        packet.offset = static_cast<std::uint16_t>(offset);
        packet.flags = length == 0 ? emptyFlag : 0;
        packet.data = data + std::uint64_t{entry.index} * size + offset;
        return 1;
    }
};

AppRingClient::Unpacker AppRingClient::unpacker() const {
    return Unpacker{data_, header_.buffer_count, header_.buffer_size,
                    static_cast<std::uint16_t>(header_.mode == APP_RING_NON_NETWORK ? APP_RING_SLOT_EMPTY : 0)};
}

unsigned AppRingClient::receive(app_ring_packet* packets, unsigned max) {
    // All loads of a chunk first, then the checks: the cache misses of the loads overlap.
    auto copy = [this, packets](std::uint32_t tail, unsigned n) {
        const std::uint64_t* ring = entries();
        std::uint32_t mask = mask_;
        Unpacker take = unpacker();
        unsigned kept = 0;
        for (unsigned done = 0; done < n;) {
            std::uint64_t words[kChunk];
            unsigned chunk = n - done < kChunk ? n - done : kChunk;
            for (unsigned i = 0; i < chunk; ++i) words[i] = loadWord(ring[(tail + done + i) & mask]);
            for (unsigned i = 0; i < chunk; ++i) kept += take(AppRingEntry::fromWord(words[i]), packets[kept]);
            done += chunk;
        }
        return kept;
    };
    return remove(max, copy);
}

unsigned AppRingClient::receiveEntries(app_ring_entry* out, unsigned max) {
    // A plain copy (vectorised, as rte_ring copies pointers) while this client is the single
    // consumer: the framework writes no slot between its tail and the head then. Otherwise the
    // framework may reuse a slot we read (we then drop the copy): one atomic load each.
    auto copy = [this, out](std::uint32_t tail, unsigned n) {
        const std::uint64_t* ring = entries();
        std::uint32_t first = tail & mask_;
        unsigned before = header_.slot_count - first < n ? header_.slot_count - first : n;  // up to the end of the ring
        if (removal_ == Removal::single) {
            std::memcpy(out, ring + first, before * sizeof(app_ring_entry));
            std::memcpy(out + before, ring, (n - before) * sizeof(app_ring_entry));
            return n;
        }
        auto* words = reinterpret_cast<std::uint64_t*>(out);
        for (unsigned i = 0; i < before; ++i) words[i] = loadWord(ring[first + i]);
        for (unsigned i = before; i < n; ++i) words[i] = loadWord(ring[i - before]);
        return n;
    };
    return remove(max, copy);
}

app_ring_packet AppRingClient::packet(const app_ring_entry& entry) const {
    app_ring_packet packet{};  // left empty (data nullptr) when the entry names no packet
    unpacker()(AppRingEntry{entry.index, entry.place}, packet);
    return packet;
}

template <typename Copy>
unsigned AppRingClient::remove(unsigned max, Copy copy) {
    if (removal_ != Removal::shared) {
        unsigned n = removeAlone(max, copy);
        if (n > 0 || removal_ != Removal::shared) return n;
    }
    return removeShared(max, copy);
}

// The framework handed ring 1 over to shared removal: our own entries end at shared_from.
bool AppRingClient::enterShared() {
    sharedFrom_ = load(posted()->shared_from, std::memory_order_acquire);
    if (sharedFrom_ - tail_ > header_.slot_count) {  // not an end our entries can have: none are left
        tail_ = sharedFrom_;
        removal_ = Removal::shared;
        return false;
    }
    removal_ = tail_ == sharedFrom_ ? Removal::shared : Removal::domain;
    return true;
}

// Ring 1 with one consumer (or our own entries after the hand-over): copy the entries out, check
// that the framework did not reuse their slots meanwhile, then store our tail past them. The head
// is read again only when the entries known to be published run short.
template <typename Copy>
unsigned AppRingClient::removeAlone(unsigned max, Copy copy) {
    std::uint32_t available;
    if (removal_ == Removal::domain) {
        available = sharedFrom_ - tail_;
    } else {
        available = cachedHead_ - tail_;
        if (available < max) {
            cachedHead_ = load(posted()->head, std::memory_order_acquire);
            available = cachedHead_ - tail_;
            if (available > header_.slot_count) {  // a head no framework writes: nothing safe to take
                cachedHead_ = tail_;
                available = 0;
            }
        }
    }
    unsigned n = available < max ? available : max;
    unsigned kept = 0;
    for (;;) {
        kept = n > 0 ? copy(tail_, n) : 0;
        // After the copy: a slot is reused only after the framework published the hand-over and
        // domain_released (its entries are stored with release), so what we read is ours unless
        // these say otherwise.
        std::atomic_thread_fence(std::memory_order_acquire);
        if (removal_ == Removal::single && load(posted()->consumers) != APP_RING_CONSUMERS_SINGLE) enterShared();
        if (removal_ != Removal::domain) break;
        if (load(posted()->domain_released) != 0) {  // our remaining entries were given up: theirs are others' now
            tail_ = sharedFrom_;
            removal_ = Removal::shared;
            return 0;
        }
        if (n <= sharedFrom_ - tail_) break;
        n = sharedFrom_ - tail_;  // we copied past our own entries: again, only ours
    }
    if (removal_ == Removal::shared) return 0;  // handed over with nothing of ours left
    if (n == 0) return 0;
    tail_ += n;
    store(taken()->single_tail, tail_, std::memory_order_release);
    if (removal_ == Removal::domain && tail_ == sharedFrom_) removal_ = Removal::shared;
    return delivered(kept, n);
}

// A tail behind positions already decided (another application rewound it): move it past them
// rather than take what others hold. @return whether the tail was behind.
bool AppRingClient::skipDecided(std::uint32_t tail, std::uint32_t head) {
    AppRingClaim decided = AppRingClaim::load(claims()[tail & mask_]);
    if (!decided.decides(tail)) return false;
    std::uint32_t skip = decided.count > 0 && decided.count <= head - tail ? decided.count : 1;
    std::atomic_ref<std::uint32_t>(taken()->tail).compare_exchange_strong(tail, tail + skip, std::memory_order_acq_rel);
    return true;
}

// Ring 1 shared: copy the entries out, CAS the tail past them (another application may have taken
// them meanwhile: then copy again), then decide the first position with our claim and mark the
// others of the run (app_ring.h). If the framework decided it first (it took the entries back),
// what we copied is not ours.
template <typename Copy>
unsigned AppRingClient::removeShared(unsigned max, Copy copy) {
    std::atomic_ref<std::uint32_t> tailRef(taken()->tail);
    for (int attempt = 0; attempt < kSharedAttempts; ++attempt) {
        std::uint32_t tail = tailRef.load(std::memory_order_acquire);
        std::uint32_t head = load(posted()->head, std::memory_order_acquire);
        if (head - tail > header_.slot_count) {  // a scribbled tail: the framework puts it back when kicked
            kick();
            return 0;
        }
        if (head == tail) return 0;
        if (skipDecided(tail, head)) continue;
        unsigned n = head - tail < max ? head - tail : max;
        if (n > APP_RING_MAX_REMOVE) n = APP_RING_MAX_REMOVE;
        if (n == 0) return 0;
        unsigned kept = copy(tail, n);
        if (!tailRef.compare_exchange_strong(tail, tail + n, std::memory_order_acq_rel, std::memory_order_acquire))
            continue;
        auto token = static_cast<std::uint16_t>(token_);
        if (!AppRingClaim{tail, token, static_cast<std::uint16_t>(n)}.decide(claims()[tail & mask_])) {  // claim 10
            invalid_ += n;
            continue;
        }
        for (unsigned i = 1; i < n; ++i) AppRingClaim{tail + i, token, 0}.store(claims()[(tail + i) & mask_]);
        return delivered(kept, n);
    }
    return 0;
}

// Counts the entries the Unpacker refused; in non-network mode asks the framework to top ring 1 up again.
unsigned AppRingClient::delivered(unsigned kept, unsigned removed) {
    invalid_ += removed - kept;
    if (header_.mode == APP_RING_NON_NETWORK) kick();
    return kept;
}

}  // namespace nexnet
