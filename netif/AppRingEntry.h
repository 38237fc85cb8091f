#pragma once
/// @file AppRingEntry.h
/// @brief AppRingEntry: a ring-1 entry of app_ring.h, read and written as one 64-bit word.

#include "netif/app_ring.h"

#include <atomic>
#include <bit>
#include <cstdint>

namespace nexnet {

/// One ring-1 entry (app_ring_entry) as both sides of the rings see it. Entries live in shared
/// memory as 64-bit words and are always read and written whole, so neither side can see half of
/// an entry the other is writing.
struct AppRingEntry {
    std::uint32_t index = 0;  ///< Netbuf index, or the claimer's token when claimed().
    std::uint32_t place = 0;  ///< APP_RING_PLACE(offset, length) or APP_RING_CLAIMED.

    /// An entry for a packet of @p length bytes at @p offset in buffer @p index.
    static AppRingEntry packet(std::uint32_t index, std::uint32_t offset, std::uint32_t length) {
        return AppRingEntry{index, APP_RING_PLACE(offset, length)};
    }
    /// The claim an application with @p token writes over an entry it removed (shared consumers).
    static AppRingEntry claim(std::uint32_t token) { return AppRingEntry{token, APP_RING_CLAIMED}; }
    /// Whether an offset and length fit in an entry (and cannot be mistaken for a claim).
    static bool fits(std::uint32_t offset, std::uint32_t length) { return offset < 0x7fffu && length <= 0x1ffffu; }

    /// The entry in the shared word @p word.
    static AppRingEntry load(std::uint64_t& word, std::memory_order order = std::memory_order_relaxed) {
        return fromWord(std::atomic_ref<std::uint64_t>(word).load(order));
    }
    /// Writes this entry into the shared word @p word.
    void store(std::uint64_t& word, std::memory_order order = std::memory_order_relaxed) const {
        std::atomic_ref<std::uint64_t>(word).store(toWord(), order);
    }
    /// Replaces @p expected in @p word with this entry if the word still holds it.
    bool replace(std::uint64_t& word, const AppRingEntry& expected) const {
        std::uint64_t old = expected.toWord();
        return std::atomic_ref<std::uint64_t>(word).compare_exchange_strong(old, toWord(), std::memory_order_acq_rel);
    }

    /// The word as laid out in memory (app_ring_entry: index first).
    std::uint64_t toWord() const { return std::uint64_t{index} | std::uint64_t{place} << 32; }
    /// The entry a word holds.
    static AppRingEntry fromWord(std::uint64_t word) {
        return AppRingEntry{static_cast<std::uint32_t>(word), static_cast<std::uint32_t>(word >> 32)};
    }

    /// Whether an application claimed this entry (index is then its token).
    bool claimed() const { return place == APP_RING_CLAIMED; }
    /// Where the packet starts in its buffer.
    std::uint32_t offset() const { return APP_RING_PLACE_OFFSET(place); }
    /// Packet bytes (0: an empty buffer).
    std::uint32_t length() const { return APP_RING_PLACE_LENGTH(place); }

    static_assert(std::endian::native == std::endian::little, "app_ring_entry is index first in the 64-bit word");
    static_assert(sizeof(app_ring_entry) == sizeof(std::uint64_t), "a ring-1 entry is one 64-bit word");
};

}  // namespace nexnet
