#pragma once
/// @file XdpDriver.h
/// @brief XdpDriver ("xdp:IFNAME"): chosen queues or flows of any Linux interface, through AF_XDP
/// sockets whose UMEM is a netbuf pool; the kernel keeps the rest of the interface.

#include "drivers/xdp/XdpInterface.h"
#include "drivers/xdp/XdpProgram.h"
#include "drivers/xdp/XdpSocket.h"
#include "framework/DriverRegistry.h"
#include "framework/IOEthernet.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nexnet {

/// An IOEthernet on queues of an existing Linux interface (a NIC, a veth), through AF_XDP
/// (Documentation/networking/af_xdp.rst): the middle road between tap (the kernel's, slow per
/// packet) and VFIO (the whole NIC taken from the kernel). An XDP program (XdpProgram) steers the
/// driver's queues, or only the frames matching a filter, to one AF_XDP socket per queue
/// (XdpSocket); everything else stays the kernel's, and so does the interface itself (its
/// address, MTU, up/down state).
///
/// URI: `xdp:IFNAME[,queue=N][,queues=N][,mode=native|generic][,zerocopy=auto|on|off]`
///      `[,busypoll=MICROSECONDS][,filter=udp:PORT[+tcp:PORT...]][,ring=N][,pool=N]`
/// - queue, queues: the first of the interface's queues and how many (default 0 and 1); nexnet's
///   queue i is the interface's queue first + i. Other queues stay the kernel's. Which flows reach
///   which queue is the NIC's business (RSS, `ethtool -N` rules, af_xdp.rst FAQ).
/// - mode: where XDP runs. native: in the interface's driver; generic: on socket buffers, for any
///   interface, slower. Absent: native when the interface has it (known from the kernel's
///   xdp-features on Linux 6.3 and later, found by trying on older kernels), else generic.
/// - zerocopy: on: the NIC writes frames straight into the pool, or opening fails with the reason
///   (no zero-copy in that driver, or generic mode); off: copy mode; auto (default): zero-copy when
///   the kernel can, copy otherwise. What runs, and why, is said by modeDescription().
/// - busypoll: SO_PREFER_BUSY_POLL with SO_BUSY_POLL of that many microseconds: receive and transmit
///   run the NIC driver's NAPI on the polling thread (pair with the interface's
///   napi_defer_hard_irqs and gro_flush_timeout). 0 or absent: off.
/// - filter: only UDP/TCP frames to these destination ports (IPv4 or IPv6, up to 16 rules joined
///   with '+') go to nexnet; the kernel keeps all else, ARP and ICMP included, on nexnet's queues
///   too. Absent: whole queues go to nexnet.
/// - ring: entries of each of the four rings of a socket, a power of two from 64 to 16384
///   (default 2048).
/// - pool: netbufs in the pool (default 16384). xdp: drivers of one process with the same pool size
///   share one pool: what one receives, another sends without a copy.
///
/// Frames: the pool's 2 KiB buffers are the UMEM's chunks, so a frame is at most 1792 bytes after
/// the kernel's 256 bytes of XDP headroom: the MTU is at most maxMtu() (1774 with a VLAN tag's
/// room). Opening fails on an interface with a larger MTU (AF_XDP multi-buffer is not used).
/// Netbufs from other pools are copied into this pool to be sent; a partial checksum
/// (NetbufOffload::kNeedsChecksum) is finished in software; super-packets (GSO) are refused.
/// AF_XDP has no checksum metadata on receive: frames a local sender put on a veth may carry
/// partial checksums (turn the peer's `tx` offload off with ethtool to forward them).
///
/// Filters: the interface's own (its address, its multicast list). Promiscuous and all-multicast
/// modes and joined groups are packet-socket memberships of the interface, counted by the kernel,
/// dropped when the process ends. setHardwareAddress is refused: the address is the interface's.
///
/// Up and down: up fills the fill rings and puts the sockets in the program's map: frames flow to
/// nexnet. Down removes them: the queues' frames go back to the kernel; what waited is freed.
/// Link: the interface's IFF_RUNNING, read at up, every second on an event loop, and when a send
/// finds the interface down.
///
/// Cleanup: the program is attached through a BPF link that dies with the process (XdpProgram):
/// after a close, a crash or SIGKILL, nothing of the driver stays on the interface.
///
/// Interrupt mode: interruptEventFd(q) is queue q's socket, readable when frames wait.
/// Statistics: drops the kernel counts (no fill buffer, rx ring full, invalid descriptors) are
/// reported on each queue's thread every 4096 receive calls and by refreshKernelStatistics().
///
/// Threading: one thread per queue pair at most; control calls from one thread while no burst runs.
/// Privileges: CAP_NET_RAW (sockets), CAP_BPF and CAP_NET_ADMIN (the program), or root.
class XdpDriver : public IOEthernet {
public:
    /// Frames handled per receive call at most.
    static constexpr unsigned kBurst = 64;
    /// Pool size when the URI gives none.
    static constexpr std::uint32_t kDefaultPoolSize = 16384;
    /// Bytes of a pool buffer: one UMEM chunk.
    static constexpr std::uint32_t kChunkSize = 2048;
    /// Bytes before a received frame in its chunk (XDP_PACKET_HEADROOM): the pool's headroom too.
    static constexpr std::uint32_t kHeadroom = 256;
    /// The largest MTU: what a chunk holds after the headroom, less the header and a VLAN tag.
    static constexpr unsigned kMaxMtu = kChunkSize - kHeadroom - kHeaderSize - 4;

