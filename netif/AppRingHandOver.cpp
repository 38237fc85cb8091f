// AppRingDelivery: the hand-over from one consumer of ring 1 to several (app_ring.h).
//
// While one application removes, it does so with plain stores and no claims, which is why it is
// the cheapest consumer. Nothing it does can be checked against a second consumer's removals,
// so the hand-over asks nothing of it: when a second application maps the rings, every entry
// posted so far becomes the first one's (it may have removed them already; the rest it removes
// from its own single_tail, up to shared_from), and the others start at shared_from at once. An
// application that lies about, or never comes back for, its entries therefore keeps only its own
// entries and keeps nobody waiting. Its slots stay out of use until it has removed them, or until
// ring 1 needs room: then domain_released tells it that the slots it had not removed are reused.
#include "netif/AppRingDelivery.h"

#include <atomic>

namespace nexnet {

namespace {

std::uint32_t load(const std::uint32_t& word, std::memory_order order = std::memory_order_relaxed) {
    return std::atomic_ref<std::uint32_t>(const_cast<std::uint32_t&>(word)).load(order);
}
void store(std::uint32_t& word, std::uint32_t value, std::memory_order order = std::memory_order_relaxed) {
    std::atomic_ref<std::uint32_t>(word).store(value, order);
}

}  // namespace

void AppRingDelivery::handOver() {
    reapSingle();  // what the single consumer stored so far
    const Consumer& first = consumers_.front();
    std::uint32_t from = head1_;
    domainFloor_ = reap1_;
    domainEnd_ = from;
    domainOwner_ = first.ownerId;
    domainActive_ = domainFloor_ != domainEnd_;
    for (; reap1_ != from; ++reap1_) charge(reap1_, first.ownerId);
    shared_ = true;
    store(taken().tail, from);
    store(posted().shared_from, from);
    store(posted().domain_released, 0);
    // Release: a consumer that sees SHARED sees shared_from and the tail it starts from.
    store(posted().consumers, APP_RING_CONSUMERS_SHARED, std::memory_order_release);
}

// How far the single consumer has removed its entries (its own word: a lie only costs it).
void AppRingDelivery::followDomain() {
    std::uint32_t tail = load(taken().single_tail, std::memory_order_acquire);
    if (tail - domainFloor_ <= domainEnd_ - domainFloor_) domainFloor_ = tail;
    if (domainFloor_ == domainEnd_) domainActive_ = false;
}

void AppRingDelivery::releaseDomain() {
    // Stored before any of its slots is reused (post() stores entries with release): a consumer
    // that copied a reused slot sees this flag when it checks after the copy.
    store(posted().domain_released, 1, std::memory_order_seq_cst);
    domainActive_ = false;
}

}  // namespace nexnet
