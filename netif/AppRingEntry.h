#pragma once
/// @file AppRingEntry.h
/// @brief AppRingEntry and AppRingClaim: ring-1 entries and claims of app_ring.h, each read and
/// written as one 64-bit word.

#include "netif/app_ring.h"

#include <atomic>
#include <bit>
#include <cstdint>

namespace nexnet {

/// One ring-1 entry (app_ring_entry) as both sides of the rings see it. Entries live in shared
/// memory as 64-bit words and are always read and written whole, so neither side can see half of
/// an entry the other is writing.
struct AppRingEntry {
    std::uint32_t index = 0;  ///< Netbuf index.
    std::uint32_t place = 0;  ///< APP_RING_PLACE(offset, length).

    /// An entry for a packet of @p length bytes at @p offset in buffer @p index.
    static AppRingEntry packet(std::uint32_t index, std::uint32_t offset, std::uint32_t length) {
        return AppRingEntry{index, APP_RING_PLACE(offset, length)};
    }
    /// Whether an offset and length fit in an entry.
    static bool fits(std::uint32_t offset, std::uint32_t length) { return offset <= 0x7fffu && length <= 0x1ffffu; }

    /// The entry in the shared word @p word.
    static AppRingEntry load(const std::uint64_t& word, std::memory_order order = std::memory_order_relaxed) {
        return fromWord(std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(word)).load(order));
    }
    /// Writes this entry into the shared word @p word.
    void store(std::uint64_t& word, std::memory_order order = std::memory_order_relaxed) const {
        std::atomic_ref<std::uint64_t>(word).store(toWord(), order);
    }

    /// The word as laid out in memory (app_ring_entry: index first).
    std::uint64_t toWord() const { return std::uint64_t{index} | std::uint64_t{place} << 32; }
    /// The entry a word holds.
    static AppRingEntry fromWord(std::uint64_t word) {
        return AppRingEntry{static_cast<std::uint32_t>(word), static_cast<std::uint32_t>(word >> 32)};
    }

    /// Where the packet starts in its buffer.
    std::uint32_t offset() const { return APP_RING_PLACE_OFFSET(place); }
    /// Packet bytes (0: an empty buffer).
    std::uint32_t length() const { return APP_RING_PLACE_LENGTH(place); }

    static_assert(std::endian::native == std::endian::little, "app_ring_entry is index first in the 64-bit word");
};

/// One claim word (app_ring_claim): who took the ring-1 entry at a position (shared consumers).
/// A claim decides its position only when its position field is that position, so a word left
/// from an earlier lap of the ring (or any scribble naming another position) decides nothing;
/// the first CAS that writes a matching word wins, whether an application's or the framework's.
struct AppRingClaim {
    std::uint32_t position = 0;  ///< The position it decides.
    std::uint16_t token = 0;     ///< The claimer's token; 0: taken back by the framework.
    std::uint16_t count = 0;     ///< Entries claimed from position; 0: inside an earlier run.

    /// Whether this word decides @p at.
    bool decides(std::uint32_t at) const { return position == at; }

    /// The claim in the shared word @p word.
    static AppRingClaim load(const std::uint64_t& word, std::memory_order order = std::memory_order_acquire) {
        return fromWord(std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(word)).load(order));
    }
    /// Writes this claim with a plain store (the rest of a run whose first position was won).
    void store(std::uint64_t& word) const {
        std::atomic_ref<std::uint64_t>(word).store(toWord(), std::memory_order_release);
    }
    /// Writes this claim into @p word if the word still decides nothing for our position.
    /// @return true when this claim decided it; false when someone else did, or when the word
    /// kept changing under a scribbler (the position then stays for the framework to take back).
    bool decide(std::uint64_t& word) const {
        std::atomic_ref<std::uint64_t> shared(word);
        std::uint64_t old = shared.load(std::memory_order_acquire);
        for (int attempt = 0; attempt < 64; ++attempt) {
            if (fromWord(old).decides(position)) return false;
            if (shared.compare_exchange_weak(old, toWord(), std::memory_order_acq_rel, std::memory_order_acquire))
                return true;
        }
        return false;
    }

    /// The word as laid out in memory (app_ring_claim: position first).
    std::uint64_t toWord() const {
        return std::uint64_t{position} | std::uint64_t{token} << 32 | std::uint64_t{count} << 48;
    }
    /// The claim a word holds.
    static AppRingClaim fromWord(std::uint64_t word) {
        return AppRingClaim{static_cast<std::uint32_t>(word), static_cast<std::uint16_t>(word >> 32),
                            static_cast<std::uint16_t>(word >> 48)};
    }
};

}  // namespace nexnet
