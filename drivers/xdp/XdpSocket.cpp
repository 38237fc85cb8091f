// XdpSocket: the four rings of one AF_XDP socket (Documentation/networking/af_xdp.rst).
//
// Ring rules and barriers, as af_xdp.rst states them ("Rings", and the dequeue_one/enqueue_one
// example under "Usage") and net/xdp/xsk_queue.h spells them out:
// - a consumer (rx, completion) reads the producer index, then the entries ("read-barrier!"), and
//   publishes its consumer index only after it has read them: xsk_ring_cons__peek loads the producer
//   with acquire ordering, xsk_ring_cons__release stores the consumer with release ordering;
// - a producer (fill, tx) writes the entries, then the producer index ("write-barrier!"), and
//   reuses a slot only after the kernel's consumer index passed it: xsk_ring_prod__submit stores the
//   producer with release ordering, xsk_prod_nb_free loads the consumer with acquire ordering.
// libxdp's inline ring functions (xdp/xsk.h) are exactly these loads and stores, so every ring
// access below goes through them.
#include "drivers/xdp/XdpSocket.h"

#include "drivers/xdp/XdpLibraryLog.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace nexnet {

namespace {
constexpr unsigned kMaxKicks = 8;  // copy mode sends 32 frames per sendto: 8 calls empty 256 entries
}  // namespace

bool XdpSocket::fitsPool(const NetbufPool& pool, std::string& message) {
    std::uint32_t chunk = pool.bufferSize();
    auto page = static_cast<std::uint32_t>(sysconf(_SC_PAGESIZE));
    if (chunk < 2048 || chunk > page || !std::has_single_bit(chunk)) {
        message = "the pool's buffers are " + std::to_string(chunk) +
            " bytes; an AF_XDP UMEM takes aligned chunks of a power of two from 2048 to " + std::to_string(page);
        return false;
    }
    if (reinterpret_cast<std::uintptr_t>(pool.dataRegion().data()) % page != 0) {
        message = "the pool's data region does not start on a page";
        return false;
    }
    return true;
}

Result<std::unique_ptr<XdpSocket>> XdpSocket::open(std::shared_ptr<NetbufPool> pool, const Config& config,
                                                   std::string& message) {
    using R = Result<std::unique_ptr<XdpSocket>>;
    if (!fitsPool(*pool, message)) return R::failure(EINVAL);
    std::unique_ptr<XdpSocket> socket(new XdpSocket());
    XdpSocket& s = *socket;
    s.pool_ = std::move(pool);
    s.first_ = s.pool_->netbuf(0);
    s.base_ = s.pool_->dataRegion().data();
    s.shift_ = static_cast<unsigned>(std::countr_zero(s.pool_->bufferSize()));
    s.heldBits_.assign((s.pool_->capacity() + 63) / 64, 0);

    std::string log;
    XdpLibraryLog capture(log);
    // af_xdp.rst "XDP_UMEM_REG setsockopt": the whole pool, in aligned chunks of one buffer each,
    // no UMEM headroom (the kernel still leaves XDP_PACKET_HEADROOM before each received frame).
    xsk_umem_config umem{};
    umem.fill_size = config.ringSize;
    umem.comp_size = config.ringSize;
    umem.frame_size = s.pool_->bufferSize();
    std::uint64_t bytes = std::uint64_t{s.pool_->capacity()} * s.pool_->bufferSize();
    if (int error = -xsk_umem__create(&s.umem_, s.base_, bytes, &s.fill_, &s.completion_, &umem); error != 0) {
        if (error == EPERM || error == EACCES) message = "an AF_XDP socket needs CAP_NET_RAW";
        else if (error == ENOBUFS || error == ENOMEM)
            message = "cannot pin the " + std::to_string(bytes >> 20) + " MiB pool as UMEM (" + std::strerror(error) +
                "): raise RLIMIT_MEMLOCK (ulimit -l) or give the process CAP_IPC_LOCK";
        else message = std::string("cannot register the pool as a UMEM: ") + std::strerror(error) + " " + log;
        s.umem_ = nullptr;
        return R::failure(error);
    }
    if (int error = s.bind(config, message); error != 0) return R::failure(error);
    return R(std::move(socket));
}

