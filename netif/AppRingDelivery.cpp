#include "netif/AppRingDelivery.h"

#include <atomic>
#include <cerrno>

namespace nexnet {

namespace {

constexpr unsigned kBurst = 32;

// One read or write per shared field (nothing the other side could race with is read twice),
// ordered where the protocol in app_ring.h needs it.
std::uint32_t load(const std::uint32_t& word, std::memory_order order = std::memory_order_relaxed) {
    return std::atomic_ref<std::uint32_t>(const_cast<std::uint32_t&>(word)).load(order);
}
void store(std::uint32_t& word, std::uint32_t value, std::memory_order order = std::memory_order_relaxed) {
    std::atomic_ref<std::uint32_t>(word).store(value, order);
}

std::uint32_t roundUp(std::uint32_t value, std::uint32_t unit) { return (value + unit - 1) / unit * unit; }

}  // namespace

Result<std::unique_ptr<AppRingDelivery>> AppRingDelivery::create(NetbufPool& pool, const app_ring_header& header,
                                                                 AppRingStatistics& statistics) {
    using R = Result<std::unique_ptr<AppRingDelivery>>;
    std::unique_ptr<AppRingDelivery> delivery(new AppRingDelivery(pool, statistics));
    if (int error = delivery->setUp(header); error != 0) return R::failure(error);
    return delivery;
}

int AppRingDelivery::setUp(const app_ring_header& header) {
    slots_ = header.slot_count;
    mask_ = slots_ - 1;
    DmaRegion::Options options;
    options.name = "nexnet-appring-posted";
    options.hugepages = false;
    // Bursts of four lines never share a 128-byte prefetch pair with the line before them.
    std::uint32_t entriesOffset = roundUp(sizeof(app_ring_posted), 128);
    auto postedRegion = DmaRegion::allocate(entriesOffset + slots_ * sizeof(app_ring_entry), options);
    if (!postedRegion) return postedRegion.error();
    posted_ = std::move(postedRegion.value());
    options.name = "nexnet-appring-taken";
    auto takenRegion = DmaRegion::allocate(sizeof(app_ring_taken) + slots_ * sizeof(app_ring_claim), options);
    if (!takenRegion) return takenRegion.error();
    taken_ = std::move(takenRegion.value());
    ringId_ = nextAppRingOwnerId();
    early_.assign(slots_, 0);
    postedAt_.assign(pool_.capacity(), 0);

    app_ring_header& own = posted().header;
    own = header;
    own.entries_offset = entriesOffset;
    own.claims_offset = sizeof(app_ring_taken);
    own.posted_size = static_cast<std::uint32_t>(posted_.size());
    own.taken_size = static_cast<std::uint32_t>(taken_.size());
    // No position decides anything yet: position 0 must not find a claim for 0 in a zeroed word.
    for (std::uint32_t slot = 0; slot < slots_; ++slot) AppRingClaim{~slot, 0, 0}.store(claim(slot));
    return 0;
}

AppRingDelivery::~AppRingDelivery() {
    if (posted_.data() == nullptr) return;
    for (; reap1_ != head1_; ++reap1_) {
        Netbuf* netbuf = pool_.netbuf(AppRingEntry::load(entry(reap1_)).index);
        if (netbuf->owner() != ringId_) continue;  // recorded early: its holder returns it
        netbuf->setOwner(0);
        netbuf->free();
    }
}

std::uint32_t nextAppRingOwnerId() {
    static std::atomic<std::uint32_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t& AppRingDelivery::entry(std::uint32_t position) const {
    auto* entries = reinterpret_cast<std::uint64_t*>(posted_.data() + posted().header.entries_offset);
    return entries[position & mask_];
}

std::uint64_t& AppRingDelivery::claim(std::uint32_t position) const {
    auto* claims = reinterpret_cast<std::uint64_t*>(taken_.data() + sizeof(app_ring_taken));
    return claims[position & mask_];
}

const AppRingDelivery::Consumer* AppRingDelivery::consumer(std::uint16_t token) const {
    for (const Consumer& candidate : consumers_) {
        if (token != 0 && candidate.token == token) return &candidate;
    }
    return nullptr;
}

// ---- posting -----------------------------------------------------------------------------------

std::uint32_t AppRingDelivery::room() const {
    std::uint32_t floor = domainActive_ ? domainFloor_ : reap1_;
    return slots_ - (head1_ - floor);
}

unsigned AppRingDelivery::post(Netbuf* const* packets, unsigned count) {
    if (room() < count) makeRoom(count);  // reads what applications wrote only when short of room
    unsigned posted = room() < count ? room() : count;
    for (unsigned i = 0; i < posted; ++i) {
        Netbuf* netbuf = packets[i];
        // Release: an application that sees this entry (in a slot it had copied before) also sees
        // domain_released, stored before the slot was reused (AppRingHandOver.cpp).
        AppRingEntry::packet(netbuf->index(), netbuf->headroom(), netbuf->size())
            .store(entry(head1_), std::memory_order_release);
        early_[head1_ & mask_] = 0;
        postedAt_[netbuf->index()] = head1_;
        netbuf->setOwner(ringId_);
        ++head1_;
    }
    stats_.inserted += posted;
    return posted;
}

bool AppRingDelivery::publish() {
    if (load(posted().head) == head1_) return false;
    store(posted().head, head1_, std::memory_order_release);
    return true;
}

void AppRingDelivery::makeRoom(unsigned wanted) {
    reap();
    if (domainActive_ && room() < wanted) followDomain();
    if (domainActive_ && room() < wanted) releaseDomain();
    while (shared_ && room() < wanted && takeBackOldest()) {
    }
}

std::uint32_t AppRingDelivery::pending() const {
    std::uint32_t tail =
        shared_ ? load(taken().tail, std::memory_order_acquire) : load(taken().single_tail, std::memory_order_acquire);
    std::uint32_t posted = head1_ - reap1_;
    return tail - reap1_ <= posted ? head1_ - tail : posted;  // a scribbled tail: count from what is known
}

// ---- who removed what ----------------------------------------------------------------------------

void AppRingDelivery::reap() {
    if (!shared_) {
        reapSingle();
        return;
    }
    reapClaims();
    std::uint32_t tail;
    if (!sharedTail(tail)) repairTail(tail);
}

// One consumer: everything before its single_tail is its own.
void AppRingDelivery::reapSingle() {
    if (consumers_.empty()) return;
    std::uint32_t tail = load(taken().single_tail, std::memory_order_acquire);
    if (tail - reap1_ > head1_ - reap1_) {  // not a tail it can have reached: it loses its own entries
        stats_.invalid++;
        return;
    }
    for (; reap1_ != tail; ++reap1_) charge(reap1_, consumers_.front().ownerId);
}

// Shared: settles each position decided by a claim, in order, up to the first undecided one.
// Only removed positions (before the shared tail) can be claimed honestly: a claim reaching past
// the tail would let the framework reuse slots nobody has read yet.
void AppRingDelivery::reapClaims() {
    std::uint32_t tail;
    if (!sharedTail(tail)) return;  // reap() puts it back
    while (reap1_ != tail) {
        AppRingClaim decided = AppRingClaim::load(claim(reap1_));
        if (!decided.decides(reap1_)) return;  // removed and not yet claimed
        const Consumer* holder = consumer(decided.token);
        if (holder != nullptr && decided.count > 0 && decided.count <= tail - reap1_) {
            for (std::uint32_t end = reap1_ + decided.count; reap1_ != end; ++reap1_) charge(reap1_, holder->ownerId);
            continue;
        }
        // Taken back (token 0), or a claim nobody mapped could make: nobody holds the buffer.
        if (decided.token != 0 || decided.count != 0) stats_.invalid++;
        giveBack(reap1_++);
    }
}

bool AppRingDelivery::sharedTail(std::uint32_t& tail) const {
    tail = load(taken().tail, std::memory_order_acquire);
    return tail - reap1_ <= head1_ - reap1_;
}

// A scribbled shared tail: consumers go on from the first position whose holder is not recorded
// (those who find it decided skip it, see AppRingClient), unless someone moved it meanwhile.
void AppRingDelivery::repairTail(std::uint32_t seen) {
    stats_.invalid++;
    std::atomic_ref<std::uint32_t>(taken().tail).compare_exchange_strong(seen, reap1_, std::memory_order_acq_rel);
}

// The oldest entry was removed and nobody claimed it (its remover died, lies, or is slow): decide
// its position ourselves. An application's claim CAS after ours fails, so it drops the packet.
bool AppRingDelivery::takeBackOldest() {
    std::uint32_t tail;
    if (!sharedTail(tail)) {
        repairTail(tail);
        return false;
    }
    if (tail == reap1_) return false;  // nothing removed: ring 1 is full of entries nobody took yet
    if (AppRingClaim{reap1_, 0, 0}.decide(claim(reap1_))) stats_.abandoned++;
    std::uint32_t before = reap1_;
    reapClaims();
    return reap1_ != before;
}

// Everything removed and not claimed is taken back (a consumer left: what it never claimed).
void AppRingDelivery::takeBackUnclaimed() {
    while (shared_ && takeBackOldest()) {
    }
}

bool AppRingDelivery::chargeEarly(Netbuf& netbuf, const Consumer& holder) {
    reap();
    if (netbuf.owner() != ringId_) return netbuf.owner() == holder.ownerId;
    if (!shared_) return false;
    std::uint32_t position = postedAt_[netbuf.index()];
    std::uint32_t tail;
    if (!sharedTail(tail) || position - reap1_ >= tail - reap1_) return false;  // not removed by anyone
    if (AppRingEntry::load(entry(position)).index != netbuf.index()) return false;
    AppRingClaim decided = AppRingClaim::load(claim(position));
    if (!decided.decides(position) || decided.token != holder.token) return false;
    early_[position & mask_] = 1;  // recorded: reap passes over it
    netbuf.setOwner(holder.ownerId);
    return true;
}

void AppRingDelivery::charge(std::uint32_t position, std::uint32_t ownerId) {
    std::uint8_t& early = early_[position & mask_];
    if (early != 0) {
        early = 0;
        return;
    }
    pool_.netbuf(AppRingEntry::load(entry(position)).index)->setOwner(ownerId);
}

void AppRingDelivery::giveBack(std::uint32_t position) {
    std::uint8_t& early = early_[position & mask_];
    if (early != 0) {
        early = 0;
        return;
    }
    Netbuf* netbuf = pool_.netbuf(AppRingEntry::load(entry(position)).index);
    netbuf->setOwner(0);
    netbuf->free();
}

// ---- consumers -------------------------------------------------------------------------------------

void AppRingDelivery::addConsumer(const Consumer& added) {
    consumers_.push_back(added);
    if (consumers_.size() == 1 && !shared_) {
        store(taken().single_tail, reap1_, std::memory_order_release);  // it starts at what nobody removed
        return;
    }
    if (!shared_) handOver();
}

void AppRingDelivery::removeConsumer(std::uint32_t ownerId) {
    reap();
    if (domainActive_ && domainOwner_ == ownerId) releaseDomain();
    for (auto it = consumers_.begin(); it != consumers_.end(); ++it) {
        if (it->ownerId != ownerId) continue;
        if (shared_) {
            takeBackUnclaimed();  // what it removed and never claimed, while it is still known
            reap();
        }
        consumers_.erase(it);
        break;
    }
}

}  // namespace nexnet
