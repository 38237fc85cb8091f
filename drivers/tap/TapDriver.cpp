// TapDriver: Linux TUN/TAP as an Ethernet wire to the kernel (Documentation/networking/tuntap.rst).
//
// Bursts: a tap descriptor moves one frame per read or write, and Linux has no batched call for
// it from userspace (tun's batched sendmsg, TUN_MSG_PTR, is for vhost-net inside the kernel).
// So a transmit burst is up to 32 writev requests run by one io_uring_enter (TapUring), measured
// faster than a loop of plain calls; the plain loop remains when io_uring is unavailable or
// uring=0. Receive (rx=uring): a multishot read per queue into posted netbufs, its completions
// collected per burst (TapReceiveRing, TapDriverRing.cpp); where the kernel lacks it (rx=readv),
// a readv loop that stops at the first EAGAIN.
#include "drivers/tap/TapDriver.h"

#include "drivers/tap/TapFrameCheck.h"

#include "framework/EventLoop.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace nexnet {

namespace {
constexpr unsigned kVlanTag = 4;             // a frame may carry an 802.1Q tag beyond the MTU
constexpr unsigned kTapMaxMtu = 65535 - 14;  // tun: MAX_MTU less the Ethernet header
constexpr unsigned kMinMtu = 68;             // IPv4 minimum (RFC 791), as IONetwork::setMtu
constexpr auto kLinkWatchdog = std::chrono::seconds(1);
}  // namespace

// ---- opening ---------------------------------------------------------------------------------

Result<std::unique_ptr<TapDriver>> TapDriver::create(const Options& options) {
    using R = Result<std::unique_ptr<TapDriver>>;
    std::unique_ptr<TapDriver> driver(new TapDriver());
    if (int error = driver->open(options); error != 0) return R::failure(error, driver->openFailure_);
    return R(std::move(driver));
}

int TapDriver::open(const Options& options) {
    if (options.name.size() >= IFNAMSIZ || options.queues == 0 || options.queues > kMaxQueues) return EINVAL;
    offloads_ = options.vnet;
    queueCount_ = options.queues;
    std::string name = options.name.empty() ? "nxtap%d" : options.name;
    int uringError = 0;
    for (Queue& queue : queues()) {
        // Every queue after the first attaches to the interface the first one made or found.
        int fd = openQueue(name, options.queues > 1, name);
        if (fd < 0) return -fd;
        queue.fd = fd;
        queue.interrupt = epoll_create1(EPOLL_CLOEXEC);
        if (queue.interrupt < 0) return errno;
        queue.retry = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        epoll_event retry{};
        retry.events = EPOLLIN;
        retry.data.fd = queue.retry;
        if (queue.retry < 0 || epoll_ctl(queue.interrupt, EPOLL_CTL_ADD, queue.retry, &retry) != 0) return errno;
        if (options.uring) {
            queue.uring = std::make_unique<TapUring>();
            if ((uringError = queue.uring->setUp()) != 0) queue.uring.reset();  // io_uring disabled: plain calls
        }
    }
    // Never a silent slower path: say how transmit bursts run.
    std::string transmitMode = "transmit: io_uring, one system call per burst";
    if (!options.uring) transmitMode = "transmit: one writev per frame (uring=0)";
    else if (uringError != 0)
        transmitMode =
            std::string("transmit: one writev per frame (io_uring unavailable: ") + std::strerror(uringError) + ")";
    name_ = name;
    setName(name);
    kernelEnd_.setTapFd(queues_[0].fd);
    if (options.persist) {
        if (ioctl(queues_[0].fd, TUNSETPERSIST, *options.persist ? 1 : 0) != 0) return errno;
    }
    if (int error = makePool(options)) return error;
    if (int error = openReceiveRings(options, transmitMode)) return error;
    for (Queue& queue : queues()) {  // once the receive path is known: it says what to watch
        if (int error = watch(queue)) return error;
    }

    // The driver's own address: the NIC at this end of the wire is not the kernel's interface.
    if (int error = attachToNetworkWithAddress(EthernetAddress::randomLocal())) return error;

    // Both ends of a wire share its MTU: take the interface's, or lower it to what fits a netbuf.
    unsigned room = pool()->bufferSize() - pool()->headroom();
    maxMtu_ = std::min(kTapMaxMtu, room - kHeaderSize - kVlanTag - 1);  // - 1: see TapFrameCheck, truncated
    unsigned kernelMtu = 1500;
    if (int error = kernelEnd_.mtu(kernelMtu)) return error;
    int error = kernelMtu > maxMtu_ ? setMtu(maxMtu_) : IONetwork::setMtu(std::max(kernelMtu, kMinMtu));
    if (error != 0) return error;

    // Stopped: no carrier, so the kernel does not queue frames nobody reads.
    kernelEnd_.setCarrier(false);
    refreshLinkStatus();
    return 0;
}

