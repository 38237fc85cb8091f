#include "inet/ArpCache.h"

#include "netbuf/Netbuf.h"

#include <cerrno>

namespace nexnet {

ArpCache::ArpCache(const Options& options) : options_(options) {
    if (options_.capacity == 0) options_.capacity = 1;
    slots_ = std::make_unique<Slot[]>(options_.capacity);
    unsigned indexSize = 1;
    while (indexSize < options_.capacity * 2) indexSize <<= 1;  // load at most 1/2: short probes
    index_.assign(indexSize, -1);
    for (unsigned i = options_.capacity; i > 0; --i) free_.push_back(static_cast<std::int32_t>(i - 1));
}

ArpCache::~ArpCache() {
    for (unsigned i = 0; i < options_.capacity; ++i) slots_[i].pending.freeAll();
}

std::uint64_t ArpCache::nanoseconds(std::chrono::milliseconds duration) const {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count());
}

unsigned ArpCache::home(std::uint32_t address) const {
    // Fibonacci hashing: neighbours on one subnet differ in the low bits, which this spreads.
    return static_cast<unsigned>((address * 2654435769u) >> 8) & static_cast<unsigned>(index_.size() - 1);
}

int ArpCache::find(in_addr address) const {
    unsigned mask = static_cast<unsigned>(index_.size() - 1);
    for (unsigned i = home(address.s_addr);; i = (i + 1) & mask) {
        std::int32_t slot = index_[i];
        if (slot < 0) return -1;
        if (slots_[slot].entry.address.s_addr == address.s_addr) return slot;
    }
}

int ArpCache::evictionCandidate() const {
    int oldest = -1;
    for (unsigned i = 0; i < options_.capacity; ++i) {
        const Slot& s = slots_[i];
        if (!s.used || s.entry.state != State::reachable) continue;
        if (oldest < 0 || s.entry.updated < slots_[oldest].entry.updated) oldest = static_cast<int>(i);
    }
    return oldest;
}

int ArpCache::insert(in_addr address, std::uint64_t now) {
    if (free_.empty()) {
        int victim = evictionCandidate();
        if (victim < 0) return -1;
        erase(victim);
    }
    std::int32_t slot = free_.back();
    free_.pop_back();
    Slot& s = slots_[slot];
    s.used = true;
    s.entry = Entry{address, EthernetAddress{}, State::incomplete, now, 0, 0};
    unsigned mask = static_cast<unsigned>(index_.size() - 1);
    unsigned i = home(address.s_addr);
    while (index_[i] >= 0) i = (i + 1) & mask;
    index_[i] = slot;
    ++used_;
    return slot;
}

void ArpCache::erase(int slot) {
    Slot& s = slots_[slot];
    s.pending.freeAll();
    s.used = false;
    unsigned mask = static_cast<unsigned>(index_.size() - 1);
    unsigned hole = home(s.entry.address.s_addr);
    while (index_[hole] != slot) hole = (hole + 1) & mask;
    // Backward-shift deletion (Knuth 6.4 algorithm R): no tombstones, probes stay short.
    for (unsigned next = (hole + 1) & mask; index_[next] >= 0; next = (next + 1) & mask) {
        unsigned wanted = home(slots_[index_[next]].entry.address.s_addr);
        bool movable = hole <= next ? (wanted <= hole || wanted > next) : (wanted <= hole && wanted > next);
        if (movable) {
            index_[hole] = index_[next];
            hole = next;
        }
    }
    index_[hole] = -1;
    free_.push_back(slot);
    --used_;
}

const EthernetAddress* ArpCache::lookup(in_addr address, std::uint64_t now) const {
    int slot = find(address);
    if (slot < 0) return nullptr;
    const Entry& e = slots_[slot].entry;
    if (e.state == State::permanent) return &e.mac;
    if (e.state != State::reachable || now - e.updated >= nanoseconds(options_.reachableTime)) return nullptr;
    return &e.mac;
}

bool ArpCache::learn(in_addr address, const EthernetAddress& mac, std::uint64_t now, bool create) {
    int slot = find(address);
    if (slot < 0) {
        if (!create) return false;
        slot = insert(address, now);
        if (slot < 0) return false;
    }
    Entry& e = slots_[slot].entry;
    if (e.state == State::permanent) return false;
    e.mac = mac;
    e.state = State::reachable;
    e.updated = now;
    e.requests = 0;
    return true;
}

int ArpCache::addPermanent(in_addr address, const EthernetAddress& mac) {
    int slot = find(address);
    if (slot < 0) slot = insert(address, 0);
    if (slot < 0) return ENOSPC;
    Entry& e = slots_[slot].entry;
    e.mac = mac;
    e.state = State::permanent;
    return 0;
}

int ArpCache::remove(in_addr address) {
    int slot = find(address);
    if (slot < 0) return ENOENT;
    erase(slot);
    return 0;
}

ArpCache::Wait ArpCache::wait(in_addr address, Netbuf* packet, std::uint64_t now) {
    int slot = find(address);
    bool fresh = false;
    if (slot >= 0 && slots_[slot].entry.state != State::incomplete) {
        // Known but aged: ask again, as a new resolution.
        Entry& e = slots_[slot].entry;
        e.state = State::incomplete;
        e.requests = 0;
        fresh = true;
    }
    if (slot < 0) {
        slot = insert(address, now);
        if (slot < 0) return Wait::tableFull;
        fresh = true;
    }
    Slot& s = slots_[slot];
    if (s.pending.count() >= options_.pendingPerAddress) return Wait::full;
    s.pending.enqueue(packet);
    s.entry.pending = static_cast<unsigned>(s.pending.count());
    if (!fresh) return Wait::queued;
    s.entry.updated = now;
    s.entry.requests = 1;
    return Wait::sendRequest;
}

unsigned ArpCache::takePending(in_addr address, Netbuf** out, unsigned max) {
    int slot = find(address);
    if (slot < 0) return 0;
    unsigned n = slots_[slot].pending.dequeueBurst(out, max);
    slots_[slot].entry.pending = static_cast<unsigned>(slots_[slot].pending.count());
    return n;
}

unsigned ArpCache::expire(std::uint64_t now, const std::function<void(in_addr)>& sendRequest) {
    unsigned dropped = 0;
    for (unsigned i = 0; i < options_.capacity; ++i) {
        Slot& s = slots_[i];
        if (!s.used) continue;
        Entry& e = s.entry;
        if (e.state == State::reachable && now - e.updated >= nanoseconds(options_.reachableTime)) {
            erase(static_cast<int>(i));  // aged: the next packet asks again
            continue;
        }
        if (e.state != State::incomplete || now - e.updated < nanoseconds(options_.retryInterval)) continue;
        if (e.requests >= options_.retries) {
            dropped += static_cast<unsigned>(s.pending.count());
            erase(static_cast<int>(i));
            continue;
        }
        e.requests++;
        e.updated = now;
        sendRequest(e.address);
    }
    return dropped;
}

std::vector<ArpCache::Entry> ArpCache::entries() const {
    std::vector<Entry> table;
    for (unsigned i = 0; i < options_.capacity; ++i)
        if (slots_[i].used) table.push_back(slots_[i].entry);
    return table;
}

}  // namespace nexnet
