#pragma once
/// @file AppRing.h
/// @brief AppRing: the network layer's side of one interface's application rings (app-rings seed).

#include "netbuf/DmaRegion.h"
#include "netbuf/NetbufPool.h"
#include "netbuf/Result.h"
#include "netif/InputConsumer.h"
#include "netif/AppRingDelivery.h"
#include "netif/OutputInterceptor.h"
#include "netif/app_ring.h"

#include <sys/types.h>

#include <bit>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nexnet {

class NetworkInterface;

/// One interface's rings: ring 1 (network layer inserts, applications remove) and each
/// application's ring 2 (it inserts, the network layer removes), in memfds shared with the
/// applications that map them. The layout is drawn in app_ring.h.
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
/// Shared rings (the default): every application removes from one ring 1 (AppRingDelivery: one
/// consumer removes with plain stores; from the second on, with CAS and claims). Private rings
/// (Options::privateRings): each application gets a ring 1 of its own, and the frames are shared
/// out between them, so that no application can read another's claims or take its entries.
///
/// Netbufs are shared by index with the interface's driver pool (zero copy); a frame from another
/// pool is copied into it (counted). Each buffer records its holder with Netbuf::setOwner: the
/// ring's id while posted in ring 1, the application's owner id once it removed it (claims
/// 9, 10), 0 once it is back in the framework. detach() returns every buffer an application held
/// (claim 11); destroying the AppRing returns all of them.
///
/// Shared memory is untrusted: every cursor, index, offset, length and claim read back is checked
/// against the framework's private state; what fails is skipped and counted in
/// Statistics::invalid or Statistics::refused, never followed. No application can stop the rings
/// for another: ring 2 is each application's own, and ring-1 entries removed and never claimed
/// are taken back when ring 1 needs room (Statistics::abandoned).
///
/// Single-threaded: every method runs on the interface's event-loop thread, so an interface with
/// an app ring runs on one thread: create() fails with EBUSY (and a message) on an interface
/// whose queues run on several threads, and while the ring exists NetworkInterface::attach refuses
/// several (NetworkInterface::claimSingleThread). Made and destroyed
/// by AppRingServer (create-if-absent, destroy on last unmap); tests may use it directly.
class AppRing : public InputConsumer, public OutputInterceptor {
public:
    /// How the rings are made.
    struct Options {
        app_ring_mode mode = APP_RING_RX_INTERCEPT;  ///< What the rings carry.
        std::uint32_t slotCount = 1024;              ///< Slots per ring, a power of two, 32 to 65536.
        std::uint32_t minPosted =
            64;  ///< Non-network mode: empty buffers kept in ring 1 (< slotCount; other modes ignore it).
        bool privateRings = false;  ///< Each application gets a ring 1 of its own (APP_RING_PRIVATE).
    };

    /// Counters; drops and errors never pass silently.
    using Statistics = AppRingStatistics;

    /// What an application receives when it maps the rings. The descriptors stay the AppRing's.
    struct Application {
        std::uint32_t slot = 0;     ///< Its number among the applications (0 .. APP_RING_MAX_APPS - 1).
        std::uint32_t token = 0;    ///< Its claim token (nonzero, below 65536).
        std::uint32_t ownerId = 0;  ///< The id stored in the buffers it holds (Netbuf::owner).
        int postedFd = -1;          ///< Its ring 1's posted region (read-write: hand the application a read-only copy).
        int takenFd = -1;           ///< Its ring 1's taken region.
        int appFd = -1;             ///< Its own region (ring 2, wait flags).
        int ring1EventFd = -1;      ///< Signalled when ring 1 gets entries.
        int ring2EventFd = -1;      ///< Signalled when ring 2 gets room.
    };

    /// Makes the rings for @p interface and hooks them into it according to the mode.
    /// Errors: EINVAL (bad options), EBUSY (the interface has another output interceptor, or runs
    /// its queues on several threads: the message says),
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

    /// Reaps ring 1, removes and passes on what applications inserted into ring 2, tops up
    /// posted buffers, wakes waiters. Called when an application kicks (AppRingServer does) or
    /// from a poller. @return the number of ring-2 entries handled.
    unsigned service();

