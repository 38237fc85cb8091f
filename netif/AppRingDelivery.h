#pragma once
/// @file AppRingDelivery.h
/// @brief AppRingDelivery: the framework's side of one ring 1 (app_ring.h): posting, learning who
/// removed what, the hand-over from one consumer to several, taking abandoned entries back.

#include "netbuf/DmaRegion.h"
#include "netbuf/NetbufPool.h"
#include "netbuf/Result.h"
#include "netif/AppRingEntry.h"
#include "netif/app_ring.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace nexnet {

/// Counters of an interface's rings; drops and errors never pass silently.
struct AppRingStatistics {
    std::uint64_t inserted = 0;   ///< Entries inserted into ring 1.
    std::uint64_t removed = 0;    ///< Entries removed from ring 2 and passed on.
    std::uint64_t returned = 0;   ///< Ring-2 entries flagged APP_RING_SLOT_DROP: buffers given back.
    std::uint64_t ring1Full = 0;  ///< Frames dropped because ring 1 had no room.
    std::uint64_t unpostable =
        0;  ///< Frames dropped because a ring-1 entry cannot describe them (offset from 32 KiB, length from 128 KiB).
    std::uint64_t copied = 0;       ///< Frames copied in from another pool.
    std::uint64_t bypassDrops = 0;  ///< Network-layer output dropped in bypass mode.
    std::uint64_t invalid = 0;      ///< Corrupt cursors, claims or ring-2 entries read from shared memory.
    std::uint64_t refused = 0;      ///< Ring-2 entries naming a buffer the inserter does not hold.
    std::uint64_t abandoned = 0;    ///< Ring-1 entries removed and never claimed, taken back when ring 1 needed room.
    std::uint64_t reclaimed = 0;    ///< Buffers returned from applications that ended or unmapped.
};

/// A fresh owner id for Netbuf::setOwner, unique in this process (for rings and applications).
std::uint32_t nextAppRingOwnerId();

/// One ring 1: the posted region (entries and head; read-only for applications) and the taken
/// region (removal cursors and claims; read-write for the applications removing from it), with
/// the framework's private cursors that everything read back is checked against.
///
/// While one consumer removes, everything before its single_tail is its own. A second consumer
/// makes the ring shared for good (handOver(), AppRingHandOver.cpp): everything posted so far
/// becomes the first consumer's, and from then on each removal carries a claim. What an
/// application removed and never claimed (it died, or lies) is taken back when the ring needs
/// room, by the same CAS on the claim word that an application's claim makes: whoever decides a
/// position first holds it, so an application never keeps a packet the framework took back.
///
/// Each buffer records its holder with Netbuf::setOwner: ringOwnerId() while posted, a
/// consumer's owner id once it is known to hold it. The owner of AppRing calls everything on the
/// interface's event-loop thread.
class AppRingDelivery {
public:
    /// An application removing from this ring.
    struct Consumer {
        std::uint32_t ownerId = 0;  ///< Stored in the buffers it holds.
        std::uint16_t token = 0;    ///< Its claim token (nonzero).
    };

    /// Makes the regions; @p header is copied into the posted region with this ring's offsets.
    /// Errors: ENOMEM or the errno of memfd.
    static Result<std::unique_ptr<AppRingDelivery>> create(NetbufPool& pool, const app_ring_header& header,
                                                           AppRingStatistics& statistics);
    /// Returns every buffer still posted in the ring to the pool.
    ~AppRingDelivery();
    AppRingDelivery(const AppRingDelivery&) = delete;
    AppRingDelivery& operator=(const AppRingDelivery&) = delete;

    /// Inserts up to @p count netbufs of the pool (not yet published), making room when needed.
    /// @return how many it took, from the first; the caller keeps the rest.
    unsigned post(Netbuf* const* packets, unsigned count);
    /// Publishes what post() inserted. @return whether the head moved (applications to wake).
    bool publish();
    /// Records who removed each entry, as far as it is known.
    void reap();
    /// A buffer @p consumer inserted into its ring 2 before reap() learnt that it holds it (another
    /// application's claim not yet written holds the in-order reaping back): records it from the
    /// consumer's claim. @return whether the buffer is the consumer's now.
    bool chargeEarly(Netbuf& netbuf, const Consumer& consumer);

    /// Adds a consumer; the second one hands the ring over to shared removal.
    void addConsumer(const Consumer& consumer);
    /// Removes a consumer (after what it inserted into ring 2 was taken): records what it removed,
    /// takes back entries nobody claimed. Its buffers stay marked with its owner id for the caller
    /// to reclaim.
    void removeConsumer(std::uint32_t ownerId);

    /// Entries posted and not yet removed.
    std::uint32_t pending() const;
    /// Whether ring 1 has been handed over to several consumers.
    bool shared() const { return shared_; }
    /// The id stored in buffers posted and not yet removed.
    std::uint32_t ringOwnerId() const { return ringId_; }
    /// The posted region (the framework's read-write descriptor: hand applications a read-only copy).
    const DmaRegion& postedRegion() const { return posted_; }
    /// The taken region.
    const DmaRegion& takenRegion() const { return taken_; }

private:
    AppRingDelivery(NetbufPool& pool, AppRingStatistics& statistics) : pool_(pool), stats_(statistics) {}
    int setUp(const app_ring_header& header);
    app_ring_posted& posted() const { return *reinterpret_cast<app_ring_posted*>(posted_.data()); }
    app_ring_taken& taken() const { return *reinterpret_cast<app_ring_taken*>(taken_.data()); }
    std::uint64_t& entry(std::uint32_t position) const;
    std::uint64_t& claim(std::uint32_t position) const;
    const Consumer* consumer(std::uint16_t token) const;
    std::uint32_t room() const;
    void makeRoom(unsigned wanted);
    bool sharedTail(std::uint32_t& tail) const;
    void reapSingle();
    void reapClaims();
    void repairTail(std::uint32_t seen);
    bool takeBackOldest();
    void takeBackUnclaimed();
    void charge(std::uint32_t position, std::uint32_t ownerId);
    void giveBack(std::uint32_t position);
    // AppRingHandOver.cpp
    void handOver();
    void followDomain();
    void releaseDomain();

    NetbufPool& pool_;
    AppRingStatistics& stats_;
    DmaRegion posted_;
    DmaRegion taken_;
    std::uint32_t slots_ = 0;
    std::uint32_t mask_ = 0;
    std::uint32_t ringId_ = 0;
    // Private cursors: the truth the shared ones are checked against.
    std::uint32_t head1_ = 0;  // next position to fill
    std::uint32_t reap1_ = 0;  // first position whose holder is not yet recorded
    std::vector<Consumer> consumers_;
    bool shared_ = false;
    // The single consumer's entries at the hand-over: [domainFloor_, domainEnd_) not yet removed.
    bool domainActive_ = false;
    std::uint32_t domainFloor_ = 0;
    std::uint32_t domainEnd_ = 0;
    std::uint32_t domainOwner_ = 0;
    std::vector<std::uint8_t> early_;      // per slot: recorded by chargeEarly, skipped by reap
    std::vector<std::uint32_t> postedAt_;  // per buffer index: its position while posted
};

}  // namespace nexnet