int XdpSocket::bind(const Config& config, std::string& message) {
    std::string log;
    XdpLibraryLog capture(log);
    xsk_socket_config socket{};
    socket.rx_size = config.ringSize;
    socket.tx_size = config.ringSize;
    socket.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // XdpProgram steers, not libxdp's program
    // af_xdp.rst "XDP_COPY and XDP_ZEROCOPY bind flags": without either, the kernel tries zero-copy
    // and falls back to copy; with one, it binds in that mode or fails.
    socket.bind_flags = XDP_USE_NEED_WAKEUP;
    if (config.copyMode == CopyMode::copy) socket.bind_flags |= XDP_COPY;
    if (config.copyMode == CopyMode::zeroCopy) socket.bind_flags |= XDP_ZEROCOPY;
    int error = -xsk_socket__create(&socket_, config.interface.c_str(), config.queue, umem_, &rx_, &tx_, &socket);
    if (error != 0) {
        socket_ = nullptr;
        std::string where = "queue " + std::to_string(config.queue) + " of " + config.interface;
        if (error == EOPNOTSUPP && config.copyMode == CopyMode::zeroCopy)
            message = "the kernel refused zero-copy on " + where + " (EOPNOTSUPP): its driver has no AF_XDP zero-copy";
        else if (error == EBUSY) message = where + " already has an AF_XDP socket bound to it";
        else if (error == EINVAL) message = "cannot bind to " + where + " (EINVAL): no such queue?";
        else message = "cannot bind an AF_XDP socket to " + where + ": " + std::strerror(error) + " " + log;
        return error;
    }
    fd_ = xsk_socket__fd(socket_);
    xdp_options options{};
    socklen_t length = sizeof options;
    if (getsockopt(fd_, SOL_XDP, XDP_OPTIONS, &options, &length) == 0)
        zeroCopy_ = (options.flags & XDP_OPTIONS_ZEROCOPY) != 0;
    if (config.busyPollMicroseconds != 0) {
        // Busy polling (Documentation/networking/napi.rst, "Busy polling"): our recvfrom and sendto
        // run the driver's NAPI poll on this thread instead of waiting for its interrupt.
        int on = 1;
        int microseconds = static_cast<int>(config.busyPollMicroseconds);
        int budget = static_cast<int>(config.busyPollBudget);
        if (setsockopt(fd_, SOL_SOCKET, SO_PREFER_BUSY_POLL, &on, sizeof on) != 0 ||
            setsockopt(fd_, SOL_SOCKET, SO_BUSY_POLL, &microseconds, sizeof microseconds) != 0 ||
            setsockopt(fd_, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof budget) != 0) {
            error = errno;
            message = std::string("cannot turn busy polling on: ") + std::strerror(error) +
                (error == EPERM ? " (SO_BUSY_POLL_BUDGET needs CAP_NET_ADMIN)" : "");
            return error;
        }
        busyPoll_ = true;
    }
    return 0;
}

XdpSocket::~XdpSocket() {
    if (socket_ != nullptr) xsk_socket__delete(socket_);
    if (umem_ != nullptr) xsk_umem__delete(umem_);  // closes the socket: the kernel lets go of the UMEM
    // The netbufs the kernel held (fill, rx, tx, completion, in flight) are the pool's again.
    Netbuf* batch[kReclaimBurst];
    unsigned count = 0;
    for (std::uint32_t word = 0; word < heldBits_.size(); ++word) {
        for (std::uint64_t bits = heldBits_[word]; bits != 0; bits &= bits - 1) {
            batch[count++] = first_ + word * 64 + static_cast<unsigned>(std::countr_zero(bits));
            if (count == kReclaimBurst) {
                pool_->freeBulk(batch, count);
                count = 0;
            }
        }
    }
    if (count != 0) pool_->freeBulk(batch, count);
}

// ---- receive ---------------------------------------------------------------------------------

bool XdpSocket::refill() {
    // af_xdp.rst "UMEM Fill Ring": the buffers the kernel receives into. Kept nearly full, so a
    // burst of frames never finds it empty (the kernel drops those frames: XDP_STATISTICS rx_dropped).
    unsigned room = xsk_prod_nb_free(&fill_, kRefillBurst);
    while (room >= kRefillBurst) {
        Netbuf* fresh[kRefillBurst];
        // The pool ran dry: sent frames parked on the completion ring may be the missing netbufs.
        if (pool_->getBulk(fresh, kRefillBurst) != 0 && (reclaim() == 0 || pool_->getBulk(fresh, kRefillBurst) != 0))
            return false;
        std::uint32_t at = 0;
        xsk_ring_prod__reserve(&fill_, kRefillBurst, &at);
        for (unsigned i = 0; i < kRefillBurst; ++i) {
            std::uint32_t index = indexOf(fresh[i]);
            *xsk_ring_prod__fill_addr(&fill_, at + i) = std::uint64_t{index} << shift_;
            setHeld(index);
        }
        xsk_ring_prod__submit(&fill_, kRefillBurst);
        room -= kRefillBurst;
    }
    return true;
}

void XdpSocket::wakeForReceive() {
    // af_xdp.rst "XDP_USE_NEED_WAKEUP bind flag": "If the flag is set on the FILL ring, the
    // application needs to call poll() to be able to continue to receive packets on the RX ring."
    // recvfrom with MSG_DONTWAIT wakes the driver the same way (xsk_recvmsg), without poll's wait
    // queue; with busy polling it is also what runs the driver's NAPI on this thread.
    if (busyPoll_ || xsk_ring_prod__needs_wakeup(&fill_)) recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
}

