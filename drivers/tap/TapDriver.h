#pragma once
/// @file TapDriver.h
/// @brief TapDriver ("tap:NAME"): an Ethernet driver whose wire is a Linux TUN/TAP device, so the
/// Linux kernel is the station at the other end.

#include "drivers/tap/TapKernelEnd.h"
#include "drivers/tap/TapReceiveRing.h"
#include "drivers/tap/TapUring.h"
#include "framework/DriverRegistry.h"
#include "framework/IOEthernet.h"
#include "netbuf/VirtioNetHeader.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <sys/uio.h>
#include <vector>

namespace nexnet {

/// An IOEthernet on a Linux tap device: one end of a virtual wire whose other end is a kernel
/// network interface (TapKernelEnd). Frames the driver transmits are received by that interface;
/// frames the kernel sends on it are what the driver receives.
///
/// URI: `tap:NAME[,queues=N][,vnet=0|1][,pool=N][,persist=0|1][,uring=0|1][,rx=uring|readv]`
/// - NAME: the interface; created when absent, attached to when it exists (a persistent tap, or
///   one another nexnet process holds with more queues). Empty: the kernel picks "nxtapN".
/// - queues: 1 to 16 queue pairs (IFF_MULTI_QUEUE, one file descriptor per pair; default 1).
///   The kernel spreads what it sends over the queues by flow hash.
/// - vnet: 1 lets the kernel hand over packets with checksums left to finish and TCP super-packets
///   of up to 64 KB (TUNSETOFFLOAD TUN_F_CSUM|TSO4|TSO6), described by Netbuf::offload(); the
///   driver's pool then has 66 KB buffers. 0 (default): every received frame is complete and at
///   most MTU-sized, in 2 KB buffers. Either way the driver transmits netbufs carrying offload
///   requests (a super-packet received on another driver), since every queue sends a virtio-net
///   header (IFF_VNET_HDR): the kernel segments and checksums what the netbuf asks for.
/// - pool: netbufs in the driver's pool (default 4096 with vnet=0, 1024 with vnet=1; at least
///   kBurst per queue, the netbufs each queue keeps ready for the kernel's frames).
/// - persist: 1 keeps the interface after the driver closes (TUNSETPERSIST), 0 lets it go with
///   the last file descriptor; absent: unchanged (a new interface goes, an existing one stays
///   as it was).
/// - uring: 1 (default) runs each transmit burst's writes through one io_uring_enter (TapUring);
///   0, or io_uring unavailable, uses one writev call per frame. usesIoUring() tells which.
/// - rx: how frames are received. uring: an io_uring multishot read per queue into netbufs posted
///   from the pool (TapReceiveRing; Linux 6.7), a burst for one system call or none; refused with
///   ENOTSUP when the kernel (or a seccomp filter) does not allow it. readv: one readv per frame.
///   Absent: uring when the kernel allows it and uring=1, readv otherwise.
/// modeDescription() says which receive and transmit paths run, and why a faster one does not.
///
/// Up and down (IFF_UP through performCommand): the driver's state is the cable's. Up turns the
/// interface's carrier on and starts reading; down turns the carrier off (the kernel shows
/// NO-CARRIER and stops sending) and discards what was queued. The kernel end's own
/// administrative state and addresses belong to whoever administers its namespace (`ip link set
/// NAME up`), as a NIC never configures its link partner; the driver does not touch them.
/// What both ends share is the MTU: setMtu (IFCONTROL_UNIXIOCTL SIOCSIFMTU) sets the interface's
/// MTU too, so that neither end sends frames the other refuses.
///
/// Addresses: the driver has its own address (random, locally administered; IFCONTROL_SETADDR
/// changes it), distinct from the interface's. The tap has no address filter: the kernel sends
/// only what it means for this link, so every frame is delivered, as by a NIC in promiscuous mode.
///
/// Link state: up while the interface is up with its carrier on. Read when the driver starts,
/// when a transmit fails with EIO (the interface went down, or moved to another namespace,
/// which takes it down), on every second of the event loop the driver is attached to, and by
/// refreshLinkStatus().
///
/// Deletion: when the interface is deleted under the driver (`ip link del`), the link goes down
/// and faultDescription() says "interface NAME was deleted; waiting for it to come back";
/// receiveBurst returns 0, transmitBurst drops and counts; each queue, on its own thread, closes
/// its descriptor when its own read or write finds the interface gone (so an event loop waiting
/// on that queue's interruptEventFd() sleeps); nothing crashes. The driver never creates
/// the interface again by itself: its administrator deleted it. When an interface of that name is
/// created again in the driver's network namespace (`ip tuntap add mode tap NAME`, multi_queue for
/// several queues), the watchdog (every second, or reattach()) takes it: the fault clears, the
/// carrier and the MTU are set as before, and the link comes up once the interface is up.
///
/// Receive: Linux has no batched tap read. With rx=uring (asked for, not the default: a deleted
/// tap and a dry pool are not yet handled on that path as on readv's; modeDescription() says which
/// path runs and why) the kernel
/// reads each frame into a netbuf posted to a multishot read, and a burst collects the completions (one io_uring_enter when the
/// kernel has reads pending, none when idle); down and close cancel the read and return every
/// posted netbuf to the pool. With rx=readv, one readv per frame, up to kBurst per call, straight
/// into netbufs kept ready between bursts. Either way, malformed frames are dropped and counted: runts
/// (shorter than an Ethernet header), oversize (longer than the MTU allows, and not a
/// super-packet), truncated (longer than a netbuf). Transmit: one writev per frame, batched into
/// one system call by io_uring; the kernel copies them, so the netbufs are freed before transmitBurst returns.
///
/// Interrupt mode: interruptEventFd(q) is an epoll set holding what is readable while frames
/// wait: the queue's tap descriptor with rx=readv, its TapReceiveRing's completion descriptor with
/// rx=uring; the set stays the same when the descriptor is replaced (re-attach).
/// When the pool runs dry (rx=readv), frames wait in the kernel's queue (which drops what overflows it) and
/// the descriptor is not watched: a retry timer in the same set wakes the loop every millisecond
/// until netbufs are back, so an event loop does not spin on frames it cannot take.
///
/// Threading: each queue may run on its own thread, concurrently with the others: a queue's
/// descriptor, io_uring, spare netbufs and malformed-frame counts are its own, on cache lines of
/// their own; the queues share only the pool (thread caches), the link state and the MTU (atomic,
/// or changed only while the queue gate is closed). A queue that finds the interface deleted
/// silences its own descriptor only; the link watchdog (control) moves the kernel end's ioctls to
/// a live queue. The kernel spreads its flows over the queues by hash, each flow on one queue, so
/// each flow keeps its order whatever the number of threads.
class TapDriver : public IOEthernet {
public:
    /// Frames handled per receiveBurst / transmitBurst call at most.
    static constexpr unsigned kBurst = 32;
    /// Bytes of the virtio-net header before each frame on the tap descriptor (TUNSETVNETHDRSZ).
    static constexpr unsigned kVnetHeaderSize = VirtioNetHeader::kLegacySize;
    /// Data room of the pool's netbufs with vnet=1: a 64 KB super-packet, its Ethernet header and
    /// a VLAN tag fit.
    static constexpr std::uint32_t kSuperPacketRoom = 65536 + 1024;

