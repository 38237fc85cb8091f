#pragma once
/// @file AppRing.h
/// @brief AppRing: the network layer's side of one interface's application rings (app-rings seed).

#include "netbuf/DmaRegion.h"
#include "netbuf/NetbufPool.h"
#include "netbuf/Result.h"
#include "netif/InputConsumer.h"
#include "netif/AppRingEntry.h"
#include "netif/OutputInterceptor.h"
#include "netif/app_ring.h"

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace nexnet {

class NetworkInterface;

/// One interface's ring 1 (network layer inserts, applications remove) and ring 2 (applications
/// insert, network layer removes), in a memfd shared with the applications that map them. The
/// layout is drawn in app_ring.h.
///
/// Where the rings sit depends on the mode:
/// - APP_RING_RX_INTERCEPT (claim 1): an InputConsumer at priority 0 takes every received frame
///   into ring 1 before any protocol sees it; what applications insert into ring 2 is offered to
///   the consumers above priority 0 as received (NetworkInterface::injectInput).
/// - APP_RING_TX_INTERCEPT (claim 17): the interface's OutputInterceptor takes everything the
///   network layer outputs into ring 1; ring 2 is transmitted (NetworkInterface::outputInterceptedBurst).
/// - APP_RING_BYPASS (claim 19): every received frame goes to ring 1, the network layer's own
///   output is dropped (counted), ring 2 is transmitted: the network layer processes nothing.
/// - APP_RING_NON_NETWORK (claims 6-8): received frames that are not IPv4, IPv6 or ARP go to
///   ring 1, which also always holds at least minPosted empty buffers for the application to
///   fill; ring 2 is transmitted.
///
/// Ring 1 has a single consumer while one application maps the rings: it removes with plain
/// stores and everything it removed is known to be its own, the cheapest form of the ring.
/// When a second application maps them, the rings become shared for good: applications remove
/// with CAS and write a claim over each entry they took (app_ring.h draws the hand-over).
///
/// Netbufs are shared by index with the interface's driver pool (zero copy); a frame from another
/// pool is copied into it (counted). Each buffer records its holder with Netbuf::setOwner: the
/// ring's own id while posted in ring 1, the application's owner id once it removed it (claims
/// 9, 10), 0 once it is back in the framework. detach() returns every buffer an application held
/// (claim 11); destroying the AppRing returns all of them.
///
/// Shared memory is untrusted: every cursor, index, offset, length and owner token read back is
/// checked against the framework's private state; what fails is skipped and counted in
/// Statistics::invalid or Statistics::refused, never followed.
///
/// Single-threaded: every method runs on the interface's event-loop thread. Made and destroyed
/// by AppRingServer (create-if-absent, destroy on last unmap); tests may use it directly.
class AppRing : public InputConsumer, public OutputInterceptor {
public:
    /// How the rings are made.
    struct Options {
        app_ring_mode mode = APP_RING_RX_INTERCEPT;  ///< What the rings carry.
        std::uint32_t slotCount = 1024;  ///< Slots per ring, a power of two, 32 to 65536.
        std::uint32_t minPosted = 64;    ///< Non-network mode: empty buffers kept in ring 1 (< slotCount; other modes ignore it).
    };

    /// Counters; drops and errors never pass silently.
    struct Statistics {
        std::uint64_t inserted = 0;    ///< Entries inserted into ring 1.
        std::uint64_t removed = 0;     ///< Entries removed from ring 2 and passed on.
        std::uint64_t returned = 0;    ///< Ring-2 entries flagged APP_RING_SLOT_DROP: buffers given back.
        std::uint64_t ring1Full = 0;   ///< Frames dropped because ring 1 had no room.
        std::uint64_t unpostable = 0;  ///< Frames dropped because a ring-1 entry cannot describe them (offset from 32 KiB, length from 128 KiB).
        std::uint64_t copied = 0;      ///< Frames copied in from another pool.
        std::uint64_t bypassDrops = 0; ///< Network-layer output dropped in bypass mode.
        std::uint64_t invalid = 0;     ///< Corrupt entries or cursors read from shared memory.
        std::uint64_t refused = 0;     ///< Ring-2 entries naming a buffer the inserter does not own.
        std::uint64_t skipped = 0;     ///< Ring-2 reservations a dead application left unfinished.
        std::uint64_t reclaimed = 0;   ///< Buffers returned from applications that ended or unmapped.
    };

    /// What an application receives when it maps the rings.
    struct Application {
        std::uint32_t slot = 0;     ///< Its entry in the app table.
        std::uint32_t token = 0;    ///< Its secret owner token (written into ring-2 slots and shared ring-1 claims).
        std::uint32_t ownerId = 0;  ///< The id stored in the buffers it holds (Netbuf::owner).
        int ring1EventFd = -1;      ///< Signalled when ring 1 gets entries (owned by the AppRing).
        int ring2EventFd = -1;      ///< Signalled when ring 2 gets room (owned by the AppRing).
    };

    /// Makes the rings for @p interface and hooks them into it according to the mode.
    /// Errors: EINVAL (bad options), EBUSY (the interface has another output interceptor),
    /// ENOMEM or the errno of memfd/eventfd.
    static Result<std::unique_ptr<AppRing>> create(NetworkInterface& interface, const Options& options);
    /// Unhooks from the interface and returns every buffer posted or held by applications.
    ~AppRing() override;
    AppRing(const AppRing&) = delete;
    AppRing& operator=(const AppRing&) = delete;

    /// Maps the rings for the application with process id @p pid (claims 2, 17, 19).
    /// @return its Application record, or EMFILE when APP_RING_MAX_APPS are attached.
    Result<Application> attach(pid_t pid);
    /// Unmaps application @p slot: takes what it inserted into ring 2, then returns every
    /// buffer it still holds to the pool (claims 3, 11). @return 0 or ENOENT.
    int detach(std::uint32_t slot);
    /// Applications attached.
    unsigned applicationCount() const;

    /// Reaps ring 1, removes and passes on ring 2, tops up posted buffers, wakes waiters.
    /// Called when an application kicks (AppRingServer does) or from a poller.
    /// @return the number of entries handled.
    unsigned service();

    /// Clears the kick eventfd (level-triggered in the event loop): call before service() when
    /// woken by it. A poll-mode caller of service() need not.
    void acknowledgeKick();

    /// The ring region's memfd (hand it to applications read-write).
    int regionFd() const { return region_.fd(); }
    /// Bytes of the ring region.
    std::size_t regionSize() const { return region_.size(); }
    /// The eventfd applications write after inserting into ring 2.
    int kickEventFd() const { return kickFd_; }
    /// The pool whose buffers the rings carry (the driver's).
    NetbufPool& pool() const { return *pool_; }
    /// The mode.
    app_ring_mode mode() const { return options_.mode; }
    /// The interface.
    NetworkInterface& interface() const { return interface_; }
    /// Counters.
    const Statistics& statistics() const { return stats_; }
    /// The id stored in buffers posted in ring 1 and not yet claimed.
    std::uint32_t ringOwnerId() const { return ringId_; }
    /// Entries in ring 1 not yet removed by any application.
    std::uint32_t ring1Pending() const;
    /// Whether ring 1 is (or is becoming) shared by several applications.
    bool sharedConsumers() const { return consumers_ != Consumers::single; }

    /// A fresh owner id, unique in this process (for rings and applications).
    static std::uint32_t nextOwnerId();

    // InputConsumer
    void consumeInput(NetworkInterface& interface, unsigned queue, Netbuf** packets, unsigned count) override;
    // OutputInterceptor
    void interceptOutput(NetworkInterface& interface, Netbuf** packets, unsigned count) override;

private:
    enum class Consumers {
        single,    // one application removes with plain stores; everything before tail is its own
        toShared,  // a second one mapped the rings: waiting for the single one's answer
        shared,    // applications remove with CAS and claim what they took
    };
    struct AppState {
        bool used = false;
        std::uint32_t token = 0;
        std::uint32_t ownerId = 0;
        int ring1Fd = -1;
        int ring2Fd = -1;
    };

    AppRing(NetworkInterface& interface, const Options& options);
    int setUp();
    app_ring_shared& shared() const { return *reinterpret_cast<app_ring_shared*>(region_.data()); }
    std::uint64_t* entries1() const { return reinterpret_cast<std::uint64_t*>(region_.data() + ring1Offset_); }
    app_ring_slot* slots2() const { return reinterpret_cast<app_ring_slot*>(region_.data() + ring2Offset_); }
    bool wantsInput(const Netbuf* netbuf) const;
    Netbuf* intoPool(Netbuf* netbuf);
    unsigned postBurst(Netbuf** packets, unsigned count);
    void publishRing1();
    void reap();
    void recordRange(std::uint32_t end, const AppState& app);
    void reapClaims(std::uint32_t tail);
    bool ring1Tail(std::uint32_t& tail) const;
    bool settleSharing(std::uint32_t& tail);
    void beginSharing();
    void becomeShared();
    unsigned drainRing2();
    void dispatch(Netbuf** packets, unsigned count);
    void topUp();
    AppState* applicationWithToken(std::uint32_t token);
    void claimUnmarked(std::uint32_t token);
    bool recordClaim(Netbuf& netbuf, const AppState& app);
    void skipUnfinished();
    void reclaimOwner(std::uint32_t ownerId);
    void wake(bool ring1);

    NetworkInterface& interface_;
    Options options_;
    std::shared_ptr<NetbufPool> pool_;
    DmaRegion region_;
    std::uint32_t ring1Offset_ = 0;
    std::uint32_t ring2Offset_ = 0;
    std::uint32_t mask_ = 0;
    std::uint32_t ringId_ = 0;
    int kickFd_ = -1;
    bool hookedInput_ = false;
    bool hookedOutput_ = false;
    // Private cursors: the truth the shared ones are checked against.
    std::uint32_t head1_ = 0;   // next ring-1 slot to fill
    std::uint32_t reap1_ = 0;   // first ring-1 slot whose remover is not yet recorded
    std::uint32_t tail2_ = 0;   // next ring-2 slot to remove
    std::vector<AppRingEntry> shadow1_;  // the entry the framework put in each ring-1 slot
    Consumers consumers_ = Consumers::single;
    std::uint32_t soleApp_ = APP_RING_MAX_APPS;  // the single consumer's app slot (none: MAX)
    AppState apps_[APP_RING_MAX_APPS];
    Statistics stats_;
};

}  // namespace nexnet