// @return the descriptor, or -errno. @p actualName receives the interface's name.
int TapDriver::openQueue(const std::string& name, bool multiQueue, std::string& actualName) {
    int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -errno;
    // IFF_VNET_HDR on every queue, whatever `vnet` says: the header is also how we ask the
    // kernel to segment or checksum what we transmit, and it costs ten bytes per frame.
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multiQueue ? IFF_MULTI_QUEUE : 0);
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name.c_str());
    int result = ioctl(fd, TUNSETIFF, &ifr);
    if (result != 0 && errno == EINVAL && !multiQueue) {
        // An existing multi-queue tap refuses a single-queue attach: take one of its queues.
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_MULTI_QUEUE);
        result = ioctl(fd, TUNSETIFF, &ifr);
    }
    int headerSize = kVnetHeaderSize;
    // What the kernel may hand us: partial checksums and TCP super-packets, or only complete frames.
    unsigned offloads = offloads_ ? (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0;
    if (result != 0 || ioctl(fd, TUNSETVNETHDRSZ, &headerSize) != 0 || ioctl(fd, TUNSETOFFLOAD, offloads) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    actualName.assign(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
    return fd;
}

int TapDriver::makePool(const Options& options) {
    NetbufPool::Options poolOptions;
    poolOptions.count = options.poolSize != 0 ? options.poolSize : (offloads_ ? 1024 : 4096);
    poolOptions.dataRoom = offloads_ ? kSuperPacketRoom : 2048;
    poolOptions.name = "nexnet-tap";
    auto pool = NetbufPool::create(poolOptions);
    if (!pool) {
        openFailure_ = pool.message();  // the memory it needs and the machine has
        return pool.error();
    }
    setPool(std::shared_ptr<NetbufPool>(std::move(pool.value())));
    return 0;
}

TapDriver::~TapDriver() {
    for (Queue& queue : queues()) {
        if (queue.spareCount > 0) pool()->freeBulk(queue.spare, queue.spareCount);
        queue.rxRing.reset();  // before the descriptor: its read holds the tap file
        if (queue.fd >= 0) close(queue.fd);
        if (queue.interrupt >= 0) close(queue.interrupt);
        if (queue.retry >= 0) close(queue.retry);
    }
}

int TapDriver::registerWith(DriverRegistry& registry) {
    return registry.registerDriver(
        "tap", "tap:NAME[,queues=N][,vnet=0|1][,pool=N][,persist=0|1][,uring=0|1][,rx=uring|readv]",
        "a Linux tap device: the kernel is the station at the other end (vnet=1: offloads, 64 KB super-packets)",
        {"queues", "vnet", "pool", "persist", "uring", "rx"}, [](const DriverUri& uri) {
            using R = Result<std::unique_ptr<IONetwork>>;
            Options options;
            options.name = uri.target;
            auto queues = uri.number("queues", 1, kMaxQueues, 1);
            auto vnet = uri.flag("vnet", false);
            auto uring = uri.flag("uring", true);
            if (!queues) return R::failure(queues);
            if (!vnet) return R::failure(vnet);
            // Each queue keeps a burst of netbufs ready for the kernel's frames (fillSpares).
            auto pool = uri.poolSize(vnet.value() ? 1024 : 4096, static_cast<std::uint32_t>(queues.value()) * kBurst);
            if (!pool) return R::failure(pool);
            if (!uring) return R::failure(uring);
            options.uring = uring.value();
            options.queues = static_cast<unsigned>(queues.value());
            options.vnet = vnet.value();
            options.poolSize = pool.value();
            if (auto rx = uri.option("rx")) {
                if (*rx != "uring" && *rx != "readv") return R::failure(EINVAL, "rx is uring or readv");
                options.receiveRing = *rx == "uring";
            }
            if (uri.option("persist")) {
                auto persist = uri.flag("persist", false);
                if (!persist) return R::failure(persist);
                options.persist = persist.value();
            }
            auto driver = create(options);
            if (!driver)
                return R::failure(driver.error(),
                                  driver.message().empty() ? explainOpenError(driver.error()) : driver.message());
            return R(std::unique_ptr<IONetwork>(std::move(driver.value())));
        });
}

std::string TapDriver::explainOpenError(int error) {
    switch (error) {
    case EPERM:
        return "a tap needs CAP_NET_ADMIN to be created or attached (run as root)";
    case ENOENT:
        return "/dev/net/tun is missing (modprobe tun)";
    case EBUSY:
        return "every queue of that tap is taken by another process";
    case ENOTSUP:
        return "rx=uring needs io_uring multishot reads (Linux 6.7 or later, io_uring allowed): use rx=readv";
    case EINVAL:
        return "a name of at most 15 characters, 1 to 16 queues, and no existing interface of another kind";
    default:
        return std::strerror(error);
    }
}

// ---- up, down, link --------------------------------------------------------------------------

int TapDriver::resetAndEnable(bool enable) {
    // The carrier is the cable: on, the kernel sends; off, it shows NO-CARRIER and stops. It may
    // fail when the interface is gone; refreshLinkStatus then reports the link down.
    kernelEnd_.setCarrier(enable);
    setRunning(enable);
    for (Queue& queue : queues()) {
        // The pool may have been replaced since open (setPool): post from the one there is now.
        if (queue.rxRing && enable && !queue.dead.load(std::memory_order_relaxed))
            queue.rxRing->start(*pool(), receiveRingLimit());
        else if (queue.rxRing) queue.rxRing->stop();
        if (!enable) drain(queue);
    }
    refreshLinkStatus();
    return 0;
}

LinkStatus TapDriver::refreshLinkStatus() {
    unsigned flags = 0;
    moveKernelEndToLiveQueue();
    bool alive = std::any_of(queues().begin(), queues().end(), [](const Queue& q) { return !q.dead; });
    // The carrier is ours (on while running), so the link is up when the kernel's end is: its
    // IFF_RUNNING would say the same, but only after the kernel's link watch catches up.
    bool up = alive && isRunning() && kernelEnd_.flags(flags) == 0 && (flags & IFF_UP) != 0;
    setLinkStatus(up ? LinkStatus::up : LinkStatus::down);
    return linkStatus();
}

int TapDriver::eventLoopChanged() {
    // The framework cancelled the old loop's watchdog; start one on the new loop, if any.
    return eventLoop() != nullptr ? setRelativeTimeout(kLinkWatchdog) : 0;
}

void TapDriver::timeoutOccurred() {
    reattach();  // harmless when nothing was deleted; ENODEV while the interface is not back
    refreshLinkStatus();
    setRelativeTimeout(kLinkWatchdog);
}

std::string TapDriver::interfaceName() const {
    std::string name;
    return kernelEnd_.name(name) == 0 ? name : name_;
}

unsigned TapDriver::maxMtu() const { return maxMtu_; }

int TapDriver::setMtu(unsigned mtu) {
    if (mtu < kMinMtu || mtu > maxMtu_) return EINVAL;
    if (int error = kernelEnd_.setMtu(mtu)) return error;
    return IONetwork::setMtu(mtu);
}

unsigned TapDriver::queueCount() const { return queueCount_; }

// The epoll set holds the tap descriptor (rx=readv) or the ring's completion descriptor (rx=uring,
// whose read empties the tap descriptor): see watch().
int TapDriver::interruptEventFd(unsigned queue) const { return queue < queueCount_ ? queues_[queue].interrupt : -1; }

int TapDriver::setInterruptsEnabled(unsigned queue, bool enabled) {
    (void)enabled;  // a tap descriptor is always readable when frames wait: nothing to arm or mask
    return queue < queueCount_ ? 0 : EINVAL;
}

void TapDriver::moveKernelEndToLiveQueue() {
    // Queue 0's descriptor carries the kernel end's ioctls until its queue dies; the queue's own
    // thread only marks it dead, and this (control, watchdog) moves the ioctls to a live queue.
    if (!queues_[0].dead.load(std::memory_order_relaxed)) return;
    for (const Queue& other : queues()) {
        if (!other.dead.load(std::memory_order_relaxed)) {
            kernelEnd_.setTapFd(other.fd);
            return;
        }
    }
}

std::uint64_t TapDriver::sumOf(Counter Queue::*counter) const {
    std::uint64_t total = 0;
    for (const Queue& queue : queues()) total += (queue.*counter).load(std::memory_order_relaxed);
    return total;
}

void TapDriver::drain(Queue& queue) {
    if (queue.dead.load(std::memory_order_relaxed)) return;
    std::uint8_t scratch[2048];
    for (unsigned i = 0; i < 4096 && read(queue.fd, scratch, sizeof scratch) >= 0; ++i) {
    }
}

// ---- receive ---------------------------------------------------------------------------------

void TapDriver::fillSpares(Queue& queue) {
    unsigned missing = kBurst - queue.spareCount;
    if (missing == 0) return;
    if (pool()->getBulk(queue.spare + queue.spareCount, missing) == 0) {
        queue.spareCount = kBurst;
        return;
    }
    // The pool runs low: take what is left one by one; frames then wait in the kernel's queue.
    while (queue.spareCount < kBurst) {
        Netbuf* netbuf = pool()->allocate();
        if (netbuf == nullptr) break;
        queue.spare[queue.spareCount++] = netbuf;
    }
}

bool TapDriver::acceptFrame(Queue& queue, const VirtioNetHeader& header, std::uint32_t length, std::uint32_t room) {
    Counter* reason = nullptr;
    switch (TapFrameCheck{room, mtu(), offloads_}.judge(header.offload(), length)) {
    case TapFrameCheck::Verdict::accepted:
        return true;
    case TapFrameCheck::Verdict::truncated:
        reason = &queue.truncated;
        break;
    case TapFrameCheck::Verdict::runt:
        reason = &queue.runts;
        break;
    case TapFrameCheck::Verdict::oversize:
        reason = &queue.oversize;
        break;
    case TapFrameCheck::Verdict::badOffload:
        reason = &queue.badOffloads;
        break;
    }
    reason->store(reason->load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // single writer
    return false;
}

// Takes the frame a read of @p result bytes put in @p netbuf, or counts it as malformed.
bool TapDriver::takeFrame(Queue& queue, Netbuf* netbuf, const VirtioNetHeader& header, long result,
                          std::uint32_t room) {
    std::uint32_t length = result > kVnetHeaderSize ? static_cast<std::uint32_t>(result - kVnetHeaderSize) : 0;
    if (!acceptFrame(queue, header, length, room)) return false;
    netbuf->setSize(length);
    netbuf->offload() = header.offload();
    return true;
}

unsigned TapDriver::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    if (!isRunning() || queue >= queueCount_) return 0;
    Queue& rq = queues_[queue];
    if (rq.rxRing) return receiveFromRing(queue, rq, out, max);
    if (rq.dead.load(std::memory_order_relaxed)) return 0;
    if (rq.starved && !retryStarved(rq)) return 0;
    fillSpares(rq);
    if (rq.spareCount == 0) {  // the pool ran dry: frames wait in the kernel's queue
        starve(rq);
        return 0;
    }
    unsigned limit = std::min({max, kBurst, rq.spareCount});
    if (limit == 0) return 0;
    std::uint32_t headroom = pool()->headroom();
    VirtioNetHeader headers[kBurst];
    iovec vectors[kBurst][2];
    int results[kBurst];
    // Slot i reads into spare[spareCount - 1 - i]. The first read alone tells an idle queue
    // cheaply (EAGAIN); when it brought a frame, the rest go in one io_uring batch.
    auto prepare = [&](unsigned i) {
        Netbuf* netbuf = rq.spare[rq.spareCount - 1 - i];
        netbuf->resetForReceive(headroom);  // spares come from getBulk: nothing of a past use stays
        vectors[i][0] = {&headers[i], kVnetHeaderSize};
        vectors[i][1] = {netbuf->data(), netbuf->tailroom()};
    };
    prepare(0);
    ssize_t first = readv(rq.fd, vectors[0], 2);
    if (first < 0) {
        if (errno == EBADFD || errno == EBADF || errno == ENXIO) queueDied(rq);
        return 0;  // EAGAIN: the kernel's queue is empty
    }
    results[0] = static_cast<int>(first);
    unsigned attempted = 1;
    if (limit > 1) {
        for (unsigned i = 1; i < limit; ++i) prepare(i);
        // Not io_uring: it does not honour O_NONBLOCK for tun reads and would wait for frames.
        for (; attempted < limit; ++attempted) {
            ssize_t r = readv(rq.fd, vectors[attempted], 2);
            if (r < 0) break;
            results[attempted] = static_cast<int>(r);
        }
    }
    unsigned got = 0, kept = rq.spareCount - attempted, malformed = 0;
    bool died = false;
    Netbuf* used[kBurst];  // copied out first: unused ones go back into the same spare slots
    for (unsigned i = 0; i < attempted; ++i) used[i] = rq.spare[rq.spareCount - 1 - i];
    for (unsigned i = 0; i < attempted; ++i) {
        Netbuf* netbuf = used[i];
        if (results[i] >= 0 &&
            takeFrame(rq, netbuf, headers[i], results[i], static_cast<std::uint32_t>(vectors[i][1].iov_len))) {
            out[got++] = netbuf;
            continue;
        }
        if (results[i] >= 0) ++malformed;  // its reason counted by acceptFrame
        died = died || results[i] == -EBADFD || results[i] == -ENXIO;
        rq.spare[kept++] = netbuf;  // not used: stays a spare
    }
    rq.spareCount = kept;
    if (died) queueDied(rq);
    if (malformed != 0) report(QueueEvent::receiveError, queue, malformed);
    if (got != 0 && linkStatus() != LinkStatus::up) setLinkStatus(LinkStatus::up);
    return got;
}

// ---- transmit --------------------------------------------------------------------------------

VirtioNetHeader TapDriver::headerFor(const Netbuf& packet) {
    const NetbufOffload& offload = packet.offload();
    VirtioNetHeader header = VirtioNetHeader::from(offload);
    if (offload.gsoType == NetbufOffload::kGsoNone) return header;
    // hdr_len: the bytes of headers before the payload of a super-packet. The kernel only needs
    // a hint (it raises hdr_len to cover the checksum field), but the right value saves it a copy.
    std::uint8_t type = offload.gsoType & ~NetbufOffload::kGsoEcn;
    std::uint32_t start = offload.csumStart;
    if ((type == NetbufOffload::kGsoTcpV4 || type == NetbufOffload::kGsoTcpV6) && start + 13 < packet.size())
        header.headerLength = static_cast<std::uint16_t>(start + (packet.data()[start + 12] >> 4) * 4);
    else if (type == NetbufOffload::kGsoUdpL4) header.headerLength = static_cast<std::uint16_t>(start + 8);
    return header;
}

unsigned TapDriver::dropBurst(unsigned queue, Netbuf** packets, unsigned count) {
    for (unsigned i = 0; i < count; ++i) report(QueueEvent::transmitError, queue, *packets[i]);
    NetbufPool::freeToOwners(packets, count);
    return count;
}

unsigned TapDriver::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    if (!isRunning() || queueCount_ == 0) return 0;
    unsigned index = queue % queueCount_;
    Queue& tq = queues_[index];
    unsigned base = 0;
    while (base < count && !tq.dead.load(std::memory_order_relaxed)) {
        unsigned n = std::min(kBurst, count - base);
        transmitChunk(index, tq, packets + base, n);
        base += n;
    }
    if (base < count) dropBurst(index, packets + base, count - base);  // behind a deleted interface
    return count;
}

// Writes up to kBurst frames, then frees them all: the kernel copied those it took; a refused
// one is counted as an output error (tun never pushes back with EAGAIN: it drops and counts
// itself when its backlog is full).
void TapDriver::transmitChunk(unsigned index, Queue& tq, Netbuf** packets, unsigned n) {
    VirtioNetHeader headers[kBurst];
    iovec vectors[kBurst][2];
    int results[kBurst];
    for (unsigned i = 0; i < n; ++i) {
        headers[i] = headerFor(*packets[i]);
        vectors[i][0] = {&headers[i], kVnetHeaderSize};
        vectors[i][1] = {packets[i]->data(), packets[i]->size()};
    }
    if (!tq.uring || tq.uring->writeBurst(tq.fd, vectors, n, results) != 0) {
        for (unsigned i = 0; i < n; ++i) {
            ssize_t r = writev(tq.fd, vectors[i], 2);
            results[i] = r >= 0 ? static_cast<int>(r) : -errno;
            if (results[i] == -EIO || results[i] == -EBADFD) {  // the rest would fail alike
                for (unsigned j = i + 1; j < n; ++j) results[j] = results[i];
                break;
            }
        }
    }
    bool sent = false, down = false, gone = false;
    for (unsigned i = 0; i < n; ++i) {
        if (results[i] >= 0) {
            sent = true;
            continue;
        }
        report(QueueEvent::transmitError, index, *packets[i]);
        down = down || results[i] == -EIO;  // the interface is down (also after a move to another netns)
        gone = gone || results[i] == -EBADFD || results[i] == -ENXIO;
    }
    NetbufPool::freeToOwners(packets, n);
    if (gone) queueDied(tq);
    else if (down) setLinkStatus(LinkStatus::down);
    else if (sent && linkStatus() != LinkStatus::up) setLinkStatus(LinkStatus::up);
}

}  // namespace nexnet