    /// What to open.
    struct Options {
        std::string name;             ///< Interface name (empty: the kernel picks one).
        unsigned queues = 1;          ///< Queue pairs, 1 to kMaxQueues.
        bool vnet = false;            ///< Receive checksum-offloaded frames and super-packets.
        std::uint32_t poolSize = 0;   ///< Netbufs in the pool; 0: 4096, or 1024 with vnet.
        std::optional<bool> persist;  ///< TUNSETPERSIST when set.
        bool uring = true;            ///< Batch each burst's system calls with io_uring.
        /// rx=uring (true: TapReceiveRing, ENOTSUP without it) or rx=readv (false); unset: readv
        /// (the ring does not yet notice a deleted tap nor back off when the pool runs dry).
        std::optional<bool> receiveRing;
    };

    /// Opens (creating or attaching to) the tap @p options.name with its queues and a pool. The
    /// driver comes back stopped; bring it up with IFCONTROL_SETFLAGS IFF_UP.
    /// Errors: EINVAL (name too long, queues out of range, an existing tap of another kind),
    /// EPERM (no CAP_NET_ADMIN), EBUSY (the tap's queues are all taken), ENOENT (no
    /// /dev/net/tun), or the pool's errno.
    static Result<std::unique_ptr<TapDriver>> create(const Options& options);
    /// Registers "tap:" with @p registry (builtinDrivers() does). @return 0 or EEXIST.
    static int registerWith(DriverRegistry& registry);
    /// A sentence for a person about an errno of create().
    static std::string explainOpenError(int error);

