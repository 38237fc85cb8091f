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

static_assert(offsetof(app_ring_posted, head) == 64 && offsetof(app_ring_posted, consumers) == 128,
              "as drawn in app_ring.h");
static_assert(offsetof(app_ring_taken, tail) == 64 && offsetof(app_ring_app, head) == 64 &&
                  offsetof(app_ring_app, tail) == 128,
              "as drawn in app_ring.h");
static_assert(APP_RING_MAX_APPS <= 32, "AppRing keeps a bit per application in 32 bits");

namespace {

constexpr unsigned kBurst = 32;
constexpr std::uint32_t kMaxSlots = 65536;
constexpr std::uint32_t kDrainBursts = 8;  // ring-2 bursts per application per service() call

std::uint32_t load(const std::uint32_t& word, std::memory_order order = std::memory_order_relaxed) {
    return std::atomic_ref<std::uint32_t>(const_cast<std::uint32_t&>(word)).load(order);
}
void store(std::uint32_t& word, std::uint32_t value, std::memory_order order = std::memory_order_relaxed) {
    std::atomic_ref<std::uint32_t>(word).store(value, order);
}

void signal(int fd) {
    std::uint64_t one = 1;
    ssize_t written = ::write(fd, &one, sizeof one);
    (void)written;  // EAGAIN: the counter is already non-zero, the waiter will wake
}

std::uint32_t roundUp(std::uint32_t value, std::uint32_t unit) { return (value + unit - 1) / unit * unit; }

}  // namespace

AppRing::AppRing(NetworkInterface& interface, const Options& options) : interface_(interface), options_(options) {}

Result<std::unique_ptr<AppRing>> AppRing::create(NetworkInterface& interface, const Options& options) {
    using R = Result<std::unique_ptr<AppRing>>;
    std::uint32_t n = options.slotCount;
    bool powerOfTwo = n >= 32 && n <= kMaxSlots && (n & (n - 1)) == 0;
    bool modeOk = options.mode >= APP_RING_RX_INTERCEPT && options.mode <= APP_RING_NON_NETWORK;
    bool postedOk = options.mode != APP_RING_NON_NETWORK || options.minPosted < n;
    if (!powerOfTwo || !modeOk || !postedOk) return R::failure(EINVAL);
    std::unique_ptr<AppRing> ring(new AppRing(interface, options));
    if (int error = ring->setUp(); error != 0) return R::failure(error, ring->setUpMessage_);
    return ring;
}

app_ring_header AppRing::headerTemplate() const {
    app_ring_header header{};
    header.magic = APP_RING_MAGIC;
    header.version = APP_RING_VERSION;
    header.mode = options_.mode;
    header.slot_count = options_.slotCount;
    header.buffer_count = pool_->capacity();
    header.buffer_size = pool_->bufferSize();
    header.headroom = pool_->headroom();
    header.min_posted = options_.mode == APP_RING_NON_NETWORK ? options_.minPosted : 0;
    header.slots_offset = slotsOffset_;
    header.app_size = appSize_;
    header.flags = options_.privateRings ? APP_RING_PRIVATE : 0;
    return header;
}

int AppRing::setUp() {
    // Its slots, applications and delivery are unshared: one thread, the interface's.
    if (Status claimed = interface_.claimSingleThread("an app ring"); !claimed) {
        setUpMessage_ = claimed.message();
        return claimed.error();
    }
    claimedThread_ = true;
    pool_ = interface_.driver().sharedPool();
    if (!pool_) {
        auto pool = NetbufPool::create(4096);
        if (!pool) return pool.error();
        pool_ = std::move(pool.value());
    }
    slotsOffset_ = roundUp(sizeof(app_ring_app), 128);
    appSize_ = slotsOffset_ + options_.slotCount * static_cast<std::uint32_t>(sizeof(app_ring_slot));
    kickFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (kickFd_ < 0) return errno;
    if (!options_.privateRings) {
        auto delivery = AppRingDelivery::create(*pool_, headerTemplate(), stats_);
        if (!delivery) return delivery.error();
        shared_ = std::move(delivery.value());
    }
    if (options_.mode == APP_RING_TX_INTERCEPT || options_.mode == APP_RING_BYPASS) {
        if (int error = interface_.setOutputInterceptor(this); error != 0) return error;
        hookedOutput_ = true;
    }
    if (options_.mode != APP_RING_TX_INTERCEPT) {
        interface_.addInputConsumer(this, 0);
        hookedInput_ = true;
    }
    if (shared_) topUp(*shared_);
    return 0;
}

AppRing::~AppRing() {
    if (hookedInput_) interface_.removeInputConsumer(this);
    if (hookedOutput_) interface_.setOutputInterceptor(nullptr);
    if (claimedThread_) interface_.releaseSingleThread("an app ring");
    for (std::uint32_t slot = 0; slot < APP_RING_MAX_APPS; ++slot) {
        if (apps_[slot].used) detach(slot);
    }
    shared_.reset();  // returns what is still posted
    if (kickFd_ >= 0) ::close(kickFd_);
}