    /// Clears the kick eventfd (level-triggered in the event loop): call before service() when
    /// woken by it. A poll-mode caller of service() need not.
    void acknowledgeKick();

    /// The eventfd applications write after inserting into ring 2.
    int kickEventFd() const { return kickFd_; }
    /// The pool whose buffers the rings carry (the driver's).
    NetbufPool& pool() const { return *pool_; }
    /// The mode.
    app_ring_mode mode() const { return options_.mode; }
    /// Whether each application has a ring 1 of its own.
    bool privateRings() const { return options_.privateRings; }
    /// The interface.
    NetworkInterface& interface() const { return interface_; }
    /// Counters.
    const Statistics& statistics() const { return stats_; }
    /// The ring 1 application @p slot removes from (nullptr for a slot not attached); for tests and
    /// benchmarks that look at its regions.
    AppRingDelivery* deliveryOf(std::uint32_t slot) const;
    /// Entries in ring 1 (all of them, with private rings) not yet removed by any application.
    std::uint32_t ring1Pending() const;
    /// Whether the shared ring 1 has been handed over to several applications.
    bool sharedConsumers() const { return shared_ != nullptr && shared_->shared(); }

    /// A fresh owner id, unique in this process (for rings and applications).
    static std::uint32_t nextOwnerId() { return nextAppRingOwnerId(); }

    // InputConsumer
    void consumeInput(NetworkInterface& interface, unsigned queue, Netbuf** packets, unsigned count) override;
    // OutputInterceptor
    void interceptOutput(NetworkInterface& interface, Netbuf** packets, unsigned count) override;

private:
    struct AppState {
        bool used = false;
        AppRingDelivery::Consumer consumer;
        int ring1Fd = -1;
        int ring2Fd = -1;
        DmaRegion region;                      // its ring 2 and wait flags
        std::uint32_t tail2 = 0;               // next ring-2 position to remove
        std::unique_ptr<AppRingDelivery> own;  // its ring 1, with private rings
        AppRingDelivery* delivery = nullptr;   // the ring 1 it removes from
        app_ring_app& control() const { return *reinterpret_cast<app_ring_app*>(region.data()); }
    };

    AppRing(NetworkInterface& interface, const Options& options);
    int setUp();
    app_ring_header headerTemplate() const;
    int setUpApplication(AppState& app);
    bool wantsInput(const Netbuf* netbuf) const;
    Netbuf* intoPool(Netbuf* netbuf);
    void postBurst(Netbuf** packets, unsigned count);
    void publish();
    unsigned drainAll();
    unsigned drain(AppState& app);
    bool accept(AppState& app, const app_ring_slot& slot, Netbuf*& out);
    void dispatch(Netbuf** packets, unsigned count);
    void topUp(AppRingDelivery& delivery);
    std::uint16_t freshToken() const;
    void reclaimOwner(std::uint32_t ownerId);
    void wake(bool ring1);
    // Calls @p visit for each attached application: a bit per slot, so that the per-burst work
    // does not grow with APP_RING_MAX_APPS.
    template <typename Visit>
    void forEachApplication(Visit visit) {
        for (std::uint32_t left = used_; left != 0; left &= left - 1) visit(apps_[std::countr_zero(left)]);
    }

    NetworkInterface& interface_;
    Options options_;
    std::shared_ptr<NetbufPool> pool_;
    std::uint32_t slotsOffset_ = 0;
    std::uint32_t appSize_ = 0;
    int kickFd_ = -1;
    bool hookedInput_ = false;
    bool hookedOutput_ = false;
    bool claimedThread_ = false;               // interface_.claimSingleThread held
    std::string setUpMessage_;                 // why setUp failed, when it says
    std::unique_ptr<AppRingDelivery> shared_;  // the ring 1 of shared rings
    unsigned nextDelivery_ = 0;                // private rings: where the next burst goes first
    AppState apps_[APP_RING_MAX_APPS];
    std::uint32_t used_ = 0;  // bit n: apps_[n] is attached
    Statistics stats_;
};

}  // namespace nexnet