    /// Where XDP runs: chosen by the driver (native when possible), or asked for.
    enum class ModeChoice { automatic, native, generic };

    /// What to open.
    struct Options {
        std::string interface;                    ///< The Linux interface.
        unsigned firstQueue = 0;                  ///< The interface's queue that is nexnet's queue 0.
        unsigned queues = 1;                      ///< Queue pairs, 1 to kMaxQueues.
        ModeChoice mode = ModeChoice::automatic;  ///< Native or generic XDP.
        XdpSocket::CopyMode copyMode = XdpSocket::CopyMode::automatic;  ///< zerocopy=auto|off|on.
        unsigned busyPollMicroseconds = 0;                              ///< 0: no busy polling.
        std::vector<XdpFilterRule> filter;                              ///< Empty: whole queues.
        unsigned ringSize = 2048;                                       ///< Entries per ring.
        std::uint32_t poolSize = kDefaultPoolSize;                      ///< Netbufs of the (shared) pool.
        /// false: do not ask the kernel for the interface's xdp-features, decide by trying, as on
        /// Linux before 6.3 (how the tests run that path on a newer kernel).
        bool askForXdpFeatures = true;
    };

    /// Parses an `xdp:` URI into @p options. @return success, or EINVAL with a message naming the
    /// bad option.
    static Status parseUri(const DriverUri& uri, Options& options);
    /// Opens @p options.interface, on the control thread, in the network namespace of the calling
    /// thread: the program loaded and attached, one bound socket per queue. Blocks while the kernel
    /// sets up XDP (a native attach may reset the NIC's queues). The driver comes back stopped;
    /// IFF_UP starts the flow. Errors, each with a message saying what and what to do: ENODEV (no
    /// such interface), EPERM (privileges), EOPNOTSUPP (native XDP or zero-copy asked and missing),
    /// EBUSY (the interface has another XDP program, or a queue another socket), EINVAL (options,
    /// queues out of range, MTU too large), ENOBUFS (RLIMIT_MEMLOCK too low for the pool).
    static Result<std::unique_ptr<XdpDriver>> create(const Options& options);
    /// Registers "xdp:" with @p registry (builtinDrivers() does). @return 0 or EEXIST.
    static int registerWith(DriverRegistry& registry);

    /// Detaches the program, closes the sockets; netbufs the kernel held return to the pool.
    ~XdpDriver() override;

    /// Up: fills the fill rings, puts the sockets in the program's map, reads the link. Down:
    /// takes them out (the kernel gets the queues' frames again) and frees waiting frames.
    /// @return 0, or the errno of the map update.
    int resetAndEnable(bool enable) override;
    /// The number of queue pairs.
    unsigned queueCount() const override;
    /// Queue @p queue's socket, readable while frames wait (level-triggered: it stays readable
    /// until the rx ring is empty); -1 for an unknown queue.
    int interruptEventFd(unsigned queue) const override;
    /// Returns what the kernel finished sending to the pool, tells the client when that made room
    /// in a transmit ring it found full, then receives as the base does. Queue thread.
    void interruptOccurred(unsigned queue) override;