unsigned XdpSocket::receive(Netbuf** out, unsigned max, unsigned& errors) {
    std::uint32_t at = 0;
    unsigned n = xsk_ring_cons__peek(&rx_, max, &at);
    if (n == 0) {
        wakeForReceive();
        return 0;
    }
    const std::uint64_t offsetMask = (std::uint64_t{1} << shift_) - 1;
    unsigned got = 0;
    for (unsigned i = 0; i < n; ++i) {
        const xdp_desc* descriptor = xsk_ring_cons__rx_desc(&rx_, at + i);
        Netbuf* netbuf = netbufAt(descriptor->addr);
        if (netbuf == nullptr || !isHeld(indexOf(netbuf))) {  // not a buffer we gave: never touch it
            errors++;
            continue;
        }
        clearHeld(indexOf(netbuf));
        // The frame starts where the kernel put it: XDP_PACKET_HEADROOM into the chunk.
        if (netbuf->resetForReceive(static_cast<std::uint32_t>(descriptor->addr & offsetMask)) != 0 ||
            netbuf->setSize(descriptor->len) != 0) {
            errors++;
            pool_->free(netbuf);
            continue;
        }
        out[got++] = netbuf;
    }
    xsk_ring_cons__release(&rx_, n);
    refill();
    return got;
}

void XdpSocket::discardReceived() {
    Netbuf* burst[kRefillBurst];
    unsigned errors = 0;
    while (unsigned n = receive(burst, kRefillBurst, errors)) pool_->freeBulk(burst, n);
}

// ---- transmit --------------------------------------------------------------------------------

unsigned XdpSocket::transmitRoom(unsigned wanted) {
    unsigned room = xsk_prod_nb_free(&tx_, wanted);
    return room < wanted ? room : wanted;
}

void XdpSocket::transmit(Netbuf* const* packets, unsigned count) {
    std::uint32_t at = 0;
    if (count == 0 || xsk_ring_prod__reserve(&tx_, count, &at) != count) return;  // room checked by the caller
    for (unsigned i = 0; i < count; ++i) {
        xdp_desc* descriptor = xsk_ring_prod__tx_desc(&tx_, at + i);
        descriptor->addr = addressOf(packets[i]);
        descriptor->len = packets[i]->size();
        descriptor->options = 0;
        setHeld(indexOf(packets[i]));
    }
    xsk_ring_prod__submit(&tx_, count);
}

int XdpSocket::kick() {
    // af_xdp.rst "XDP_USE_NEED_WAKEUP bind flag": "If the flag is set for the TX ring, it means
    // that the application needs to explicitly notify the kernel to send any packets put on the TX
    // ring ... by calling sendto()." Only then: a zero-copy driver that is awake sends on its own.
    if (!busyPoll_ && !xsk_ring_prod__needs_wakeup(&tx_)) return 0;
    for (unsigned kick = 0; kick < kMaxKicks; ++kick) {
        if (sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) return 0;
        int error = errno;
        if (error == ENOBUFS) return 0;  // no memory for a socket buffer now: the frames wait in the ring
        if (error != EAGAIN && error != EBUSY) return error;
        // EAGAIN: copy mode sent its batch and stopped, or the completion ring is full: empty it,
        // and go on while frames wait.
        reclaim();
        if (__atomic_load_n(tx_.consumer, __ATOMIC_ACQUIRE) == *tx_.producer) return 0;
    }
    return 0;
}

unsigned XdpSocket::reclaim() {
    // af_xdp.rst "UMEM Completion Ring": addresses of frames sent; their buffers are ours again.
    std::uint32_t at = 0;
    unsigned n = xsk_ring_cons__peek(&completion_, kReclaimBurst, &at);
    if (n == 0) return 0;
    Netbuf* done[kReclaimBurst];
    unsigned count = 0;
    for (unsigned i = 0; i < n; ++i) {
        Netbuf* netbuf = netbufAt(*xsk_ring_cons__comp_addr(&completion_, at + i));
        if (netbuf == nullptr || !isHeld(indexOf(netbuf))) continue;  // never free what we did not send
        clearHeld(indexOf(netbuf));
        done[count++] = netbuf;
    }
    xsk_ring_cons__release(&completion_, n);
    pool_->freeBulk(done, count);
    return count;
}

int XdpSocket::statistics(xdp_statistics& out) const {
    socklen_t length = sizeof out;
    out = {};
    return getsockopt(fd_, SOL_XDP, XDP_STATISTICS, &out, &length) == 0 ? 0 : errno;
}

}  // namespace nexnet
