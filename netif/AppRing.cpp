#include "netif/AppRing.h"

#include "netif/NetworkInterface.h"

#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>

namespace nexnet {

// The layout drawn in app_ring.h, checked at compile time (C and C++ must agree on it).
static_assert(sizeof(app_ring_entry) == 8, "a ring-1 entry is 8 bytes: eight per cache line");
static_assert(sizeof(app_ring_slot) == 16, "a ring-2 slot is 16 bytes: four per cache line");
static_assert(sizeof(app_ring_header) == 64, "the header is one cache line");
static_assert(sizeof(app_ring_control) == 128 && sizeof(app_ring_ring1_control) == 128, "head and tail each on their own cache line");
static_assert(sizeof(app_ring_app_entry) == 64, "one cache line per application");
static_assert(offsetof(app_ring_shared, ring1) == 64 && offsetof(app_ring_shared, apps) == 320, "as drawn in app_ring.h");

namespace {

constexpr unsigned kBurst = 32;
constexpr std::uint32_t kMaxSlots = 65536;
constexpr std::uint32_t kDrainBursts = 8;  // ring-2 bursts per service() call

// Every access to shared memory goes through these: one read per field (no re-reads the other
// side could race with), ordered where the protocol in app_ring.h needs it.
std::uint32_t load(std::uint32_t& word, std::memory_order order = std::memory_order_relaxed) {
    return std::atomic_ref<std::uint32_t>(word).load(order);
}
void store(std::uint32_t& word, std::uint32_t value, std::memory_order order = std::memory_order_relaxed) {
    std::atomic_ref<std::uint32_t>(word).store(value, order);
}

void signal(int fd) {
    std::uint64_t one = 1;
    ssize_t written = ::write(fd, &one, sizeof one);
    (void)written;  // EAGAIN: the counter is already non-zero, the waiter will wake
}

std::uint32_t randomToken() {
    std::uint32_t token = 0;
    while (token == 0 || token == APP_RING_OWNER_SKIP) {
        if (getrandom(&token, sizeof token, 0) != sizeof token) token = static_cast<std::uint32_t>(::getpid()) * 2654435761u;
    }
    return token;
}

std::uint32_t roundUp(std::uint32_t value, std::uint32_t unit) { return (value + unit - 1) / unit * unit; }

}  // namespace

std::uint32_t AppRing::nextOwnerId() {
    static std::atomic<std::uint32_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

AppRing::AppRing(NetworkInterface& interface, const Options& options) : interface_(interface), options_(options) {}

Result<std::unique_ptr<AppRing>> AppRing::create(NetworkInterface& interface, const Options& options) {
    using R = Result<std::unique_ptr<AppRing>>;
    std::uint32_t n = options.slotCount;
    bool powerOfTwo = n >= 32 && n <= kMaxSlots && (n & (n - 1)) == 0;
    bool modeOk = options.mode >= APP_RING_RX_INTERCEPT && options.mode <= APP_RING_NON_NETWORK;
    bool postedOk = options.mode != APP_RING_NON_NETWORK || options.minPosted < n;
    if (!powerOfTwo || !modeOk || !postedOk) return R::failure(EINVAL);
    std::unique_ptr<AppRing> ring(new AppRing(interface, options));
    if (int error = ring->setUp(); error != 0) return R::failure(error);
    return ring;
}

int AppRing::setUp() {
    pool_ = interface_.driver().sharedPool();
    if (!pool_) {
        auto pool = NetbufPool::create(4096);
        if (!pool) return pool.error();
        pool_ = std::move(pool.value());
    }
    ring1Offset_ = roundUp(sizeof(app_ring_shared), 128);  // bursts of 4 lines never share a 128-byte prefetch pair with the next
    ring2Offset_ = ring1Offset_ + options_.slotCount * static_cast<std::uint32_t>(sizeof(app_ring_entry));
    std::uint32_t slotBytes = options_.slotCount * static_cast<std::uint32_t>(sizeof(app_ring_slot));
    DmaRegion::Options regionOptions;
    regionOptions.name = "nexnet-appring-" + interface_.name();
    regionOptions.hugepages = false;
    auto region = DmaRegion::allocate(ring2Offset_ + slotBytes, regionOptions);
    if (!region) return region.error();
    region_ = std::move(region.value());
    kickFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (kickFd_ < 0) return errno;
    mask_ = options_.slotCount - 1;
    shadow1_.assign(options_.slotCount, AppRingEntry{});
    ringId_ = nextOwnerId();

    app_ring_header& header = shared().header;
    header.magic = APP_RING_MAGIC;
    header.version = APP_RING_VERSION;
    header.mode = options_.mode;
    header.slot_count = options_.slotCount;
    header.buffer_count = pool_->capacity();
    header.buffer_size = pool_->bufferSize();
    header.headroom = pool_->headroom();
    header.min_posted = options_.mode == APP_RING_NON_NETWORK ? options_.minPosted : 0;
    header.ring1_offset = ring1Offset_;
    header.ring2_offset = ring2Offset_;
    header.region_size = static_cast<std::uint32_t>(region_.size());

    if (options_.mode == APP_RING_TX_INTERCEPT || options_.mode == APP_RING_BYPASS) {
        if (int error = interface_.setOutputInterceptor(this); error != 0) return error;
        hookedOutput_ = true;
    }
    if (options_.mode != APP_RING_TX_INTERCEPT) {
        interface_.addInputConsumer(this, 0);
        hookedInput_ = true;
    }
    topUp();
    return 0;
}

AppRing::~AppRing() {
    if (hookedInput_) interface_.removeInputConsumer(this);
    if (hookedOutput_) interface_.setOutputInterceptor(nullptr);
    for (std::uint32_t slot = 0; slot < APP_RING_MAX_APPS; ++slot) {
        if (apps_[slot].used) detach(slot);
    }
    if (pool_) reclaimOwner(ringId_);  // posted in ring 1, or claimed with a bad token
    if (kickFd_ >= 0) ::close(kickFd_);
}

Result<AppRing::Application> AppRing::attach(pid_t pid) {
    using R = Result<Application>;
    for (std::uint32_t slot = 0; slot < APP_RING_MAX_APPS; ++slot) {
        AppState& app = apps_[slot];
        if (app.used) continue;
        app.ring1Fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        app.ring2Fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (app.ring1Fd < 0 || app.ring2Fd < 0) {
            int error = errno;
            if (app.ring1Fd >= 0) ::close(app.ring1Fd);
            if (app.ring2Fd >= 0) ::close(app.ring2Fd);
            app.ring1Fd = app.ring2Fd = -1;
            return R::failure(error);
        }
        bool alone = applicationCount() == 0 && consumers_ == Consumers::single;
        if (!alone && consumers_ == Consumers::single) beginSharing();
        if (alone) soleApp_ = slot;
        app.used = true;
        app.token = randomToken();
        app.ownerId = nextOwnerId();
        app_ring_app_entry& entry = shared().apps[slot];
        store(entry.wait_ring1, 0);
        store(entry.wait_ring2, 0);
        store(entry.pid, static_cast<std::uint32_t>(pid));
        store(entry.consumers_seen, alone ? APP_RING_CONSUMERS_SINGLE : APP_RING_CONSUMERS_SHARED);
        store(entry.switch_tail, 0);
        return Application{slot, app.token, app.ownerId, app.ring1Fd, app.ring2Fd};
    }
    return R::failure(EMFILE);
}

int AppRing::detach(std::uint32_t slot) {
    if (slot >= APP_RING_MAX_APPS || !apps_[slot].used) return ENOENT;
    AppState& app = apps_[slot];
    drainRing2();                // what it inserted is passed on, as if it had stayed
    reap();
    if (slot == soleApp_ && consumers_ == Consumers::toShared) {  // ended before answering: all it removed is its own
        std::uint32_t tail;
        if (ring1Tail(tail)) recordRange(tail, app);
        becomeShared();
    }
    if (consumers_ == Consumers::shared) claimUnmarked(app.token);  // removed but ended before claiming
    reap();
    if (slot == soleApp_) soleApp_ = APP_RING_MAX_APPS;
    skipUnfinished();            // ring-2 slots it reserved and never published
    drainRing2();
    reclaimOwner(app.ownerId);
    ::close(app.ring1Fd);
    ::close(app.ring2Fd);
    store(shared().apps[slot].pid, 0);
    app = AppState{};
    return 0;
}

unsigned AppRing::applicationCount() const {
    unsigned count = 0;
    for (const AppState& app : apps_) count += app.used ? 1 : 0;
    return count;
}

std::uint32_t AppRing::ring1Pending() const {
    std::uint32_t tail = load(shared().ring1.tail, std::memory_order_acquire);
    std::uint32_t pending = head1_ - tail;
    return pending > head1_ - reap1_ ? head1_ - reap1_ : pending;
}

// ---- ring 1: the network layer inserts ---------------------------------------------------------

bool AppRing::wantsInput(const Netbuf* netbuf) const {
    if (options_.mode != APP_RING_NON_NETWORK) return true;
    const std::uint8_t* frame = netbuf->data();
    unsigned type = (unsigned{frame[12]} << 8) | frame[13];
    return type != 0x0800 && type != 0x86dd && type != 0x0806;  // IPv4, IPv6, ARP stay with the network layer
}

Netbuf* AppRing::intoPool(Netbuf* netbuf) {
    if (netbuf->pool() == pool_.get()) return netbuf;
    Netbuf* copy = pool_->allocate();
    if (copy == nullptr || copy->append(netbuf->data(), netbuf->size()) != 0) {
        if (copy != nullptr) copy->free();
        netbuf->free();
        stats_.ring1Full++;
        return nullptr;
    }
    netbuf->free();
    stats_.copied++;
    return copy;
}

void AppRing::consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) {
    Netbuf* burst[kBurst];
    unsigned n = 0;
    for (unsigned i = 0; i < count; ++i) {
        if (packets[i] == nullptr || !wantsInput(packets[i])) continue;
        Netbuf* netbuf = intoPool(packets[i]);
        packets[i] = nullptr;
        if (netbuf == nullptr) continue;
        burst[n++] = netbuf;
        if (n == kBurst) {
            postBurst(burst, n);
            n = 0;
        }
    }
    postBurst(burst, n);
    publishRing1();
}

void AppRing::interceptOutput(NetworkInterface&, Netbuf** packets, unsigned count) {
    if (options_.mode == APP_RING_BYPASS) {  // claim 19: the network layer sends nothing
        for (unsigned i = 0; i < count; ++i) {
            if (packets[i] == nullptr) continue;
            packets[i]->free();
            packets[i] = nullptr;
            stats_.bypassDrops++;
        }
        return;
    }
    consumeInput(interface_, 0, packets, count);
}

unsigned AppRing::postBurst(Netbuf** packets, unsigned count) {
    if (count == 0) return 0;
    if (options_.slotCount - (head1_ - reap1_) < count) reap();  // reads the applications' tail only when short of room
    std::uint32_t room = options_.slotCount - (head1_ - reap1_);
    std::uint64_t* entries = entries1();
    unsigned posted = 0;
    for (unsigned i = 0; i < count; ++i) {
        Netbuf* netbuf = packets[i];
        bool fits = AppRingEntry::fits(netbuf->headroom(), netbuf->size());
        if (posted == room || !fits) {
            (fits ? stats_.ring1Full : stats_.unpostable)++;
            netbuf->free();
            continue;
        }
        std::uint32_t at = head1_ & mask_;
        AppRingEntry entry = AppRingEntry::packet(netbuf->index(), netbuf->headroom(), netbuf->size());
        entry.store(entries[at]);
        shadow1_[at] = entry;
        netbuf->setOwner(ringId_);
        ++head1_;
        ++posted;
    }
    stats_.inserted += posted;
    return posted;
}

void AppRing::publishRing1() {
    if (load(shared().ring1.head) == head1_) return;
    store(shared().ring1.head, head1_, std::memory_order_release);
    wake(true);
}

// The applications' ring-1 tail, when it lies in [reap1_, head1_]: anything else is a scribble.
bool AppRing::ring1Tail(std::uint32_t& tail) const {
    tail = load(shared().ring1.tail, std::memory_order_acquire);
    return tail - reap1_ <= head1_ - reap1_;
}

// Records who removed each ring-1 entry, as far as it is known (app_ring.h).
void AppRing::reap() {
    std::uint32_t tail;
    if (!ring1Tail(tail)) {
        stats_.invalid++;
        return;
    }
    switch (consumers_) {
    case Consumers::single:
        if (soleApp_ < APP_RING_MAX_APPS) recordRange(tail, apps_[soleApp_]);
        return;
    case Consumers::toShared:
        if (!settleSharing(tail)) return;
        reapClaims(tail);
        return;
    case Consumers::shared:
        reapClaims(tail);
        return;
    }
}

// Everything from reap1_ to @p end was removed by @p app.
void AppRing::recordRange(std::uint32_t end, const AppState& app) {
    for (; reap1_ != end; ++reap1_) {
        AppRingEntry& posted = shadow1_[reap1_ & mask_];
        if (!posted.claimed()) pool_->netbuf(posted.index)->setOwner(app.ownerId);  // claimed: recorded early
    }
}

// Shared consumers: each removed entry carries its remover's claim, written after the CAS.
void AppRing::reapClaims(std::uint32_t tail) {
    std::uint64_t* entries = entries1();
    while (reap1_ != tail) {
        std::uint32_t at = reap1_ & mask_;
        if (shadow1_[at].claimed()) {  // recorded early by recordClaim()
            ++reap1_;
            continue;
        }
        AppRingEntry entry = AppRingEntry::load(entries[at], std::memory_order_acquire);
        if (!entry.claimed()) break;  // removed, claim not written yet
        AppState* app = applicationWithToken(entry.index);
        Netbuf* netbuf = pool_->netbuf(shadow1_[at].index);  // our own record, never the slot's index
        if (app != nullptr) {
            netbuf->setOwner(app->ownerId);
        } else {
            stats_.invalid++;  // stays the ring's: returned when the rings are destroyed
        }
        ++reap1_;
    }
}

// The single consumer answers a change to shared consumers with the tail it had reached; what it
// removed before that is its own, what anyone removes after carries a claim. @p tail is read
// again after the answer (at least as far as the one it answered with).
bool AppRing::settleSharing(std::uint32_t& tail) {
    if (soleApp_ >= APP_RING_MAX_APPS) {
        becomeShared();
        return true;
    }
    app_ring_app_entry& entry = shared().apps[soleApp_];
    if (load(entry.consumers_seen, std::memory_order_acquire) != APP_RING_CONSUMERS_SHARED) return false;
    if (!ring1Tail(tail)) {
        stats_.invalid++;
        return false;
    }
    std::uint32_t end = load(entry.switch_tail);
    if (end - reap1_ > tail - reap1_) {  // not a tail it can have reached
        stats_.invalid++;
        end = reap1_;
    }
    recordRange(end, apps_[soleApp_]);
    becomeShared();
    return true;
}

void AppRing::beginSharing() {
    consumers_ = Consumers::toShared;
    store(shared().ring1.shared_ready, 0);
    store(shared().ring1.consumers, APP_RING_CONSUMERS_SHARED, std::memory_order_seq_cst);
    if (soleApp_ < APP_RING_MAX_APPS) signal(apps_[soleApp_].ring1Fd);  // so that a sleeping one answers
}

void AppRing::becomeShared() {
    consumers_ = Consumers::shared;
    store(shared().ring1.shared_ready, 1, std::memory_order_release);
    wake(true);  // applications that joined wait for this
}

// A ring-2 entry can arrive before reap() recorded the ring-1 claim of its buffer: the
// application claims and re-inserts between our reap() and drainRing2(), or another
// application's unfinished claim holds reap() back. Its claim is in ring 1 already (the
// application writes it before it publishes the ring-2 slot), so look it up there.
bool AppRing::recordClaim(Netbuf& netbuf, const AppState& app) {
    reap();
    if (netbuf.owner() != ringId_) return netbuf.owner() == app.ownerId;
    std::uint32_t tail;
    if (!ring1Tail(tail)) return false;
    // Unclaimed removals are the single consumer's until every application claims.
    bool sole = soleApp_ < APP_RING_MAX_APPS && &app == &apps_[soleApp_];
    bool unclaimedAreTheirs = sole && consumers_ != Consumers::shared;
    for (std::uint32_t position = reap1_; position != tail; ++position) {
        AppRingEntry& posted = shadow1_[position & mask_];
        if (posted.claimed() || posted.index != netbuf.index()) continue;
        AppRingEntry entry = AppRingEntry::load(entries1()[position & mask_], std::memory_order_acquire);
        if (entry.claimed() ? entry.index != app.token : !unclaimedAreTheirs) return false;
        posted.place = APP_RING_CLAIMED;  // recorded: reap() passes over it
        netbuf.setOwner(app.ownerId);
        return true;
    }
    return false;
}

void AppRing::claimUnmarked(std::uint32_t token) {
    std::uint32_t tail;
    if (!ring1Tail(tail)) return;
    AppRingEntry claim = AppRingEntry::claim(token);
    for (std::uint32_t position = reap1_; position != tail; ++position) {
        const AppRingEntry& posted = shadow1_[position & mask_];
        if (!posted.claimed()) claim.replace(entries1()[position & mask_], posted);
    }
}

void AppRing::topUp() {
    if (options_.mode != APP_RING_NON_NETWORK) return;
    std::uint32_t pending = ring1Pending();
    if (pending >= options_.minPosted) return;
    std::uint32_t missing = options_.minPosted - pending;
    Netbuf* burst[kBurst];
    while (missing > 0) {
        unsigned want = missing < kBurst ? missing : kBurst;
        if (pool_->allocateBulk(burst, want) != 0) break;
        if (postBurst(burst, want) < want) break;
        missing -= want;
    }
    publishRing1();
}

// ---- ring 2: applications insert, the network layer removes ---------------------------------------

AppRing::AppState* AppRing::applicationWithToken(std::uint32_t token) {
    for (AppState& app : apps_) {
        if (app.used && app.token == token) return &app;
    }
    return nullptr;
}

unsigned AppRing::drainRing2() {
    app_ring_control& control = shared().ring2;
    app_ring_slot* slots = slots2();
    unsigned total = 0;
    for (unsigned round = 0; round < kDrainBursts; ++round) {
        std::uint32_t head = load(control.head, std::memory_order_acquire);
        std::uint32_t available = head - tail2_;
        if (available > options_.slotCount) {  // a head no application could have written
            stats_.invalid++;
            available = options_.slotCount;
        }
        Netbuf* burst[kBurst];
        unsigned n = 0, seen = 0;
        while (seen < available && n < kBurst) {
            app_ring_slot& slot = slots[tail2_ & mask_];
            std::uint32_t token = load(slot.owner, std::memory_order_acquire);
            if (token == 0) break;  // reserved, not yet published
            std::uint32_t index = load(slot.index);
            std::uint32_t length = load(slot.length);
            std::uint32_t offset = std::atomic_ref<std::uint16_t>(slot.offset).load(std::memory_order_relaxed);
            std::uint16_t flags = std::atomic_ref<std::uint16_t>(slot.flags).load(std::memory_order_relaxed);
            store(slot.owner, 0);
            ++tail2_;
            ++seen;
            if (token == APP_RING_OWNER_SKIP) {
                stats_.skipped++;
                continue;
            }
            AppState* app = applicationWithToken(token);
            Netbuf* netbuf = pool_->netbuf(index);
            if (app == nullptr || netbuf == nullptr) {
                stats_.invalid++;
                continue;
            }
            if (netbuf->owner() != app->ownerId && !recordClaim(*netbuf, *app)) {  // claims 9, 16: not the inserter's
                stats_.refused++;
                continue;
            }
            if (netbuf->reset(offset) != 0 || netbuf->setSize(length) != 0) {
                stats_.invalid++;  // still the application's: it may send it again
                continue;
            }
            netbuf->offload() = NetbufOffload{};
            netbuf->setOwner(0);
            if ((flags & APP_RING_SLOT_DROP) != 0) {
                netbuf->free();
                stats_.returned++;
                continue;
            }
            burst[n++] = netbuf;
        }
        if (seen > 0) store(control.tail, tail2_, std::memory_order_release);
        dispatch(burst, n);
        total += seen;
        if (seen == 0 || seen < kBurst) break;
    }
    if (total > 0) wake(false);
    return total;
}

void AppRing::dispatch(Netbuf** packets, unsigned count) {
    if (count == 0) return;
    stats_.removed += count;
    if (options_.mode == APP_RING_RX_INTERCEPT) {
        interface_.injectInput(0, packets, count, 0);  // claim 1: processed as received
    } else {
        interface_.outputInterceptedBurst(packets, count);  // claims 17, 19, 6: sent by the interface
    }
}

void AppRing::skipUnfinished() {
    std::uint32_t head = load(shared().ring2.head, std::memory_order_acquire);
    std::uint32_t pending = head - tail2_;
    if (pending > options_.slotCount) return;
    for (std::uint32_t at = tail2_; at != head; ++at) {
        std::uint32_t expected = 0;
        std::atomic_ref<std::uint32_t>(slots2()[at & mask_].owner).compare_exchange_strong(expected, APP_RING_OWNER_SKIP);
    }
}

void AppRing::reclaimOwner(std::uint32_t ownerId) {
    Netbuf* burst[kBurst];
    unsigned n = 0;
    for (std::uint32_t i = 0; i < pool_->capacity(); ++i) {
        Netbuf* netbuf = pool_->netbuf(i);
        if (netbuf->owner() != ownerId) continue;
        netbuf->setOwner(0);
        burst[n++] = netbuf;
        stats_.reclaimed++;
        if (n == kBurst) {
            pool_->freeBulk(burst, n);
            n = 0;
        }
    }
    pool_->freeBulk(burst, n);
}

// ---- waking applications (claims 13, 14) -------------------------------------------------------

void AppRing::wake(bool ring1) {
    // Pairs with the application's store of its wait flag and its re-check of the ring (Dekker):
    // either it sees our cursor or we see its flag.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    for (std::uint32_t slot = 0; slot < APP_RING_MAX_APPS; ++slot) {
        if (!apps_[slot].used) continue;
        std::uint32_t& flag = ring1 ? shared().apps[slot].wait_ring1 : shared().apps[slot].wait_ring2;
        if (load(flag) == 0) continue;
        store(flag, 0);
        signal(ring1 ? apps_[slot].ring1Fd : apps_[slot].ring2Fd);
    }
}

void AppRing::acknowledgeKick() {
    std::uint64_t kicks;
    ssize_t got = ::read(kickFd_, &kicks, sizeof kicks);
    (void)got;  // EAGAIN: no kick pending
}

unsigned AppRing::service() {
    reap();
    unsigned handled = drainRing2();
    topUp();
    return handled;
}

}  // namespace nexnet
