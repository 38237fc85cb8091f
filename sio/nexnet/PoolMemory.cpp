#include "sio/nexnet/PoolMemory.h"

#include "netbuf/Netbuf.h"
#include "netbuf/NetbufPool.h"
#include "sio/core/Failure.h"

#include <cerrno>

namespace nexnet::sio {

HandleTable<PoolMemory>& PoolMemory::table() {
    static HandleTable<PoolMemory> memories(256);
    return memories;
}

PoolMemory::PoolMemory(std::shared_ptr<NetbufPool> pool) : driverPool_(std::move(pool)) {
    pools_[0].pool = driverPool_.get();
    pools_[0].kept = driverPool_;
    pools_[0].states = std::make_unique<std::atomic<std::uint32_t>[]>(driverPool_->capacity());
    driverPool_->setLender(this);
    poolCount_.store(1, std::memory_order_release);
}

PoolMemory::~PoolMemory() {
    for (unsigned p = 0; p < poolCount_.load(std::memory_order_acquire); ++p)
        if (pools_[p].kept) pools_[p].kept->setLender(nullptr);
}

void PoolMemory::releaseAll() {
    for (unsigned p = 0; p < poolCount_.load(std::memory_order_acquire); ++p) {
        Tracked& tracked = pools_[p];
        for (std::uint32_t i = 0; i < tracked.pool->capacity(); ++i) {
            std::atomic<std::uint32_t>& state = tracked.states[i];
            std::uint32_t word = state.load(std::memory_order_acquire), next;
            do {
                // A netbuf in the driver's hands goes back to its pool when the driver frees it.
                next = (word & kSending) != 0 ? kSending | kReleasePending : 0;
            } while (!state.compare_exchange_weak(word, next, std::memory_order_acq_rel));
            if (next == 0 && (word & kHeld) != 0) tracked.pool->netbuf(i)->free();
        }
    }
}

std::atomic<std::uint32_t>* PoolMemory::stateOf(const void* p, Netbuf** netbuf) const {
    unsigned count = poolCount_.load(std::memory_order_acquire);
    for (unsigned i = 0; i < count; ++i) {
        if (Netbuf* nb = pools_[i].pool->netbufContaining(p)) {
            *netbuf = nb;
            return &pools_[i].states[nb->index()];
        }
    }
    return nullptr;
}

PoolMemory::Tracked* PoolMemory::trackedOf(const Netbuf* netbuf) {
    unsigned count = poolCount_.load(std::memory_order_acquire);
    for (unsigned i = 0; i < count; ++i)
        if (pools_[i].pool->id() == netbuf->poolId()) return &pools_[i];
    return nullptr;
}

std::atomic<std::uint32_t>& PoolMemory::track(Netbuf* netbuf) {
    if (Tracked* tracked = trackedOf(netbuf)) return tracked->states[netbuf->index()];
    std::lock_guard<std::mutex> lock(addLock_);
    if (Tracked* tracked = trackedOf(netbuf)) return tracked->states[netbuf->index()];
    // The driver's pool, the stack's reassembly and large pools: kPools is room enough. A pool
    // beyond them is not tracked (its netbufs' releases are refused; never seen in practice).
    unsigned count = poolCount_.load(std::memory_order_acquire);
    if (count == kPools) return untracked_;
    Tracked& tracked = pools_[count];
    tracked.pool = NetbufPool::fromId(netbuf->poolId());
    tracked.states = std::make_unique<std::atomic<std::uint32_t>[]>(tracked.pool->capacity());
    // A pool owned by a shared_ptr (the stack's) is kept until this memory ends, so it can lend
    // to it; another one's netbufs are sent in copies.
    tracked.kept = tracked.pool->weak_from_this().lock();
    if (tracked.kept) tracked.kept->setLender(this);
    poolCount_.store(count + 1, std::memory_order_release);
    return tracked.states[netbuf->index()];
}

bool PoolMemory::contains(const void* p) const {
    Netbuf* netbuf;
    return stateOf(p, &netbuf) != nullptr;
}

void PoolMemory::hold(Netbuf* netbuf) { track(netbuf).store(kHeld, std::memory_order_release); }

int PoolMemory::reserve(void** memp, std::size_t size) {
    if (memp == nullptr || size == 0)
        return fail(EINVAL, "sio_reserve: %s", memp == nullptr ? "memp is NULL" : "size 0");
    Netbuf* netbuf = driverPool_->allocate();
    if (netbuf == nullptr) return fail(ENOMEM, "sio_reserve: the interface's pool has no free netbuf");
    if (size > netbuf->tailroom()) {
        std::uint32_t room = netbuf->tailroom();
        netbuf->free();
        return fail(ENOMEM,
                    "sio_reserve: %zu bytes do not fit in a netbuf of the interface's pool (%u after the headroom)",
                    size, room);
    }
    hold(netbuf);
    *memp = netbuf->data();
    return 0;
}

int PoolMemory::release(void* p, std::size_t size) {
    Netbuf* netbuf;
    std::atomic<std::uint32_t>* state = stateOf(p, &netbuf);
    if (state == nullptr) return fail(EINVAL, "sio_release: %p is not in the interface's pool", p);
    auto* end = netbuf->buffer() + netbuf->capacity();
    if (size == 0 || size > static_cast<std::size_t>(end - static_cast<std::uint8_t*>(p)))
        return fail(EINVAL, "sio_release: %zu bytes at %p run past the netbuf's end", size, p);
    std::uint32_t word = state->load(std::memory_order_acquire), next;
    do {
        if ((word & kHeld) == 0)
            return fail(EINVAL, "sio_release: %p is not held by the program (released already?)", p);
        next = (word & kSending) != 0 ? kSending | kReleasePending : 0;
    } while (!state->compare_exchange_weak(word, next, std::memory_order_acq_rel));
    if (next == 0) netbuf->free();  // else netbufReturned frees it when the driver is done
    return 0;
}

Netbuf* PoolMemory::beginSend(const void* p, std::size_t length, std::size_t headroom) {
    Netbuf* netbuf;
    std::atomic<std::uint32_t>* state = stateOf(p, &netbuf);
    if (state == nullptr) {
        fail(EINVAL,
             "sio_send: %p is not in the interface's pool: a nexnet endpoint sends from buffers of sio_reserve "
             "or a receive, without a copy",
             p);
        return nullptr;
    }
    auto offset = static_cast<std::size_t>(static_cast<const std::uint8_t*>(p) - netbuf->buffer());
    if (offset < headroom || length > netbuf->capacity() - offset) {
        fail(EINVAL, "sio_send: %zu bytes at offset %zu of a netbuf: %s", length, offset,
             offset < headroom ? "no headroom for the headers" : "past its end");
        return nullptr;
    }
    Tracked* tracked = trackedOf(netbuf);
    std::uint32_t word = state->load(std::memory_order_acquire);
    do {
        if ((word & kHeld) == 0) {
            fail(EINVAL, "sio_send: %p is not a buffer the program holds (released already?)", p);
            return nullptr;
        }
        // The netbuf is in a transmit ring already (or its pool cannot lend): a copy goes instead.
        if ((word & kSending) != 0 || tracked == nullptr || !tracked->kept) return copyForSend(p, length);
    } while (!state->compare_exchange_weak(word, word | kSending, std::memory_order_acq_rel));
    tracked->pool->lend(netbuf);
    netbuf->reset(static_cast<std::uint32_t>(offset));
    netbuf->setSize(static_cast<std::uint32_t>(length));
    return netbuf;
}

Netbuf* PoolMemory::copyForSend(const void* p, std::size_t length) {
    Netbuf* copy = driverPool_->allocate();
    if (copy == nullptr) {
        fail(ENOBUFS, "sio_send: the buffer is being sent already, and the interface's pool has no netbuf for a copy");
        return nullptr;
    }
    if (copy->append(p, static_cast<std::uint32_t>(length)) != 0) {
        copy->free();
        fail(EMSGSIZE, "sio_send: the buffer is being sent already, and %zu bytes do not fit a netbuf for a copy",
             length);
        return nullptr;
    }
    copiedSends_.fetch_add(1, std::memory_order_relaxed);
    return copy;
}

void PoolMemory::netbufReturned(Netbuf* netbuf) {
    Tracked* tracked = trackedOf(netbuf);
    if (tracked == nullptr) {  // never lent by this memory: nothing to keep it for
        netbuf->free();
        return;
    }
    std::atomic<std::uint32_t>& state = tracked->states[netbuf->index()];
    std::uint32_t word = state.load(std::memory_order_acquire), next;
    do {
        next = (word & kReleasePending) != 0 ? 0 : word & ~kSending;
    } while (!state.compare_exchange_weak(word, next, std::memory_order_acq_rel));
    if (next == 0 && (word & kHeld) == 0) netbuf->free();  // released meanwhile (or sio_close)
}

int PoolMemory::info(dma_info& info) const {
    const DmaRegion& region = driverPool_->dataRegion();
    info = dma_info{};
    info.di_addr = region.data();
    info.di_size = region.size();
    info.di_unit = driverPool_->bufferSize();
    info.di_free = static_cast<std::size_t>(driverPool_->available()) * driverPool_->bufferSize();
    info.di_page_size = region.pageSize();
    info.di_hugepages = region.usesHugepages();
    info.di_locked = region.isLocked();
    info.di_associations = 1;
    return 0;
}

}  // namespace nexnet::sio
