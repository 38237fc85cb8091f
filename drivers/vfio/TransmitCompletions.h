#pragma once
/// @file TransmitCompletions.h
/// @brief TransmitCompletions: netbufs a device finished sending, freed to their own pools in runs.

#include "netbuf/Netbuf.h"
#include "netbuf/NetbufPool.h"

namespace nexnet {

/// What a VFIO driver's transmit-ring cleaning collects: the netbufs the device reported sent,
/// freed each to its own pool (a forwarded netbuf belongs to the driver that received it) up to
/// kBatch at a time, the rest when this object is destroyed. Lives on the stack of the cleaning
/// loop, on the transmit queue's thread; nothing here allocates or locks.
class TransmitCompletions {
public:
    /// Most netbufs held before they are freed.
    static constexpr unsigned kBatch = 64;

    TransmitCompletions() = default;
    TransmitCompletions(const TransmitCompletions&) = delete;
    TransmitCompletions& operator=(const TransmitCompletions&) = delete;
    /// Frees what is still held.
    ~TransmitCompletions() { flush(); }

    /// Takes @p netbuf, which the device has finished with.
    void add(Netbuf* netbuf) {
        done_[count_++] = netbuf;
        if (count_ == kBatch) flush();
    }
    /// Frees everything held, runs of one pool in bulk (NetbufPool::freeToOwners).
    void flush() {
        if (count_ == 0) return;
        NetbufPool::freeToOwners(done_, count_);
        count_ = 0;
    }

private:
    Netbuf* done_[kBatch];
    unsigned count_ = 0;
};

}  // namespace nexnet