std::uint16_t AppRing::freshToken() const {
    for (;;) {
        std::uint16_t token = 0;
        if (getrandom(&token, sizeof token, 0) != sizeof token)
            token = static_cast<std::uint16_t>(nextOwnerId() * 40503u);
        bool taken = token == 0;
        for (const AppState& app : apps_) taken = taken || (app.used && app.consumer.token == token);
        if (!taken) return token;
    }
}

int AppRing::setUpApplication(AppState& app) {
    DmaRegion::Options options;
    options.name = "nexnet-appring-app";
    options.hugepages = false;
    auto region = DmaRegion::allocate(appSize_, options);
    if (!region) return region.error();
    app.region = std::move(region.value());
    app.ring1Fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    app.ring2Fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (app.ring1Fd < 0 || app.ring2Fd < 0) return errno;
    if (options_.privateRings) {
        auto delivery = AppRingDelivery::create(*pool_, headerTemplate(), stats_);
        if (!delivery) return delivery.error();
        app.own = std::move(delivery.value());
        app.delivery = app.own.get();
    } else {
        app.delivery = shared_.get();
    }
    return 0;
}

Result<AppRing::Application> AppRing::attach(pid_t) {
    using R = Result<Application>;
    for (std::uint32_t slot = 0; slot < APP_RING_MAX_APPS; ++slot) {
        AppState& app = apps_[slot];
        if (app.used) continue;
        if (int error = setUpApplication(app); error != 0) {
            if (app.ring1Fd >= 0) ::close(app.ring1Fd);
            if (app.ring2Fd >= 0) ::close(app.ring2Fd);
            app = AppState{};
            return R::failure(error);
        }
        app.used = true;
        used_ |= 1u << slot;
        app.consumer = AppRingDelivery::Consumer{nextOwnerId(), freshToken()};
        app.delivery->addConsumer(app.consumer);
        if (app.own) topUp(*app.own);
        Application record;
        record.slot = slot;
        record.token = app.consumer.token;
        record.ownerId = app.consumer.ownerId;
        record.postedFd = app.delivery->postedRegion().fd();
        record.takenFd = app.delivery->takenRegion().fd();
        record.appFd = app.region.fd();
        record.ring1EventFd = app.ring1Fd;
        record.ring2EventFd = app.ring2Fd;
        return record;
    }
    return R::failure(EMFILE);
}

int AppRing::detach(std::uint32_t slot) {
    if (slot >= APP_RING_MAX_APPS || !apps_[slot].used) return ENOENT;
    AppState& app = apps_[slot];
    drain(app);  // what it inserted is passed on, as if it had stayed
    app.delivery->removeConsumer(app.consumer.ownerId);
    app.own.reset();  // its own ring 1: what is still posted returns
    reclaimOwner(app.consumer.ownerId);
    ::close(app.ring1Fd);
    ::close(app.ring2Fd);
    app = AppState{};
    used_ &= ~(1u << slot);
    return 0;
}

unsigned AppRing::applicationCount() const {
    unsigned count = 0;
    for (const AppState& app : apps_) count += app.used ? 1 : 0;
    return count;
}

AppRingDelivery* AppRing::deliveryOf(std::uint32_t slot) const {
    return slot < APP_RING_MAX_APPS && apps_[slot].used ? apps_[slot].delivery : nullptr;
}

std::uint32_t AppRing::ring1Pending() const {
    if (shared_) return shared_->pending();
    std::uint32_t pending = 0;
    for (const AppState& app : apps_) pending += app.used ? app.delivery->pending() : 0;
    return pending;
}

// ---- ring 1: the network layer inserts ---------------------------------------------------------

bool AppRing::wantsInput(const Netbuf* netbuf) const {
    if (options_.mode != APP_RING_NON_NETWORK) return true;
    if (netbuf->size() < 14) return true;  // not even an Ethernet header: nothing for the network layer
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
        if (!AppRingEntry::fits(netbuf->headroom(), netbuf->size())) {
            stats_.unpostable++;
            netbuf->free();
            continue;
        }
        burst[n++] = netbuf;
        if (n == kBurst) {
            postBurst(burst, n);
            n = 0;
        }
    }
    postBurst(burst, n);
    publish();
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

