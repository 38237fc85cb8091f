#include "sio/core/Memory.h"

#include "sio/core/Failure.h"

#include <bit>
#include <cerrno>
#include <sys/mman.h>

namespace nexnet::sio {

namespace {

// The word at a buffer's first unit:
//   bits 0-2 state, bit 3 release deferred until the sends end, bits 4-11 home association
//   slot (kNoHome: the allocator), bits 12-21 parts handed out, bits 22-31 sends in flight.
enum State : std::uint32_t { kFree = 0, kReserved = 1, kPosted = 2, kReceived = 3 };
constexpr std::uint32_t kStateMask = 0x7;
constexpr std::uint32_t kDeferred = 1u << 3;
constexpr unsigned kHomeShift = 4;
constexpr std::uint32_t kNoHome = 0xff;
constexpr unsigned kPartsShift = 12;
constexpr std::uint32_t kPartsMax = 0x3ff;
constexpr unsigned kSendsShift = 22;
constexpr std::uint32_t kSendsMax = 0x3ff;

State stateOf(std::uint32_t word) { return static_cast<State>(word & kStateMask); }
unsigned homeOf(std::uint32_t word) { return (word >> kHomeShift) & 0xff; }
std::uint32_t partsOf(std::uint32_t word) { return (word >> kPartsShift) & kPartsMax; }
std::uint32_t sendsOf(std::uint32_t word) { return word >> kSendsShift; }
std::uint32_t makeWord(State state, unsigned home, std::uint32_t parts = 0) {
    return state | home << kHomeShift | parts << kPartsShift;
}

constexpr unsigned kKnownFlags = DMA_UNIT_MASK | DMA_HUGEPAGES | DMA_NOHUGEPAGES | DMA_LOCKED;

}  // namespace

Result<std::unique_ptr<Memory>> Memory::create(std::size_t size, unsigned flags) {
    unsigned unitCode = flags & DMA_UNIT_MASK;
    if ((flags & ~kKnownFlags) != 0 || unitCode > DMA_UNIT_64K ||
        ((flags & DMA_HUGEPAGES) && (flags & DMA_NOHUGEPAGES)))
        return Result<std::unique_ptr<Memory>>::failure(EINVAL);
    std::size_t unit = std::size_t{2048} << unitCode;
    if (size < unit) return Result<std::unique_ptr<Memory>>::failure(EINVAL);
    DmaRegion::Options options;
    options.name = "nexnet-sio";
    options.hugepages = (flags & DMA_NOHUGEPAGES) == 0;
    options.requireHugepages = (flags & DMA_HUGEPAGES) != 0;
    options.lock = true;
    auto region = DmaRegion::allocate(size, options);
    if (!region) return Result<std::unique_ptr<Memory>>::failure(region.error());
    if ((flags & DMA_LOCKED) && !region->isLocked()) {
        // Say why, with mlock's own errno.
        int error = mlock(region->data(), region->size()) == 0 ? 0 : errno;
        if (error != 0) return Result<std::unique_ptr<Memory>>::failure(error);
    }
    auto allocator = SioAllocator::create(size, unit);
    if (!allocator) return Result<std::unique_ptr<Memory>>::failure(allocator.error());
    return std::unique_ptr<Memory>(new Memory(std::move(region.value()), std::move(allocator.value()), size));
}

Memory::Memory(DmaRegion region, std::unique_ptr<SioAllocator> allocator, std::size_t size)
    : region_(std::move(region)),
      allocator_(std::move(allocator)),
      size_(size),
      unitShift_(static_cast<std::size_t>(std::countr_zero(allocator_->unit()))),
      words_(new std::atomic<std::uint32_t>[allocator_->units()]) {
    for (std::size_t u = 0; u < allocator_->units(); ++u) words_[u].store(0, std::memory_order_relaxed);
}

bool Memory::contains(const void* p, std::size_t length) const {
    auto byte = static_cast<const std::uint8_t*>(p);
    std::size_t end = units() << unitShift_;
    return byte >= base() && byte < base() + end && length <= static_cast<std::size_t>(base() + end - byte);
}

int Memory::reserve(void** memp, std::size_t size) {
    if (memp == nullptr) return fail(EINVAL, "sio_reserve: memp is NULL");
    auto offset = allocator_->reserve(size);
    if (!offset) {
        if (offset.error() == EINVAL)
            return fail(EINVAL, "sio_reserve: size %zu is 0 or larger than the memory (%zu bytes)", size,
                        units() << unitShift_);
        return fail(ENOMEM, "sio_reserve: no %zu contiguous free bytes (%zu of %zu units free)", size,
                    allocator_->freeUnits(), units());
    }
    words_[*offset >> unitShift_].store(makeWord(kReserved, kNoHome), std::memory_order_release);
    *memp = base() + *offset;
    return 0;
}

int Memory::release(void* mem, std::size_t size) {
    if (!contains(mem, 1)) return fail(EINVAL, "sio_release: %p is not inside this memory", mem);
    auto offset = static_cast<std::size_t>(static_cast<std::uint8_t*>(mem) - base());
    auto allocation = allocator_->allocationAt(offset);
    if (!allocation)
        return fail(EINVAL, "sio_release: %p is not in use (never reserved or received, or released already)", mem);
    if (size == 0 || offset + size > allocation->offset + allocation->size)
        return fail(EINVAL, "sio_release: %zu bytes at %p run past the buffer's end (or are 0)", size, mem);
    return releaseAt(allocation->offset >> unitShift_);
}

int Memory::releaseAt(std::size_t first) {
    std::atomic<std::uint32_t>& slot = words_[first];
    std::uint32_t word = slot.load(std::memory_order_acquire);
    for (;;) {
        State state = stateOf(word);
        if (state == kFree) return fail(EINVAL, "sio_release: the buffer was released already");
        if (state == kPosted) return fail(EBUSY, "sio_release: the buffer is posted for receiving: the kernel owns it");
        if (word & kDeferred)
            return fail(EINVAL, "sio_release: the buffer was released already (it waits for a send to end)");
        std::uint32_t next;
        if (state == kReceived && partsOf(word) > 1) {
            next = word - (1u << kPartsShift);  // other parts of a stream read are still out
        } else if (sendsOf(word) > 0) {
            next = word | kDeferred;  // the kernel still reads it: release on its notification
        } else {
            next = makeWord(kFree, kNoHome);
        }
        if (slot.compare_exchange_weak(word, next, std::memory_order_acq_rel)) {
            if (stateOf(next) == kFree) finishRelease(first, word);
            return 0;
        }
    }
}

void Memory::finishRelease(std::size_t first, std::uint32_t word) {
    if (stateOf(word) == kReceived && homeOf(word) != kNoHome) {
        recycle(first, homeOf(word));
        return;
    }
    auto allocation = allocator_->allocationAt(first << unitShift_);
    if (allocation) allocator_->release(allocation->offset, allocation->size);
}

void Memory::recycle(std::size_t first, unsigned home) {
    std::uintptr_t socket = slots_[home].load(std::memory_order_acquire);
    // Posted before the socket hands it to the kernel, which may fill it at once.
    words_[first].store(makeWord(kPosted, home), std::memory_order_release);
    if (socket != 0 && recycleTo(socket, *this, first)) return;
    words_[first].store(makeWord(kFree, kNoHome), std::memory_order_release);
    allocator_->release(first << unitShift_, unit());
}

std::size_t Memory::takeReceiveUnits(unsigned slot, std::size_t count, std::uint32_t* units) {
    std::size_t n = 0;
    while (n < count) {
        auto offset = allocator_->reserve(unit());
        if (!offset) break;
        std::size_t u = *offset >> unitShift_;
        words_[u].store(makeWord(kPosted, slot), std::memory_order_release);
        units[n++] = static_cast<std::uint32_t>(u);
    }
    return n;
}

void Memory::markReceived(std::size_t unit) {
    std::uint32_t word = words_[unit].load(std::memory_order_acquire);
    words_[unit].store(makeWord(kReceived, homeOf(word), 1), std::memory_order_release);
}

void Memory::addPart(std::size_t unit) {
    std::uint32_t word = words_[unit].load(std::memory_order_acquire);
    while (partsOf(word) < kPartsMax &&
           !words_[unit].compare_exchange_weak(word, word + (1u << kPartsShift), std::memory_order_acq_rel)) {
    }
}

bool Memory::isPosted(std::size_t unit, unsigned slot) const {
    std::uint32_t word = words_[unit].load(std::memory_order_acquire);
    return stateOf(word) == kPosted && homeOf(word) == slot;
}

void Memory::unpost(std::size_t unit) {
    words_[unit].store(makeWord(kFree, kNoHome), std::memory_order_release);
    allocator_->release(unit << unitShift_, this->unit());
}

void Memory::releaseUnit(std::size_t unit) { releaseAt(unit); }

bool Memory::returnToPool(std::size_t unit, bool keep) {
    std::atomic<std::uint32_t>& slot = words_[unit];
    std::uint32_t word = slot.load(std::memory_order_acquire);
    for (;;) {
        if (stateOf(word) != kReceived) return false;
        std::uint32_t next;
        bool posted = false;
        if (partsOf(word) > 1) {
            next = word - (1u << kPartsShift);
        } else if (sendsOf(word) > 0) {
            next = word | kDeferred;
        } else if (keep) {
            next = makeWord(kPosted, homeOf(word));
            posted = true;
        } else {
            next = makeWord(kFree, kNoHome);
        }
        if (slot.compare_exchange_weak(word, next, std::memory_order_acq_rel)) {
            if (stateOf(next) == kFree) allocator_->release(unit << unitShift_, this->unit());
            return posted;
        }
    }
}

long Memory::checkSendable(const void* p, std::size_t length) const {
    if (length == 0 || !contains(p, length))
        return fail(EINVAL, "send: %zu bytes at %p are not inside the associated memory", length, p);
    auto offset = static_cast<std::size_t>(static_cast<const std::uint8_t*>(p) - base());
    auto allocation = allocator_->allocationAt(offset);
    if (!allocation || offset + length > allocation->offset + allocation->size)
        return fail(EINVAL, "send: %zu bytes at %p are not one buffer from sio_reserve or sio_recv", length, p);
    std::size_t first = allocation->offset >> unitShift_;
    std::uint32_t word = words_[first].load(std::memory_order_acquire);
    if ((stateOf(word) != kReserved && stateOf(word) != kReceived) || (word & kDeferred))
        return fail(EINVAL, "send: the buffer at %p is not the program's (posted for receiving, or released)", p);
    return static_cast<long>(first);
}

long Memory::beginSend(const void* p, std::size_t length) {
    long first = checkSendable(p, length);
    if (first < 0) return first;
    std::atomic<std::uint32_t>& slot = words_[first];
    std::uint32_t word = slot.load(std::memory_order_acquire);
    do {
        if (sendsOf(word) == kSendsMax)
            return fail(EBUSY, "send: %u zero-copy sends from one buffer at once", kSendsMax);
        if ((stateOf(word) != kReserved && stateOf(word) != kReceived) || (word & kDeferred))
            return fail(EINVAL, "send: the buffer at %p was released meanwhile", p);
    } while (!slot.compare_exchange_weak(word, word + (1u << kSendsShift), std::memory_order_acq_rel));
    sendsInFlight_.fetch_add(1, std::memory_order_relaxed);
    return first;
}

void Memory::endSend(std::size_t unit) {
    std::atomic<std::uint32_t>& slot = words_[unit];
    std::uint32_t word = slot.load(std::memory_order_acquire);
    std::uint32_t next;
    do {
        next = word - (1u << kSendsShift);
        if (sendsOf(next) == 0 && (next & kDeferred)) next = makeWord(kFree, kNoHome);
    } while (!slot.compare_exchange_weak(word, next, std::memory_order_acq_rel));
    sendsInFlight_.fetch_sub(1, std::memory_order_release);
    if (stateOf(next) == kFree) finishRelease(unit, word);
}

int Memory::addAssociation(std::uintptr_t socketHandle) {
    std::lock_guard<std::mutex> lock(slotsMutex_);
    for (unsigned i = 0; i < kSlots; ++i) {
        if (slots_[i].load(std::memory_order_relaxed) == 0) {
            slots_[i].store(socketHandle, std::memory_order_release);
            associations_.fetch_add(1, std::memory_order_acq_rel);
            return static_cast<int>(i);
        }
    }
    return fail(ENOSPC, "dma_assoc: the memory is associated with %u sockets already", kSlots);
}

void Memory::removeAssociation(unsigned slot) {
    std::lock_guard<std::mutex> lock(slotsMutex_);
    slots_[slot].store(0, std::memory_order_release);
    associations_.fetch_sub(1, std::memory_order_acq_rel);
}

int Memory::info(struct dma_info& info) const {
    info.di_addr = base();
    info.di_size = size_;
    info.di_unit = unit();
    info.di_free = allocator_->freeUnits() << unitShift_;
    info.di_page_size = region_.pageSize();
    info.di_hugepages = region_.usesHugepages() ? 1 : 0;
    info.di_locked = region_.isLocked() ? 1 : 0;
    info.di_associations = associations();
    return 0;
}

}  // namespace nexnet::sio
