#pragma once
/// @file SystemMemory.h
/// @brief SystemMemory: how much memory the machine can still give, the bound every pool a user
/// asks for is checked against.

#include "netbuf/Result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace nexnet {

/// The memory the machine can give a process now: /proc/meminfo's MemAvailable and free
/// hugepages, and the process's RLIMIT_MEMLOCK.
///
/// A pool's memory is populated and locked when it is made (DmaRegion: MAP_POPULATE, mlock), so
/// a pool larger than what is available does not fail later and politely: it pushes the machine
/// into swap or the OOM killer while it is being made (`null:,pool=100000000` took memory at
/// 1 GB/s). NetbufPool::create checks every pool against fits() first and refuses one that cannot
/// fit, with a message saying how much it needs and how much there is.
///
/// RLIMIT_MEMLOCK bounds what an unprivileged process may lock: a pool above it is still made,
/// unlocked (DmaRegion::isLocked says so), since only DMA needs locked pages.
struct SystemMemory {
    std::uint64_t available = UINT64_MAX;  ///< MemAvailable in bytes (UINT64_MAX when unknown).
    std::uint64_t hugepagesFree = 0;       ///< Free hugepages, in bytes.
    std::uint64_t lockLimit = UINT64_MAX;  ///< RLIMIT_MEMLOCK in bytes (UINT64_MAX: unlimited).

    /// The machine and process now: reads /proc/meminfo and getrlimit. A value it cannot read
    /// stays at its default (unknown: nothing is refused for it). Control path only.
    static SystemMemory now();
    /// Reads @p meminfo text (the format of /proc/meminfo) into a SystemMemory: what now() does,
    /// apart for tests.
    static SystemMemory fromMeminfo(std::string_view meminfo);

    /// Whether @p bytes of @p what ("a pool of 100000000 netbufs") can be had: from free hugepages
    /// when @p hugepages allows them, else from available memory. @return success, or ENOMEM with
    /// a message naming both amounts.
    Status fits(std::uint64_t bytes, bool hugepages, const std::string& what) const;

    /// @p bytes for a person: "512 B", "3.1 KiB", "209.5 GiB".
    static std::string format(std::uint64_t bytes);
};

}  // namespace nexnet