    /// Closes the queues' descriptors (the interface goes unless persistent or held elsewhere)
    /// and returns the netbufs kept for receiving.
    ~TapDriver() override;

    /// Up: carrier on, reading starts, link state read. Down: carrier off, queued frames
    /// discarded. Called by IOEthernet on IFF_UP changes. @return 0 (carrier errors are ignored:
    /// the interface may be gone; the link state says so).
    int resetAndEnable(bool enable) override;

    /// The number of queue pairs.
    unsigned queueCount() const override;
    /// The queue's interrupt descriptor, readable when frames wait (an epoll set holding its tap
    /// descriptor, constant for the driver's life), or -1 for an unknown queue.
    int interruptEventFd(unsigned queue) const override;
    /// 0 for a known queue: the descriptor always signals; poll mode just does not watch it.
    int setInterruptsEnabled(unsigned queue, bool enabled) override;

    /// The largest MTU: what fits in a netbuf, at most the 65521 bytes a tap allows.
    unsigned maxMtu() const override;
    /// Sets the MTU of the driver and of the interface. @return 0, EINVAL out of range, or the
    /// errno of SIOCSIFMTU.
    int setMtu(unsigned mtu) override;

    /// The link watchdog: re-attaches to a deleted interface that is back, refreshes the link
    /// state and re-arms.
    void timeoutOccurred() override;

    /// Reads the interface's state and sets linkStatus() from it. @return the new state.
    LinkStatus refreshLinkStatus();
    /// After the interface was deleted: attaches every queue again to the interface of the same
    /// name, if one exists again in the driver's namespace (it is never created here), and clears
    /// the fault. Called by the watchdog, on the control thread; it closes the queue gate while the
    /// descriptors change, so the queues' threads may keep running.
    /// @return 0 (attached, or nothing was deleted), ENODEV while no such interface exists, or the
    /// errno of attaching (EPERM without CAP_NET_ADMIN, EINVAL for an interface of another kind),
    /// which faultDescription() then explains.
    int reattach();

    /// The interface's name now (it may have been renamed), or the name it was opened with.
    std::string interfaceName() const;
    /// The kernel end, to read or configure the interface.
    const TapKernelEnd& kernelEnd() const { return kernelEnd_; }
    /// True when transmit bursts go through io_uring (uring=1 and the kernel allows it).
    bool usesIoUring() const { return queueCount_ != 0 && queues_[0].uring != nullptr; }
    /// True when frames are received through TapReceiveRing (rx=uring), false with readv.
    bool receivesThroughRing() const { return queueCount_ != 0 && queues_[0].rxRing != nullptr; }
    /// True with vnet=1: received netbufs may be super-packets or carry partial checksums.
    bool receivesOffloads() const { return offloads_; }

    /// Received frames shorter than an Ethernet header, dropped (all queues). Any thread.
    std::uint64_t runtFrames() const { return sumOf(&Queue::runts); }
    /// Received frames longer than the MTU allows (not super-packets), dropped. Any thread.
    std::uint64_t oversizeFrames() const { return sumOf(&Queue::oversize); }
    /// Received frames longer than a netbuf (the kernel's end has a larger MTU), dropped. Any thread.
    std::uint64_t truncatedFrames() const { return sumOf(&Queue::truncated); }
    /// Received frames whose virtio-net header a device may not write (a checksum outside the
    /// frame, an unknown GSO type, a super-packet without a segment size or not asked for),
    /// dropped (TapFrameCheck). Any thread.
    std::uint64_t badOffloadFrames() const { return sumOf(&Queue::badOffloads); }

protected:
    /// Receives up to min(@p max, kBurst) frames from queue @p queue into netbufs the caller then
    /// owns, with Netbuf::offload() from the virtio-net header (zero with vnet=0). Malformed
    /// frames (runts, oversize, truncated, a partial checksum outside the frame) are dropped and
    /// reported as receive errors; runtFrames() and the others say which.
    /// @return the number received; 0 when none wait, when stopped, or for an unknown queue.
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override;

