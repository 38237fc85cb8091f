// XdpDriver: queues of a Linux interface through AF_XDP (Documentation/networking/af_xdp.rst).
//
// Opening, in the order the kernel needs: the interface (XdpInterface), the pool, the XDP program
// loaded and attached (its mode decides the sockets' copy mode), then one socket per queue, bound.
// Up puts the sockets in the program's XSKMAP; until then every frame stays the kernel's.
#include "drivers/xdp/XdpDriver.h"

#include "framework/EventLoop.h"
#include "netbuf/InternetChecksum.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <linux/if_packet.h>
#include <map>
#include <mutex>
#include <net/if.h>

namespace nexnet {

namespace {

constexpr unsigned kVlanTag = 4;                // a frame may carry an 802.1Q tag beyond the MTU
constexpr unsigned kStatisticsInterval = 4096;  // receive calls between two XDP_STATISTICS reads
constexpr auto kLinkWatchdog = std::chrono::seconds(1);

// The pool of every xdp: driver of this process with @p count netbufs: one pool, registered as
// the UMEM of each of their sockets, so they forward to each other without copying.
Result<std::shared_ptr<NetbufPool>> xdpPool(std::uint32_t count, std::string& message) {
    using R = Result<std::shared_ptr<NetbufPool>>;
    static std::mutex lock;
    static std::map<std::uint32_t, std::weak_ptr<NetbufPool>> pools;
    std::lock_guard guard(lock);
    if (auto pool = pools[count].lock()) return pool;
    NetbufPool::Options options;
    options.count = count;
    options.headroom = XdpDriver::kHeadroom;
    options.dataRoom = XdpDriver::kChunkSize - XdpDriver::kHeadroom;
    options.name = "nexnet-xdp";
    auto made = NetbufPool::create(options);
    if (!made) {
        message = "cannot make a pool of " + std::to_string(count) + " netbufs: " + std::strerror(made.error());
        return R::failure(made.error());
    }
    std::shared_ptr<NetbufPool> pool(std::move(made.value()));
    pools[count] = pool;
    return pool;
}

}  // namespace

// ---- opening ---------------------------------------------------------------------------------

Result<std::unique_ptr<XdpDriver>> XdpDriver::create(const Options& options) {
    using R = Result<std::unique_ptr<XdpDriver>>;
    std::unique_ptr<XdpDriver> driver(new XdpDriver());
    std::string message;
    if (int error = driver->open(options, message); error != 0) return R::failure(error, message);
    return R(std::move(driver));
}

int XdpDriver::open(const Options& options, std::string& message) {
    if (options.queues == 0 || options.queues > kMaxQueues) {
        message = "queues must be 1 to " + std::to_string(kMaxQueues);
        return EINVAL;
    }
    auto interface = XdpInterface::open(options.interface, message, options.askForXdpFeatures);
    if (!interface) return interface.error();
    interface_ = std::move(interface.value());
    setName(options.interface);
    firstQueue_ = options.firstQueue;
    unsigned available = interface_->receiveQueues();
    if (available != 0 && options.firstQueue + options.queues > available) {
        message = options.interface + " has " + std::to_string(available) +
            (available == 1 ? " receive queue" : " receive queues") + " (ethtool -L changes that): queues " +
            std::to_string(options.firstQueue) + " to " + std::to_string(options.firstQueue + options.queues - 1) +
            " do not all exist";
        return EINVAL;
    }
    unsigned mtu = 1500;
    if (int error = interface_->mtu(mtu)) return error;
    if (mtu > maxMtu()) {
        message = options.interface + " has MTU " + std::to_string(mtu) + "; AF_XDP frames in 2 KiB chunks allow " +
            std::to_string(maxMtu()) + " at most (no multi-buffer): lower it with `ip link set dev " +
            options.interface + " mtu " + std::to_string(maxMtu()) + "`";
        return EINVAL;
    }
    IOEthernet::setMtu(mtu);
    maxFrame_ = mtu + kHeaderSize + kVlanTag;
    if (int error = attachToNetworkWithAddress(interface_->address())) return error;

    auto pool = xdpPool(options.poolSize, message);
    if (!pool) return pool.error();
    setPool(pool.value());
    poolId_ = pool.value()->id();
    counters_.resize(options.queues);

    auto program = XdpProgram::load(options.filter, std::max(available, options.firstQueue + options.queues), message);
    if (!program) return program.error();
    program_ = std::move(program.value());
    if (int error = attachProgram(options, message)) return error;
    return openSockets(options, message);
}

// Native XDP when asked or, by default, when the interface has it: known from the kernel's
// xdp-features (Linux 6.3), otherwise found by trying native first.
int XdpDriver::attachProgram(const Options& options, std::string& message) {
    const XdpInterface& i = *interface_;
    const std::string features = i.xdpFeaturesKnown() ? "xdp-features: " + i.xdpFeatureNames()
                                                      : "no xdp-features before Linux 6.3: found by trying";
    const bool nativeOffered = !i.xdpFeaturesKnown() || (i.xdpFeatures() & XdpInterface::kXdpRedirect) != 0;
    if (options.mode == ModeChoice::native && !nativeOffered) {
        message =
            i.name() + " (" + i.driverName() + ") has no native XDP redirect (" + features + "): use mode=generic";
        return EOPNOTSUPP;
    }
    if (options.mode != ModeChoice::generic && nativeOffered) {
        std::string refusal;
        int error = program_->attach(i.index(), i.name(), XdpAttachMode::native, refusal);
        if (error == 0) {
            modeReason_ = std::string("native XDP") + (options.mode == ModeChoice::native ? " as asked" : "") + " (" +
                features + ")";
            return 0;
        }
        if (error != EOPNOTSUPP || options.mode == ModeChoice::native) {
            message = refusal;
            return error;
        }
        modeReason_ = "generic XDP: the kernel refused native XDP (EOPNOTSUPP; " + features + ")";
    } else {
        modeReason_ = options.mode == ModeChoice::generic
            ? "generic XDP as asked"
            : "generic XDP: the interface offers no native XDP redirect (" + features + ")";
    }
    return program_->attach(i.index(), i.name(), XdpAttachMode::generic, message);
}

int XdpDriver::openSockets(const Options& options, std::string& message) {
    const XdpInterface& i = *interface_;
    XdpSocket::Config config;
    config.interface = i.name();
    config.ringSize = options.ringSize;
    config.copyMode = options.copyMode;
    config.busyPollMicroseconds = options.busyPollMicroseconds;
    std::string copyReason = options.copyMode == XdpSocket::CopyMode::copy ? "as asked (zerocopy=off)" : "";
    bool generic = program_->mode() == XdpAttachMode::generic;
    if (options.copyMode == XdpSocket::CopyMode::zeroCopy) {
        if (generic) {
            message = "zero-copy needs native XDP, and " + i.name() + " runs " + modeReason_;
            return options.mode == ModeChoice::generic ? EINVAL : EOPNOTSUPP;
        }
        if (i.xdpFeaturesKnown() && (i.xdpFeatures() & XdpInterface::kXdpZeroCopy) == 0) {
            message = i.name() + " (" + i.driverName() +
                ") does not offer AF_XDP zero-copy (xdp-features: " + i.xdpFeatureNames() +
                "): use zerocopy=auto or zerocopy=off";
            return EOPNOTSUPP;
        }
    } else if (generic) {
        config.copyMode = XdpSocket::CopyMode::copy;  // generic XDP works on socket buffers: always a copy
        copyReason = "generic XDP always copies";
    }
    for (unsigned q = 0; q < options.queues; ++q) {
        config.queue = options.firstQueue + q;
        auto socket = XdpSocket::open(sharedPool(), config, message);
        if (!socket) return socket.error();
        sockets_.push_back(std::move(socket.value()));
    }
    if (copyReason.empty() && !zeroCopy()) {
        copyReason = i.xdpFeaturesKnown() && (i.xdpFeatures() & XdpInterface::kXdpZeroCopy) == 0
            ? "the driver has no AF_XDP zero-copy"
            : "the kernel chose it";
    }
    describe(options, copyReason);
    return 0;
}

void XdpDriver::describe(const Options& options, const std::string& copyReason) {
    const XdpInterface& i = *interface_;
    const NetbufPool& p = *pool();
    std::string queues = options.queues == 1
        ? "queue " + std::to_string(firstQueue_)
        : "queues " + std::to_string(firstQueue_) + "-" + std::to_string(firstQueue_ + options.queues - 1);
    std::string filter = "whole queues";
    if (program_->filters()) {
        filter = "only";
        for (const XdpFilterRule& rule : options.filter)
            filter += std::string(rule.protocol == 17 ? " udp:" : " tcp:") + std::to_string(rule.port);
    }
    setModeDescription("xdp:" + i.name() + " (" + (i.driverName().empty() ? "driver unknown" : i.driverName()) + ") " +
                       queues + ": " + modeReason_ + ", " + (zeroCopy() ? "zero-copy" : "copy mode") +
                       (copyReason.empty() ? "" : " (" + copyReason + ")") + ", need_wakeup, " +
                       (options.busyPollMicroseconds != 0
                            ? "busy polling " + std::to_string(options.busyPollMicroseconds) + " us"
                            : "no busy polling") +
                       "; program " + program_->name() + " id " + std::to_string(program_->programId()) +
                       " on bpf link " + std::to_string(program_->linkId()) + " (" + filter + "); pool " +
                       std::to_string(p.capacity()) + " x " + std::to_string(p.bufferSize()) + " B on " +
                       (p.dataRegion().usesHugepages() ? "2 MiB hugepages" : "4 KiB pages") + ", rings of " +
                       std::to_string(options.ringSize));
}

XdpDriver::~XdpDriver() {
    program_.reset();  // detached first: no frame is redirected to a socket that is closing
    sockets_.clear();
}

bool XdpDriver::zeroCopy() const {
    return !sockets_.empty() &&
        std::all_of(sockets_.begin(), sockets_.end(), [](const auto& s) { return s->zeroCopy(); });
}

// ---- up, down, link, filters -----------------------------------------------------------------

int XdpDriver::resetAndEnable(bool enable) {
    if (!enable) {
        for (unsigned q = 0; q < sockets_.size(); ++q) program_->removeSocket(firstQueue_ + q);
        setRunning(false);
        for (auto& socket : sockets_) {
            socket->discardReceived();
            socket->reclaim();
        }
        setLinkStatus(LinkStatus::down);
        return 0;
    }
    for (unsigned q = 0; q < sockets_.size(); ++q) {
        sockets_[q]->refill();
        if (int error = program_->addSocket(firstQueue_ + q, sockets_[q]->fd())) return error;
    }
    setRunning(true);
    refreshLinkStatus();
    return 0;
}

LinkStatus XdpDriver::refreshLinkStatus() {
    unsigned flags = 0;
    bool up = isRunning() && interface_->flags(flags) == 0 && (flags & IFF_RUNNING) != 0;
    setLinkStatus(up ? LinkStatus::up : LinkStatus::down);
    return linkStatus();
}

int XdpDriver::eventLoopChanged() {
    // The framework cancelled the old loop's watchdog; start one on the new loop, if any.
    return eventLoop() != nullptr ? setRelativeTimeout(kLinkWatchdog) : 0;
}

void XdpDriver::timeoutOccurred() {
    refreshLinkStatus();
    setRelativeTimeout(kLinkWatchdog);
}

unsigned XdpDriver::maxMtu() const { return kMaxMtu; }

int XdpDriver::setMtu(unsigned mtu) {
    if (mtu < 68 || mtu > maxMtu()) return EINVAL;  // 68: RFC 791's minimum, as IONetwork::setMtu
    if (int error = interface_->setMtu(mtu)) return error;
    maxFrame_ = mtu + kHeaderSize + kVlanTag;
    return IOEthernet::setMtu(mtu);
}

int XdpDriver::setHardwareAddress(const EthernetAddress& address) {
    return address == interface_->address() ? IOEthernet::setHardwareAddress(address) : EOPNOTSUPP;
}

// A membership is counted by the kernel: asking twice for the same mode would count twice.
int XdpDriver::setPromiscuousMode(bool enabled) {
    if (enabled == isPromiscuous()) return 0;
    if (int error = interface_->setMembership(PACKET_MR_PROMISC, enabled)) return error;
    return IOEthernet::setPromiscuousMode(enabled);
}

int XdpDriver::setMulticastMode(bool enabled) {
    if (enabled == isAllMulticast()) return 0;
    if (int error = interface_->setMembership(PACKET_MR_ALLMULTI, enabled)) return error;
    return IOEthernet::setMulticastMode(enabled);
}

int XdpDriver::addMulticastAddress(const EthernetAddress& address) {
    auto& joined = multicastAddresses();
    bool already = std::find(joined.begin(), joined.end(), address) != joined.end();
    if (int error = IOEthernet::addMulticastAddress(address); error != 0 || already) return error;
    int error = interface_->setMembership(PACKET_MR_MULTICAST, true, &address);
    if (error != 0) IOEthernet::removeMulticastAddress(address);
    return error;
}

int XdpDriver::removeMulticastAddress(const EthernetAddress& address) {
    if (int error = IOEthernet::removeMulticastAddress(address)) return error;
    return interface_->setMembership(PACKET_MR_MULTICAST, false, &address);
}

// ---- the data path ---------------------------------------------------------------------------

unsigned XdpDriver::queueCount() const { return static_cast<unsigned>(sockets_.size()); }

int XdpDriver::interruptEventFd(unsigned queue) const { return queue < sockets_.size() ? sockets_[queue]->fd() : -1; }

void XdpDriver::interruptOccurred(unsigned queue) {
    if (queue < sockets_.size() && sockets_[queue]->reclaim() != 0 && counters_[queue].transmitFull) {
        counters_[queue].transmitFull = false;
        transmitRoomAvailable(queue);
    }
    IOEthernet::interruptOccurred(queue);
}

unsigned XdpDriver::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    if (!isRunning() || queue >= sockets_.size()) return 0;
    unsigned errors = 0;
    unsigned n = sockets_[queue]->receive(out, std::min(max, kBurst), errors);
    if (errors != 0) [[unlikely]]
        report(QueueEvent::receiveError, queue, errors);
    if (++counters_[queue].receiveCalls == kStatisticsInterval) [[unlikely]]
        refreshKernelStatistics(queue);
    return n;
}

