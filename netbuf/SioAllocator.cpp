#include "netbuf/SioAllocator.h"

#include <bit>
#include <cerrno>

namespace nexnet {

namespace {

constexpr std::size_t kWordBits = 64;

/// Bits @p first .. @p first + @p count - 1 of a word (count 1..64, first + count <= 64).
std::uint64_t maskOf(std::size_t first, std::size_t count) {
    std::uint64_t ones = count == kWordBits ? ~0ull : (1ull << count) - 1;
    return ones << first;
}

}  // namespace

Result<std::unique_ptr<SioAllocator>> SioAllocator::create(std::size_t size, std::size_t unit) {
    if (unit == 0 || !std::has_single_bit(unit) || size < unit || size / unit > UINT32_MAX)
        return Result<std::unique_ptr<SioAllocator>>::failure(EINVAL);
    return std::unique_ptr<SioAllocator>(new SioAllocator(size / unit, unit));
}

SioAllocator::SioAllocator(std::size_t units, std::size_t unit)
    : unit_(unit),
      unitShift_(static_cast<std::size_t>(std::countr_zero(unit))),
      units_(units),
      words_((units + kWordBits - 1) / kWordBits),
      bits_(new std::atomic<std::uint64_t>[words_]),
      lengths_(new std::atomic<std::uint32_t>[units]) {
    for (std::size_t w = 0; w < words_; ++w) bits_[w].store(0, std::memory_order_relaxed);
    for (std::size_t u = 0; u < units_; ++u) lengths_[u].store(0, std::memory_order_relaxed);
    // Bits past the last unit stay set, so no search ever hands them out.
    if (std::size_t tail = units_ % kWordBits; tail != 0)
        bits_[words_ - 1].store(~maskOf(0, tail), std::memory_order_relaxed);
}

bool SioAllocator::isUsed(std::size_t unit) const {
    return (bits_[unit / kWordBits].load(std::memory_order_acquire) >> (unit % kWordBits)) & 1;
}

Result<std::size_t> SioAllocator::reserve(std::size_t size) {
    if (size == 0 || size > units_ * unit_) return Result<std::size_t>::failure(EINVAL);
    std::size_t count = (size + unit_ - 1) >> unitShift_;
    Result<std::size_t> first = count == 1 ? reserveOne() : reserveRun(count);
    if (!first) return first;
    used_.fetch_add(count, std::memory_order_relaxed);
    // Published last: until this store the allocation cannot be released (release reads it).
    lengths_[*first].store(static_cast<std::uint32_t>(count), std::memory_order_release);
    return *first << unitShift_;
}

Result<std::size_t> SioAllocator::reserveOne() {
    std::size_t start = hint_.load(std::memory_order_relaxed) % words_;
    for (std::size_t i = 0; i < words_; ++i) {
        std::size_t w = (start + i) % words_;
        std::uint64_t word = bits_[w].load(std::memory_order_relaxed);
        while (word != ~0ull) {
            std::size_t bit = static_cast<std::size_t>(std::countr_one(word));
            if (bits_[w].compare_exchange_weak(word, word | (1ull << bit), std::memory_order_acq_rel)) {
                hint_.store(w, std::memory_order_relaxed);
                return w * kWordBits + bit;
            }
        }
    }
    return Result<std::size_t>::failure(ENOMEM);
}

Result<std::size_t> SioAllocator::reserveRun(std::size_t count) {
    // Runs are searched one at a time; single units may still come and go meanwhile, which
    // takeRun notices (its compare-and-swap fails) and the search goes on past them.
    std::lock_guard<std::mutex> lock(runs_);
    std::size_t run = 0;
    for (std::size_t u = 0; u < units_; ++u) {
        if (isUsed(u)) {
            run = 0;
            continue;
        }
        if (++run < count) continue;
        std::size_t first = u + 1 - count;
        if (takeRun(first, count)) return first;
        run = 0;
    }
    return Result<std::size_t>::failure(ENOMEM);
}

bool SioAllocator::takeRun(std::size_t first, std::size_t count) {
    std::size_t done = 0;
    while (done < count) {
        std::size_t u = first + done;
        std::size_t bit = u % kWordBits;
        std::size_t n = std::min(count - done, kWordBits - bit);
        std::uint64_t mask = maskOf(bit, n);
        std::uint64_t word = bits_[u / kWordBits].load(std::memory_order_relaxed);
        bool taken = false;
        while ((word & mask) == 0 && !taken)
            taken = bits_[u / kWordBits].compare_exchange_weak(word, word | mask, std::memory_order_acq_rel);
        if (!taken) {
            clearRun(first, done);  // give back what this attempt took
            return false;
        }
        done += n;
    }
    return true;
}

void SioAllocator::clearRun(std::size_t first, std::size_t count) {
    std::size_t done = 0;
    while (done < count) {
        std::size_t u = first + done;
        std::size_t bit = u % kWordBits;
        std::size_t n = std::min(count - done, kWordBits - bit);
        bits_[u / kWordBits].fetch_and(~maskOf(bit, n), std::memory_order_acq_rel);
        done += n;
    }
}

std::size_t SioAllocator::startOf(std::size_t unit) const {
    // Units after the first of an allocation have length 0; walk back to the one that has one.
    while (unit > 0 && lengths_[unit].load(std::memory_order_acquire) == 0 && isUsed(unit - 1)) --unit;
    return unit;
}

Result<SioAllocator::Allocation> SioAllocator::allocationAt(std::size_t offset) const {
    std::size_t unit = offset >> unitShift_;
    if (unit >= units_ || !isUsed(unit)) return Result<Allocation>::failure(EINVAL);
    std::size_t first = startOf(unit);
    std::size_t length = lengths_[first].load(std::memory_order_acquire);
    if (length == 0 || unit >= first + length) return Result<Allocation>::failure(EINVAL);
    return Allocation{first << unitShift_, length << unitShift_};
}

int SioAllocator::release(std::size_t offset, std::size_t size) {
    Result<Allocation> allocation = allocationAt(offset);
    if (!allocation || size == 0 || offset + size > allocation->offset + allocation->size) return EINVAL;
    std::size_t first = allocation->offset >> unitShift_;
    std::uint32_t length = static_cast<std::uint32_t>(allocation->size >> unitShift_);
    // The one step two racing releases of the same allocation cannot both win.
    if (!lengths_[first].compare_exchange_strong(length, 0, std::memory_order_acq_rel)) return EINVAL;
    clearRun(first, length);
    used_.fetch_sub(length, std::memory_order_relaxed);
    return 0;
}

}  // namespace nexnet
