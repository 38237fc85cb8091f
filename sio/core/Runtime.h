#pragma once
/// @file Runtime.h
/// @brief Runtime: the process-wide state behind the C API (channels, memories, sockets, mode).

#include "sio/core/Channel.h"
#include "sio/core/HandleTable.h"
#include "sio/core/Memory.h"

#include <shared_mutex>
#include <vector>

namespace nexnet::sio {

/// The tables that turn the C API's handles into objects: event channels (ec_t), DMA memories
/// (dma_mem_t). Made on first use, never destroyed (objects still in them at exit are the
/// program's, as open descriptors are).
class Runtime {
public:
    /// The one instance.
    static Runtime& instance();

    /// Event channels by ec_t.
    HandleTable<Channel>& channels() { return channels_; }
    /// DMA memories by dma_mem_t.
    HandleTable<Memory>& memories() { return memories_; }

    /// Records a memory's address range for findMemory (dma_alloc).
    void addRange(std::uintptr_t handle, const void* start, std::size_t bytes);
    /// Forgets it (dma_free).
    void removeRange(std::uintptr_t handle);
    /// The handle of the memory holding @p p, or 0.
    std::uintptr_t findMemory(const void* p);

    /// The handle value of an ec_t.
    static std::uintptr_t handleOf(ec_t ec) { return reinterpret_cast<std::uintptr_t>(ec); }
    /// The handle value of a dma_mem_t.
    static std::uintptr_t handleOf(dma_mem_t mem) { return reinterpret_cast<std::uintptr_t>(mem); }

private:
    struct Range {
        std::uintptr_t handle;
        const std::uint8_t* start;
        std::size_t bytes;
    };
    Runtime() = default;
    std::shared_mutex rangesLock_;
    std::vector<Range> ranges_;
    HandleTable<Channel> channels_{4096};
    HandleTable<Memory> memories_{4096};
};

}  // namespace nexnet::sio