    /// Writes the @p count frames on queue @p queue (modulo queueCount()), each with a
    /// virtio-net header built from its Netbuf::offload(). All are accepted and freed to their
    /// own pools before the call returns (the kernel copies them). A frame the kernel refuses
    /// (malformed offload request, too long, interface down or gone) is reported as a transmit
    /// error; tun never pushes back, it drops and counts when its backlog is full.
    /// @return @p count, or 0 when the driver is stopped (the caller keeps them).
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override;

    /// Starts the one-second link watchdog on the new event loop, if any.
    int eventLoopChanged() override;

private:
    using Counter = std::atomic<std::uint64_t>;
    // One queue pair: its descriptor and the empty netbufs kept for the next reads, as a NIC
    // keeps its receive ring full. Written by the queue's thread only (and by control calls
    // while the gate is closed: reattach); the counters and `dead` are read from any thread.
    struct alignas(64) Queue {
        int fd = -1;                    // the tap descriptor; once the interface was deleted, a silent eventfd in its
                                        // place (the number stays valid for the kernel end until control moves it)
        int interrupt = -1;             // epoll set holding fd: interruptEventFd(), the same for the driver's life
        int retry = -1;                 // timerfd in the same set: wakes the loop to retry a dry pool
        std::atomic<bool> dead{false};  // the interface was deleted
        bool starved = false;           // the pool ran dry: fd is not watched, retry is armed
        std::chrono::steady_clock::time_point retryAt{};
        Netbuf* spare[kBurst] = {};
        unsigned spareCount = 0;
        std::unique_ptr<TapUring> uring;  // nullptr: plain readv/writev
        Counter runts{0}, oversize{0}, truncated{0}, badOffloads{0};
        std::unique_ptr<TapReceiveRing> rxRing;  // nullptr: receive with readv
    };

    TapDriver() = default;
    int open(const Options& options);
    int openQueue(const std::string& name, bool multiQueue, std::string& actualName);
    int makePool(const Options& options);
    void fillSpares(Queue& queue);
    int openReceiveRings(const Options& options, const std::string& transmitMode);
    unsigned receiveRingLimit() const;
    unsigned receiveFromRing(unsigned queue, Queue& rq, Netbuf** out, unsigned max);
    void queueDied(Queue& queue);
    static int watchedFd(const Queue& queue);
    int watch(Queue& queue);
    void starve(Queue& queue);
    bool retryStarved(Queue& queue);
    void setRetryTimer(Queue& queue, bool armed);
    void drain(Queue& queue);
    bool acceptFrame(Queue& queue, const VirtioNetHeader& header, std::uint32_t length, std::uint32_t room);
    bool takeFrame(Queue& queue, Netbuf* netbuf, const VirtioNetHeader& header, long result, std::uint32_t room);
    std::span<Queue> queues() { return {queues_.data(), queueCount_}; }
    std::span<const Queue> queues() const { return {queues_.data(), queueCount_}; }
    std::uint64_t sumOf(Counter Queue::*counter) const;
    void moveKernelEndToLiveQueue();
    void transmitChunk(unsigned index, Queue& queue, Netbuf** packets, unsigned n);
    unsigned dropBurst(unsigned queue, Netbuf** packets, unsigned count);
    static VirtioNetHeader headerFor(const Netbuf& packet);

    std::array<Queue, kMaxQueues> queues_;
    unsigned queueCount_ = 0;
    TapKernelEnd kernelEnd_;
    std::string name_;
    bool offloads_ = false;
    unsigned maxMtu_ = 1500;
    std::string openFailure_;  // what create() says beyond the errno, when it knows more
};

}  // namespace nexnet
