#pragma once
/// @file PoolMemory.h
/// @brief PoolMemory: the dma_mem_t of a nexnet endpoint, the netbuf pools its driver and stack
/// receive into, and which netbufs the program holds.

#include "netbuf/NetbufLender.h"
#include "netbuf/Result.h"
#include "sio/core/HandleTable.h"
#include "sio/dma.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace nexnet {
class Netbuf;
class NetbufPool;
}  // namespace nexnet

namespace nexnet::sio {

/// The memory of a nexnet endpoint seen through the dma_* calls: the netbuf pools of its
/// interface (the driver's, and the reassembly pool a datagram made of fragments lives in).
///
/// Every netbuf of those pools has one atomic word here saying whether the program holds it
/// (a receive returned it, sio_reserve made it), whether a send of it is in flight, and whether
/// a release waits for that send. So a release of a netbuf the program does not hold is refused
/// (EINVAL), and a release during a send takes effect when the driver frees the send.
///
/// A send hands the driver the program's netbuf itself, with its device address (a VFIO NIC reads
/// the payload where sio_reserve or the receive put it): the netbuf is lent (NetbufPool::lend), and
/// when the driver frees it, it comes back here (netbufReturned) and stays the program's until
/// sio_release. No allocation, no copy. A buffer that is not in the pools is refused (EINVAL, as
/// the kernel-socket transport refuses memory not associated with the socket: a silent copy would
/// hide that the program's data is not where zero-copy needs it). A netbuf can be in one transmit
/// ring at a time: a second send of it while the first is in flight goes out in a copy (a netbuf of
/// the driver's pool, counted in copiedSends()), as does a send from a pool that cannot lend.
/// Every method may be called from any thread.
class PoolMemory : public NetbufLender {
public:
    /// Handles of pool memories carry this bit, so the dma_* calls tell them from dma_alloc's.
    static constexpr std::uintptr_t kTag = std::uintptr_t{1} << 63;
    /// True when @p handle names a pool memory.
    static bool isHandle(std::uintptr_t handle) { return (handle & kTag) != 0; }
    /// The table of pool memories (handles without kTag).
    static HandleTable<PoolMemory>& table();

    /// The memory of @p pool (the driver's), shared with the driver while the endpoint lives.
    explicit PoolMemory(std::shared_ptr<NetbufPool> pool);
    /// Ends the memory (releaseAll ran first and the interface is gone: every netbuf is back in
    /// its pool); the pools no longer lend to it.
    ~PoolMemory() override;
    PoolMemory(const PoolMemory&) = delete;
    PoolMemory& operator=(const PoolMemory&) = delete;

    /// The handle the program holds (kTag set).
    std::uintptr_t handle() const { return handle_; }
    /// Set once, when the memory enters table().
    void setHandle(std::uintptr_t handle) { handle_ = handle; }

    /// sio_reserve: a netbuf of the driver's pool with @p size bytes of payload room after the
    /// headroom; its payload address goes to @p memp. @return 0, or -1 with errno (EINVAL,
    /// ENOMEM: larger than a netbuf, or the pool is exhausted).
    int reserve(void** memp, std::size_t size);
    /// sio_release of the netbuf holding @p p. @return 0, or -1 with errno (EINVAL: not in the
    /// pools, not held by the program, or @p size past the buffer's end).
    int release(void* p, std::size_t size);
    /// dma_getinfo: the driver pool's data region.
    int info(dma_info& info) const;

    /// A receive hands @p netbuf to the program. Never fails: a netbuf of a pool not seen before
    /// makes that pool known (once per pool).
    void hold(Netbuf* netbuf);
    /// Starts a send of the @p length bytes at @p p, which must lie in a netbuf the program
    /// holds, at least @p headroom bytes after the buffer's start: that netbuf, lent, its data()
    /// at @p p and its size @p length (or a copy, see the class).
    /// @return the netbuf to send (the send ends when it is freed), or nullptr with errno
    /// (EINVAL: not in the pools, not held, no headroom, past the end; ENOBUFS: no netbuf for a copy).
    Netbuf* beginSend(const void* p, std::size_t length, std::size_t headroom);
    /// NetbufLender: a sent netbuf came back from the driver (any thread).
    void netbufReturned(Netbuf* netbuf) override;
    /// Sends that went out in a copy (a second send of a netbuf in flight, a pool that cannot lend).
    std::uint64_t copiedSends() const { return copiedSends_.load(std::memory_order_relaxed); }
    /// The pool the driver receives into.
    NetbufPool& driverPool() const { return *driverPool_; }
    /// sio_close, once the interface's thread has stopped and before the interface (and the
    /// stack's pools) end: every netbuf the program still holds goes back to its pool, and sends
    /// still in the driver's hands end without touching them.
    void releaseAll();
    /// True when @p p lies in one of the pools.
    bool contains(const void* p) const;

private:
    struct Tracked {
        NetbufPool* pool = nullptr;
        std::shared_ptr<NetbufPool> kept;  // held while tracked: it lends to this memory; null: cannot lend
        std::unique_ptr<std::atomic<std::uint32_t>[]> states;
    };
    static constexpr std::uint32_t kHeld = 1;            // the program holds it
    static constexpr std::uint32_t kReleasePending = 2;  // released while its send was in flight
    static constexpr std::uint32_t kSending = 4;         // lent to the driver: a send is in flight

    std::atomic<std::uint32_t>* stateOf(const void* p, Netbuf** netbuf) const;
    Tracked* trackedOf(const Netbuf* netbuf);
    std::atomic<std::uint32_t>& track(Netbuf* netbuf);
    Netbuf* copyForSend(const void* p, std::size_t length);

    static constexpr unsigned kPools = 4;
    std::shared_ptr<NetbufPool> driverPool_;
    Tracked pools_[kPools];
    std::atomic<unsigned> poolCount_{0};
    std::mutex addLock_;
    std::atomic<std::uint32_t> untracked_{0};
    std::atomic<std::uint64_t> copiedSends_{0};
    std::uintptr_t handle_ = 0;
};

}  // namespace nexnet::sio