    /// kMaxMtu (1774).
    unsigned maxMtu() const override;
    /// Sets the interface's MTU and the driver's. @return 0, EINVAL out of range, or SIOCSIFMTU's errno.
    int setMtu(unsigned mtu) override;
    /// EOPNOTSUPP unless @p address is the interface's (0): the address belongs to the interface.
    int setHardwareAddress(const EthernetAddress& address) override;
    /// Promiscuous membership of the interface on or off. @return 0 or an errno.
    int setPromiscuousMode(bool enabled) override;
    /// All-multicast membership of the interface on or off. @return 0 or an errno.
    int setMulticastMode(bool enabled) override;
    /// Joins @p address on the interface (a multicast membership). @return 0 or an errno.
    int addMulticastAddress(const EthernetAddress& address) override;
    /// Leaves @p address. @return 0 or an errno.
    int removeMulticastAddress(const EthernetAddress& address) override;

    /// The link watchdog: reads the link, runs again in a second.
    void timeoutOccurred() override;
    /// Reads the interface's IFF_RUNNING into linkStatus(). @return the new state.
    LinkStatus refreshLinkStatus();
    /// Reads queue @p queue's kernel counters and reports what grew since the last call (drops,
    /// invalid descriptors). Call it on the queue's thread.
    void refreshKernelStatistics(unsigned queue);

    /// The attach mode in use (modeDescription() says it with the rest: interface and driver,
    /// queues, native or generic XDP and how that was decided, copy or zero-copy and why,
    /// need_wakeup, busy polling, the program and its link, the pool).
    XdpAttachMode attachMode() const { return program_->mode(); }
    /// True when every queue's socket runs in zero-copy mode.
    bool zeroCopy() const;
    /// The interface.
    const XdpInterface& interface() const { return *interface_; }
    /// The program (its kernel ids, for tools that look at the interface).
    const XdpProgram& program() const { return *program_; }

protected:
    /// Takes up to min(@p max, kBurst) frames of queue @p queue, refilling the fill ring; wakes
    /// the kernel when it asked to be (need_wakeup) or busy-polls. @return how many; 0 when stopped.
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override;
    /// Queues @p packets on queue @p queue modulo queueCount(); netbufs of the pool go as they are,
    /// others are copied (and freed at once); a super-packet, a runt or a frame longer than the MTU
    /// is reported as a transmit error. @return how many were taken (the rest wait for room).
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override;
    /// Starts the one-second link watchdog on the new event loop.
    int eventLoopChanged() override;

private:
    struct alignas(64) KernelCounters {  // a queue's last XDP_STATISTICS, written by its thread only
        std::uint64_t dropped = 0, ringFull = 0, invalidReceive = 0, invalidTransmit = 0;
        unsigned receiveCalls = 0;
        bool transmitFull = false;  // a send found the tx ring full: tell the client when it empties
    };

    XdpDriver() = default;
    int open(const Options& options, std::string& message);
    int attachProgram(const Options& options, std::string& message);
    int openSockets(const Options& options, std::string& message);
    void describe(const Options& options, const std::string& copyReason);
    Netbuf* prepareForTransmit(unsigned queue, Netbuf* packet) {
        const NetbufOffload& offload = packet->offload();
        if (packet->poolId() == poolId_ && offload.flags == 0 && offload.gsoType == 0 &&
            packet->size() - kHeaderSize <= maxFrame_ - kHeaderSize) [[likely]]
            return packet;  // one of ours, complete, of a size the link takes: sent from where it is
        return prepareSlowly(queue, packet);
    }
    Netbuf* prepareSlowly(unsigned queue, Netbuf* packet);

    std::unique_ptr<XdpInterface> interface_;
    std::unique_ptr<XdpProgram> program_;
    std::vector<std::unique_ptr<XdpSocket>> sockets_;
    std::vector<KernelCounters> counters_;
    unsigned firstQueue_ = 0;
    std::uint32_t maxFrame_ = 0;  // largest frame the MTU allows: header, payload, a VLAN tag
    std::uint16_t poolId_ = 0;
    std::string modeReason_;  // native or generic, and how that was decided
};

}  // namespace nexnet
