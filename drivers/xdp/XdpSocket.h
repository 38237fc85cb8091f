#pragma once
/// @file XdpSocket.h
/// @brief XdpSocket: one queue of the xdp: driver, an AF_XDP socket whose UMEM is a netbuf pool.

#include "netbuf/NetbufPool.h"
#include "netbuf/Result.h"

#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nexnet {

/// One AF_XDP socket (Documentation/networking/af_xdp.rst) bound to one queue of an interface,
/// whose UMEM is the data region of a NetbufPool: chunk i of the UMEM is netbuf i's buffer, so a
/// received frame is a netbuf where the kernel (or, in zero-copy mode, the NIC) wrote it, and a
/// netbuf of the pool is sent from where it lies.
///
/// @verbatim
///  pool data region = UMEM    | chunk 0 | chunk 1 | ... | chunk N-1 |   chunk = bufferSize() (2 KiB)
///  UMEM address of a netbuf:  index << log2(chunk) + offset of its data in the buffer
///
///  fill ring        netbufs we give the kernel to receive into       we produce, kernel consumes
///  rx ring          (address, length) of frames received              kernel produces, we consume
///  tx ring          (address, length) of frames to send               we produce, kernel consumes
///  completion ring  addresses of frames sent: their netbufs are free  kernel produces, we consume
/// @endverbatim
///
/// Every socket registers the whole pool as its own UMEM (XDP_UMEM_REG), so any netbuf of the pool
/// can go into any socket's rings: netbufs received on one xdp: driver are sent on another sharing
/// the pool without a copy, and each socket keeps its own copy or zero-copy mode (a UMEM shared with
/// XDP_SHARED_UMEM would force one mode on all). A netbuf is in at most one ring at a time
/// (af_xdp.rst, FAQ "My packets are sometimes corrupted"): it is the pool's, the kernel's (fill, rx,
/// tx, completion) or its user's. Netbufs the kernel holds are tracked, and returned to the pool
/// when the socket closes.
///
/// Threading: the socket belongs to its queue's thread (receive, transmit, refill, reclaim); the
/// pool is thread-safe. Nothing here blocks; receive and transmit make at most a few system
/// calls per burst, and only when the kernel asks for them (need_wakeup) or busy polling is on.
class XdpSocket {
public:
    /// Netbufs the fill ring is topped up with at a time.
    static constexpr unsigned kRefillBurst = 64;
    /// Completion-ring entries taken per pass.
    static constexpr unsigned kReclaimBurst = 256;

    /// Copy or zero-copy, as asked at bind (XDP_COPY / XDP_ZEROCOPY) or left to the kernel.
    enum class CopyMode { automatic, copy, zeroCopy };

    /// How to open one socket.
    struct Config {
        std::string interface;                    ///< Interface name.
        unsigned queue = 0;                       ///< The interface's queue id to bind to.
        unsigned ringSize = 2048;                 ///< Entries of each of the four rings (power of two).
        CopyMode copyMode = CopyMode::automatic;  ///< What to ask at bind.
        unsigned busyPollMicroseconds = 0;        ///< SO_BUSY_POLL; 0: interrupts (NAPI) only.
        unsigned busyPollBudget = 64;             ///< SO_BUSY_POLL_BUDGET with busy polling.
    };

    /// True when @p pool can be a UMEM: buffers of a power-of-two size from 2048 to the page size
    /// (aligned chunks, af_xdp.rst "XDP_UMEM_REG setsockopt") in a region starting on a page.
    /// Otherwise @p message says why not.
    static bool fitsPool(const NetbufPool& pool, std::string& message);

    /// Registers @p pool as the UMEM of a new socket, maps the four rings and binds the socket to
    /// @p config's queue with need_wakeup (XDP_USE_NEED_WAKEUP). Nothing is received until the
    /// fill ring is filled and the XDP program redirects to this socket.
    /// Errors: EPERM (no CAP_NET_RAW), EOPNOTSUPP (zero-copy asked, not possible), EINVAL (no such
    /// queue, bad geometry), EBUSY (the queue has a socket already), ENOBUFS (RLIMIT_MEMLOCK too
    /// low to pin the UMEM); @p message says which.
    static Result<std::unique_ptr<XdpSocket>> open(std::shared_ptr<NetbufPool> pool, const Config& config,
                                                   std::string& message);
    /// Closes the socket, then returns to the pool the netbufs the kernel held.
    ~XdpSocket();
    XdpSocket(const XdpSocket&) = delete;
    XdpSocket& operator=(const XdpSocket&) = delete;