// Shared rings: into the one ring 1. Private rings: shared out, each burst first to the next
// application in turn, what does not fit to the others.
void AppRing::postBurst(Netbuf** packets, unsigned count) {
    if (count == 0) return;
    unsigned done = 0;
    if (shared_) {
        done = shared_->post(packets, count);
    } else {
        for (unsigned turn = 0; turn < APP_RING_MAX_APPS && done < count; ++turn) {
            AppState& app = apps_[(nextDelivery_ + turn) % APP_RING_MAX_APPS];
            if (app.used) done += app.delivery->post(packets + done, count - done);
        }
        nextDelivery_ = (nextDelivery_ + 1) % APP_RING_MAX_APPS;
    }
    for (unsigned i = done; i < count; ++i) packets[i]->free();
    stats_.ring1Full += count - done;
}

void AppRing::publish() {
    bool moved = false;
    if (shared_) {
        moved = shared_->publish();
    } else {
        forEachApplication([&moved](AppState& app) { moved = app.own->publish() || moved; });
    }
    if (moved) wake(true);
}

void AppRing::topUp(AppRingDelivery& delivery) {
    if (options_.mode != APP_RING_NON_NETWORK) return;
    std::uint32_t pending = delivery.pending();
    std::uint32_t missing = pending < options_.minPosted ? options_.minPosted - pending : 0;
    Netbuf* burst[kBurst];
    while (missing > 0) {
        unsigned want = missing < kBurst ? missing : kBurst;
        if (pool_->allocateBulk(burst, want) != 0) break;
        unsigned posted = delivery.post(burst, want);
        for (unsigned i = posted; i < want; ++i) burst[i]->free();
        if (posted < want) break;
        missing -= want;
    }
    if (delivery.publish()) wake(true);
}

// ---- ring 2: each application inserts, the network layer removes --------------------------------

unsigned AppRing::drainAll() {
    unsigned total = 0;
    forEachApplication([this, &total](AppState& app) { total += drain(app); });
    if (total > 0) wake(false);
    return total;
}

unsigned AppRing::drain(AppState& app) {
    app_ring_app& control = app.control();
    auto* slots = reinterpret_cast<app_ring_slot*>(app.region.data() + slotsOffset_);
    std::uint32_t head = load(control.head, std::memory_order_acquire);
    std::uint32_t available = head - app.tail2;
    if (available > options_.slotCount) {  // a head it cannot have written honestly: its own loss
        stats_.invalid++;
        return 0;
    }
    if (available > kBurst * kDrainBursts) available = kBurst * kDrainBursts;  // the others get their turn
    unsigned total = 0;
    while (total < available) {
        Netbuf* burst[kBurst];
        unsigned n = 0, seen = 0;
        for (; seen < kBurst && total + seen < available; ++seen) {
            app_ring_slot slot;
            std::memcpy(&slot, &slots[(app.tail2 + seen) & (options_.slotCount - 1)],
                        sizeof slot);  // one copy: checked, then used
            Netbuf* netbuf = nullptr;
            if (accept(app, slot, netbuf) && netbuf != nullptr) burst[n++] = netbuf;
        }
        app.tail2 += seen;
        total += seen;
        dispatch(burst, n);
    }
    store(control.tail, app.tail2, std::memory_order_release);
    return total;
}

// Whether a ring-2 slot names a buffer its inserter holds, with a packet that fits the buffer;
// @p out is set when it is to be passed on (not given back).
bool AppRing::accept(AppState& app, const app_ring_slot& slot, Netbuf*& out) {
    Netbuf* netbuf = pool_->netbuf(slot.index);
    if (netbuf == nullptr) {
        stats_.invalid++;
        return false;
    }
    if (netbuf->owner() != app.consumer.ownerId && !app.delivery->chargeEarly(*netbuf, app.consumer)) {  // claims 9, 16
        stats_.refused++;
        return false;
    }
    if (netbuf->reset(slot.offset) != 0 || netbuf->setSize(slot.length) != 0) {
        stats_.invalid++;  // still the application's: it may send it again
        return false;
    }
    netbuf->offload() = NetbufOffload{};
    netbuf->setOwner(0);
    if ((slot.flags & APP_RING_SLOT_DROP) != 0) {
        netbuf->free();
        stats_.returned++;
        return true;
    }
    out = netbuf;
    return true;
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
    forEachApplication([ring1](AppState& app) {
        std::uint32_t& flag = ring1 ? app.control().wait_ring1 : app.control().wait_ring2;
        if (load(flag) == 0) return;
        store(flag, 0);
        signal(ring1 ? app.ring1Fd : app.ring2Fd);
    });
}

void AppRing::acknowledgeKick() {
    std::uint64_t kicks;
    ssize_t got = ::read(kickFd_, &kicks, sizeof kicks);
    (void)got;  // EAGAIN: no kick pending
}

unsigned AppRing::service() {
    if (shared_) shared_->reap();
    unsigned handled = drainAll();
    if (options_.mode != APP_RING_NON_NETWORK) return handled;
    if (shared_) topUp(*shared_);
    forEachApplication([this](AppState& app) {
        if (app.own) topUp(*app.own);
    });
    return handled;
}

}  // namespace nexnet