unsigned XdpDriver::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    if (!isRunning() || sockets_.empty()) return 0;
    unsigned q = queue % queueCount();
    XdpSocket& socket = *sockets_[q];
    socket.reclaim();
    unsigned accepted = socket.transmitRoom(count);
    if (accepted < count) counters_[q].transmitFull = true;
    Netbuf* ready[kBurst];
    for (unsigned base = 0; base < accepted; base += kBurst) {
        unsigned n = std::min(kBurst, accepted - base), k = 0;
        for (unsigned i = 0; i < n; ++i) {
            if (Netbuf* netbuf = prepareForTransmit(q, packets[base + i])) ready[k++] = netbuf;
        }
        socket.transmit(ready, k);
    }
    if (int error = socket.kick(); error != 0) [[unlikely]] {
        // ENETDOWN: the interface is down; ENXIO: it is gone. The frames wait in the ring.
        setLinkStatus(LinkStatus::down);
    }
    return accepted;
}

// Not one of ours, or not ready to go as it is: a copy into the pool, a checksum to finish, or a
// frame the link cannot take.
Netbuf* XdpDriver::prepareSlowly(unsigned queue, Netbuf* packet) {
    const NetbufOffload& offload = packet->offload();
    std::uint32_t size = packet->size();
    if (offload.gsoType != NetbufOffload::kGsoNone || size < kHeaderSize || size > maxFrame_ ||
        !offload.isConsistentWith(size)) {
        report(QueueEvent::transmitError, queue, *packet);  // a super-packet, a runt, too long, a bad checksum place
        packet->free();
        return nullptr;
    }
    Netbuf* frame = packet;
    if (packet->poolId() != poolId_) {
        frame = pool()->allocate();
        if (frame == nullptr) {
            report(QueueEvent::transmitDrop, queue, *packet);  // the pool is empty: nothing to copy into
            packet->free();
            return nullptr;
        }
        frame->append(packet->data(), size);  // fits: size <= maxFrame_ <= the data room
        frame->offload() = offload;
        packet->free();
    }
    finishPartialChecksum(*frame);  // consistent: checked above
    frame->offload() = NetbufOffload{};
    return frame;
}

void XdpDriver::refreshKernelStatistics(unsigned queue) {
    if (queue >= sockets_.size()) return;
    KernelCounters& last = counters_[queue];
    last.receiveCalls = 0;
    xdp_statistics now{};
    if (sockets_[queue]->statistics(now) != 0) return;
    // rx_dropped: no fill buffer, or a frame too long for a chunk; rx_ring_full: we did not keep up.
    std::uint64_t drops = (now.rx_dropped - last.dropped) + (now.rx_ring_full - last.ringFull);
    if (drops != 0) report(QueueEvent::receiveDrop, queue, drops);
    if (now.rx_invalid_descs != last.invalidReceive)
        report(QueueEvent::receiveError, queue, now.rx_invalid_descs - last.invalidReceive);
    if (now.tx_invalid_descs != last.invalidTransmit)
        report(QueueEvent::transmitError, queue, now.tx_invalid_descs - last.invalidTransmit);
    last.dropped = now.rx_dropped;
    last.ringFull = now.rx_ring_full;
    last.invalidReceive = now.rx_invalid_descs;
    last.invalidTransmit = now.tx_invalid_descs;
}

}  // namespace nexnet
