#pragma once
/// @file HandleTable.h
/// @brief HandleTable: the objects behind C handles (ec_t, dma_mem_t) and descriptors, found
/// without a lock and refused once destroyed.

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <sched.h>
#include <vector>

namespace nexnet::sio {

/// A fixed table of objects named by handles that C callers hold (an integer in a pointer).
///
/// A handle carries the slot index and the slot's generation, so a handle kept after its object
/// was destroyed (or a made-up one) is refused instead of reaching freed or reused memory.
/// A call holds a Ref while it uses an object; destroy() makes the slot refuse new Refs, waits
/// for the Refs taken before to go, then deletes the object. Taking and dropping a Ref is one
/// atomic add each, no lock.
template <typename T>
class HandleTable {
    // Slot state: generation (high 32 bits) | open (bit 31) | Refs held (bits 0-30).
    static constexpr std::uint64_t kOpen = 1ull << 31;
    static constexpr std::uint64_t kUsers = kOpen - 1;
    struct Slot {
        std::atomic<std::uint64_t> state{0};
        std::unique_ptr<T> object;
    };

public:
    /// A use of one object; empty when the handle was refused.
    class Ref {
    public:
        /// An empty Ref.
        Ref() = default;
        /// Takes over @p other's use.
        Ref(Ref&& other) noexcept : slot_(other.slot_) { other.slot_ = nullptr; }
        /// Ends its use, takes over @p other's.
        Ref& operator=(Ref&& other) noexcept {
            if (this != &other) {
                drop();
                slot_ = other.slot_;
                other.slot_ = nullptr;
            }
            return *this;
        }
        Ref(const Ref&) = delete;
        Ref& operator=(const Ref&) = delete;
        /// Ends the use.
        ~Ref() { drop(); }
        /// True when the handle named a live object.
        explicit operator bool() const { return slot_ != nullptr; }
        /// The object.
        T* operator->() const { return slot_->object.get(); }
        /// The object.
        T& operator*() const { return *slot_->object; }
        /// The object, or nullptr.
        T* get() const { return slot_ != nullptr ? slot_->object.get() : nullptr; }

    private:
        friend class HandleTable;
        explicit Ref(Slot* slot) : slot_(slot) {}
        void drop() {
            if (slot_ != nullptr) slot_->state.fetch_sub(1, std::memory_order_release);
            slot_ = nullptr;
        }
        Slot* slot_ = nullptr;
    };

    /// A table of @p slots slots (at most 2^24).
    explicit HandleTable(std::size_t slots) : slots_(slots) {
        free_.reserve(slots);
        for (std::size_t i = slots; i > 0; --i) free_.push_back(i - 1);
    }

    /// Stores @p object. @return its handle (never 0), or 0 when the table is full.
    std::uintptr_t insert(std::unique_ptr<T> object) {
        std::size_t index;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (free_.empty()) return 0;
            index = free_.back();
            free_.pop_back();
        }
        Slot& slot = slots_[index];
        slot.object = std::move(object);
        // Stale handles may be counting themselves in and out of this slot right now: keep
        // their counts, change only the generation and the open bit.
        std::uint64_t state = slot.state.load(std::memory_order_relaxed);
        std::uint64_t generation;
        do {
            generation = ((state >> 32) + 1) & 0xffffffffu;
        } while (!slot.state.compare_exchange_weak(state, generation << 32 | kOpen | (state & kUsers),
                                                   std::memory_order_acq_rel));
        return static_cast<std::uintptr_t>(generation << 24 | (index + 1));
    }

    /// A Ref to the object @p handle names; empty when it names none (never made, destroyed).
    Ref acquire(std::uintptr_t handle) {
        std::size_t index = (handle & 0xffffff) - 1;
        if ((handle & 0xffffff) == 0 || index >= slots_.size()) return Ref();
        Slot& slot = slots_[index];
        std::uint64_t expected = (static_cast<std::uint64_t>(handle >> 24) << 32) | kOpen;
        std::uint64_t state = slot.state.fetch_add(1, std::memory_order_acquire);
        if ((state & ~kUsers) != expected) {
            slot.state.fetch_sub(1, std::memory_order_release);
            return Ref();
        }
        return Ref(&slot);
    }

    /// Destroys the object @p handle names: new acquire() calls fail, @p closing runs (it must
    /// make blocked users of the object return), then, once every Ref is gone, the object is
    /// deleted. @return 0, or EBADF when the handle names no object.
    template <typename Closing>
    int destroy(std::uintptr_t handle, Closing closing) {
        Slot* slot = close(handle);
        if (slot == nullptr) return EBADF;
        closing(*slot->object);
        waitForRefs(*slot);
        free(*slot);
        return 0;
    }

    /// Destroys the object @p handle names if, once no call uses it any more, @p mayDestroy
    /// still agrees; otherwise the object stays. Checked with new uses held off, so nothing can
    /// change the answer between the check and the destruction.
    /// @return 0, EBADF when the handle names no object, or the errno @p mayDestroy returned.
    template <typename MayDestroy>
    int destroyIf(std::uintptr_t handle, MayDestroy mayDestroy) {
        Slot* slot = close(handle);
        if (slot == nullptr) return EBADF;
        waitForRefs(*slot);
        if (int refused = mayDestroy(*slot->object); refused != 0) {
            slot->state.fetch_or(kOpen, std::memory_order_release);
            return refused;
        }
        free(*slot);
        return 0;
    }

    /// Calls @p visit for every live object (slow path: statistics, mode changes).
    template <typename Visit>
    void forEach(Visit visit) {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            std::uint64_t state = slots_[i].state.load(std::memory_order_acquire);
            if ((state & kOpen) == 0) continue;
            Ref ref = acquire(static_cast<std::uintptr_t>(((state >> 32) & 0xffffffffu) << 24 | (i + 1)));
            if (ref) visit(*ref);
        }
    }

    /// Live objects (a snapshot).
    std::size_t size() {
        std::lock_guard<std::mutex> lock(mutex_);
        return slots_.size() - free_.size();
    }

private:
    // Clears the open bit of the slot @p handle names: new acquire() calls fail from now on.
    // @return the slot, or nullptr when the handle names no open object.
    Slot* close(std::uintptr_t handle) {
        std::size_t index = (handle & 0xffffff) - 1;
        if ((handle & 0xffffff) == 0 || index >= slots_.size()) return nullptr;
        Slot& slot = slots_[index];
        std::uint64_t open = (static_cast<std::uint64_t>(handle >> 24) << 32) | kOpen;
        std::uint64_t state = slot.state.load(std::memory_order_acquire);
        do {
            if ((state & ~kUsers) != open) return nullptr;
        } while (!slot.state.compare_exchange_weak(state, state & ~kOpen, std::memory_order_acq_rel));
        return &slot;
    }
    // Waits for the Refs taken before close() to go (calls in progress: short).
    static void waitForRefs(Slot& slot) {
        while ((slot.state.load(std::memory_order_acquire) & kUsers) != 0) sched_yield();
    }
    // Deletes the object and gives the slot back.
    void free(Slot& slot) {
        slot.object.reset();
        std::lock_guard<std::mutex> lock(mutex_);
        free_.push_back(static_cast<std::size_t>(&slot - slots_.data()));
    }

    std::vector<Slot> slots_;
    std::mutex mutex_;
    std::vector<std::size_t> free_;
};

}  // namespace nexnet::sio
