#pragma once
/// @file ReceiveRefill.h
/// @brief ReceiveRefill: the fresh netbufs one receive burst puts into a ring in place of the frames it takes.

#include "netbuf/Netbuf.h"
#include "netbuf/NetbufPool.h"

namespace nexnet {

/// The replacement netbufs of one receive burst of a VFIO driver: taken from the pool in one bulk
/// get (the thread cache) when the pool has them all, one at a time when it does not, so a nearly
/// exhausted pool still refills what it can; those the burst did not use go back to the pool when
/// this object is destroyed. A ring slot whose frame cannot be replaced keeps its netbuf, emptied:
/// the frame is dropped and the ring never loses a buffer.
///
/// Lives on the stack of receiveBurst, on the queue's thread; nothing here allocates or locks.
/// The netbuf array is the caller's (a local of kMaxBurst entries): were it a member, its address
/// handed to the pool would make the compiler keep this object's counters in memory, not registers.
class ReceiveRefill {
public:
    /// Most netbufs one burst replaces.
    static constexpr unsigned kMaxBurst = 64;

    /// Takes @p count (1 to kMaxBurst) netbufs from @p pool into @p fresh (an array of at least
    /// @p count entries that outlives this object), in one bulk get if the pool has them all.
    ReceiveRefill(NetbufPool& pool, Netbuf** fresh, unsigned count)
        : pool_(pool), fresh_(fresh), count_(count), bulk_(pool.allocateBulk(fresh, count) == 0) {}
    /// Returns the netbufs not used.
    ~ReceiveRefill() {
        if (bulk_ && taken_ < count_) pool_.freeBulk(fresh_ + taken_, count_ - taken_);
    }
    ReceiveRefill(const ReceiveRefill&) = delete;
    ReceiveRefill& operator=(const ReceiveRefill&) = delete;

    /// Puts a fresh netbuf into @p slot and returns the one it held (the received frame, now the
    /// caller's). When the pool has none left, leaves @p slot's netbuf there, emptied for the next
    /// frame, and returns nullptr: the caller reports a receive drop.
    Netbuf* exchange(Netbuf*& slot) {
        Netbuf* fresh = bulk_ ? fresh_[taken_++] : pool_.allocate();
        if (fresh == nullptr) [[unlikely]] {
            slot->reset(pool_.headroom());
            return nullptr;
        }
        Netbuf* received = slot;
        slot = fresh;
        return received;
    }

private:
    NetbufPool& pool_;
    Netbuf** const fresh_;
    const unsigned count_;
    unsigned taken_ = 0;
    const bool bulk_;
};

}  // namespace nexnet