    /// The socket: readable when the rx ring has frames (interrupt mode); the XSKMAP's value.
    int fd() const { return fd_; }
    /// True when the kernel bound it in zero-copy mode (XDP_OPTIONS_ZEROCOPY).
    bool zeroCopy() const { return zeroCopy_; }
    /// True with busy polling.
    bool busyPolls() const { return busyPoll_; }
    /// Netbufs now in the kernel's hands (fill, rx, tx and completion rings, in flight).
    unsigned heldByKernel() const { return held_; }

    /// Tops the fill ring up from the pool, kRefillBurst netbufs at a time. @return false when the
    /// pool could not give a burst (frames then wait in the kernel, or are dropped and counted).
    bool refill();
    /// Takes up to @p max received frames into @p out (the caller owns them), then refills.
    /// Descriptors that do not name a netbuf of the pool are counted in @p errors and skipped.
    /// When none are waiting, wakes the kernel if it asked to be (need_wakeup) or busy-polls.
    unsigned receive(Netbuf** out, unsigned max, unsigned& errors);
    /// Returns received frames waiting in the rx ring to the pool (the driver went down).
    void discardReceived();

    /// Room in the tx ring now, up to @p wanted.
    unsigned transmitRoom(unsigned wanted);
    /// Puts @p count netbufs of the pool (complete frames, at most transmitRoom()) on the tx ring;
    /// the kernel owns them until they come back on the completion ring.
    void transmit(Netbuf* const* packets, unsigned count);
    /// Tells the kernel to send what the tx ring holds, when it asked to be told (need_wakeup) or
    /// busy polling is on. @return 0, or the errno of sendto other than EAGAIN (ENETDOWN: the
    /// interface is down; ENXIO: it is gone).
    int kick();
    /// Returns netbufs the kernel finished sending to the pool. @return how many.
    unsigned reclaim();

    /// The kernel's drop counters of this socket (XDP_STATISTICS). @return 0 or an errno.
    int statistics(xdp_statistics& out) const;

    /// The UMEM address of @p netbuf's data: its chunk plus the data's offset in it.
    std::uint64_t addressOf(const Netbuf* netbuf) const { return static_cast<std::uint64_t>(netbuf->data() - base_); }
    /// The netbuf whose chunk holds UMEM address @p address, or nullptr outside the UMEM.
    Netbuf* netbufAt(std::uint64_t address) const {
        std::uint64_t index = address >> shift_;
        return index < pool_->capacity() ? first_ + index : nullptr;
    }

private:
    XdpSocket() = default;
    int bind(const Config& config, std::string& message);
    void setHeld(std::uint32_t index) {
        held_++;
        heldBits_[index >> 6] |= std::uint64_t{1} << (index & 63);
    }
    void clearHeld(std::uint32_t index) {
        held_--;
        heldBits_[index >> 6] &= ~(std::uint64_t{1} << (index & 63));
    }
    bool isHeld(std::uint32_t index) const { return (heldBits_[index >> 6] >> (index & 63) & 1) != 0; }
    std::uint32_t indexOf(const Netbuf* netbuf) const { return static_cast<std::uint32_t>(netbuf - first_); }
    void wakeForReceive();

    std::shared_ptr<NetbufPool> pool_;
    Netbuf* first_ = nullptr;       // netbuf 0: indexOf() without touching a netbuf's cache line
    std::uint8_t* base_ = nullptr;  // UMEM address 0
    unsigned shift_ = 11;           // log2(chunk size)
    xsk_umem* umem_ = nullptr;
    xsk_socket* socket_ = nullptr;
    int fd_ = -1;
    bool zeroCopy_ = false;
    bool busyPoll_ = false;
    xsk_ring_prod fill_{};
    xsk_ring_cons completion_{};
    xsk_ring_cons rx_{};
    xsk_ring_prod tx_{};
    unsigned held_ = 0;
    std::vector<std::uint64_t> heldBits_;  // netbufs the kernel holds, by index
};

}  // namespace nexnet
