// SampleEthernet: the tutorial driver. docs/writing-a-driver.md walks through this file.
//
// Why recvmmsg and not a PACKET_MMAP (TPACKET_V3) ring: the ring saves the syscall, but its
// frames live in the kernel's ring, not in our pool, so each one would have to be copied into a
// netbuf anyway (or lent out and handed back, which is a driver of its own). recvmmsg copies each
// frame once, straight into a netbuf, and costs one syscall per burst of 32: the same copy count,
// a twentieth of the code. The same holds for sendmmsg against a TX ring.
#include "samples/ethernet/SampleEthernet.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace nexnet {

namespace {
constexpr unsigned kVlanTag = 4;              // a frame may carry an 802.1Q tag beyond the MTU
constexpr int kReceiveBufferBytes = 4 << 20;  // the socket buffer is our receive ring: 4 MiB
}  // namespace

// ---- finding the hardware --------------------------------------------------------------------

Result<std::unique_ptr<SampleEthernet>> SampleEthernet::create(const Options& options) {
    using R = Result<std::unique_ptr<SampleEthernet>>;
    std::unique_ptr<SampleEthernet> driver(new SampleEthernet());
    if (int error = driver->open(options); error != 0) return R::failure(error);
    return R(std::move(driver));
}

int SampleEthernet::open(const Options& options) {
    if (options.interface.empty() || options.interface.size() >= IFNAMSIZ || options.poolSize == 0) return EINVAL;
    setName(options.interface);

    // Protocol 0: the socket hears nothing until it is bound below. Non-blocking: a driver
    // never sleeps, the event loop does.
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return errno;

    // The "registers": index, hardware address, MTU and flags of the interface.
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, options.interface.c_str(), options.interface.size());
    if (ioctl(fd_, SIOCGIFINDEX, &ifr) != 0) return errno;
    ifindex_ = ifr.ifr_ifindex;
    if (ioctl(fd_, SIOCGIFHWADDR, &ifr) != 0) return errno;
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) return EPROTONOSUPPORT;
    if (int error = attachToNetworkWithAddress(EthernetAddress::fromBytes(ifr.ifr_hwaddr.sa_data))) return error;
    if (ioctl(fd_, SIOCGIFMTU, &ifr) != 0) return errno;
    unsigned interfaceMtu = static_cast<unsigned>(ifr.ifr_mtu);
    if (ioctl(fd_, SIOCGIFFLAGS, &ifr) != 0) return errno;
    setLinkStatus((ifr.ifr_flags & IFF_RUNNING) != 0 ? LinkStatus::up : LinkStatus::down);

    // A NIC hears the wire, not its own host: without this, every frame the Linux stack (or this
    // socket) sends on the interface would come back to us as received.
    int on = 1;
    if (setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof on) != 0) return errno;
    // Frames arriving while the program is busy wait in the socket buffer, our receive ring:
    // make it hold a few thousand frames. FORCE passes rmem_max (we are root); best effort.
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBufferBytes, sizeof kReceiveBufferBytes);
    // Receive and send a virtio-net header with each frame: it says which checksums are left to
    // the hardware to finish (frames the host sent on a veth), and lets us ask the same on send.
    if (setsockopt(fd_, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof on) != 0) return errno;
    // Send straight to the device's queue, as a NIC's transmit ring does, skipping the qdisc.
    setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &on, sizeof on);

    // Receiver off (see resetAndEnable), then hook the socket into the interface's receive path
    // for every protocol.
    if (int error = resetAndEnable(false)) return error;
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_ifindex = ifindex_;
    address.sll_protocol = htons(ETH_P_ALL);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return errno;

    NetbufPool::Options poolOptions;
    poolOptions.count = options.poolSize;
    poolOptions.name = "nexnet-packet";
    auto pool = NetbufPool::create(poolOptions);
    if (!pool) return pool.error();
    setPool(std::shared_ptr<NetbufPool>(std::move(pool.value())));

    // The largest frame must fit in one netbuf (receiveBurst counts longer ones as errors).
    unsigned room = this->pool()->bufferSize() - this->pool()->headroom();
    maxMtu_ = std::min(interfaceMtu, room - kHeaderSize - kVlanTag);
    return setMtu(maxMtu_);
}

SampleEthernet::~SampleEthernet() {
    if (spareCount_ > 0) pool()->freeBulk(spare_, spareCount_);
    if (fd_ >= 0) close(fd_);
}

int SampleEthernet::registerWith(DriverRegistry& registry) {
    return registry.registerDriver("packet", "packet:IFNAME[,pool=N]",
                                   "the sample driver: an existing Linux interface through an AF_PACKET socket",
                                   {"pool"}, [](const DriverUri& uri) {
                                       using R = Result<std::unique_ptr<IONetwork>>;
                                       auto poolSize = uri.number("pool", 4096, UINT32_MAX - 1, 1);
                                       if (!poolSize) return R::failure(poolSize);
                                       auto driver = create({uri.target, static_cast<std::uint32_t>(poolSize.value())});
                                       if (!driver) return R::failure(driver);
                                       return R(std::unique_ptr<IONetwork>(std::move(driver.value())));
                                   });
}

// ---- up and down -----------------------------------------------------------------------------

int SampleEthernet::resetAndEnable(bool enable) {
    // The socket's filter is the receiver's enable bit. Stopped, a one-instruction classic BPF
    // program ("keep 0 bytes") drops every frame before it is queued: a stopped driver costs
    // nothing and its socket never wakes the event loop. Started, there is no filter.
    // (Binding to protocol 0 would not do: bind(2) takes 0 to mean "keep the current one".)
    int result = 0;
    if (enable) {
        result = setsockopt(fd_, SOL_SOCKET, SO_DETACH_FILTER, &result, sizeof result);
        if (result != 0 && errno == ENOENT) result = 0;  // no filter was attached
    } else {
        sock_filter keepNothing = {BPF_RET | BPF_K, 0, 0, 0};
        sock_fprog program = {1, &keepNothing};
        result = setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program);
        // Drop what arrived while we were up, as a reset empties a NIC's ring.
        while (result == 0 && recv(fd_, nullptr, 0, MSG_DONTWAIT | MSG_TRUNC) >= 0) {
        }
    }
    if (result != 0) return errno;
    if (enable) {
        // Read the link state, as a NIC driver reads its PHY when it starts.
        ifreq ifr{};
        std::memcpy(ifr.ifr_name, name().c_str(), name().size());
        if (ioctl(fd_, SIOCGIFFLAGS, &ifr) == 0)
            setLinkStatus((ifr.ifr_flags & IFF_RUNNING) != 0 ? LinkStatus::up : LinkStatus::down);
    }
    setRunning(enable);
    return 0;
}

// ---- receive ---------------------------------------------------------------------------------

unsigned SampleEthernet::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    if (!isRunning() || queue != 0) return 0;
    // Keep kBurst empty netbufs ready; refill only what the last burst used, in one bulk get.
    if (spareCount_ < kBurst && pool()->allocateBulk(spare_ + spareCount_, kBurst - spareCount_) == 0)
        spareCount_ = kBurst;
    unsigned n = std::min({max, kBurst, spareCount_});
    if (n == 0) return 0;  // pool exhausted: frames wait in the socket until netbufs come back

    // Point one message at each of the last n spare netbufs: the kernel copies frames into them.
    unsigned base = spareCount_ - n;
    for (unsigned i = 0; i < n; ++i) {
        Netbuf* netbuf = spare_[base + i];
        rxVectors_[i][0] = {&rxHeaders_[i], VirtioNetHeader::kLegacySize};
        rxVectors_[i][1] = {netbuf->data(), netbuf->tailroom()};
        rxMessages_[i].msg_hdr.msg_iov = rxVectors_[i];
        rxMessages_[i].msg_hdr.msg_iovlen = 2;
    }
    int received = recvmmsg(fd_, rxMessages_, n, MSG_DONTWAIT, nullptr);
    if (received <= 0) {
        if (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            int error = errno;
            report(QueueEvent::receiveError, 0);  // ENETDOWN: the interface went down or away
            if (error == ENETDOWN || error == ENXIO) setLinkStatus(LinkStatus::down);
        }
        return 0;
    }

    // Hand up the good frames; what we do not hand up goes back to the spares, in place.
    unsigned got = 0, bad = 0;
    unsigned kept = base;
    for (unsigned i = 0; i < static_cast<unsigned>(received); ++i) {
        Netbuf* netbuf = spare_[base + i];
        unsigned length = rxMessages_[i].msg_len - static_cast<unsigned>(VirtioNetHeader::kLegacySize);
        bool truncated = (rxMessages_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        const NetbufOffload offload = rxHeaders_[i].offload();
        if (truncated || rxMessages_[i].msg_len < VirtioNetHeader::kLegacySize + kHeaderSize ||
            !offload.isConsistentWith(length)) {
            bad++;  // longer than a netbuf, shorter than a header, a checksum outside it: a NIC drops them
            spare_[kept++] = netbuf;
        } else if (!isWanted(netbuf->data())) {
            spare_[kept++] = netbuf;  // filtered: not an error, the frame was not for us
        } else {
            netbuf->offload() = offload;
            netbuf->setSize(length);
            out[got++] = netbuf;
        }
    }
    for (unsigned i = static_cast<unsigned>(received); i < n; ++i) spare_[kept++] = spare_[base + i];
    spareCount_ = kept;
    if (bad != 0) report(QueueEvent::receiveError, 0, bad);  // the framework counts the rest
    return got;
}

bool SampleEthernet::isWanted(const std::uint8_t* frame) const {
    // A packet socket sees every frame the Linux interface accepted, including those for the
    // host's multicast groups and, on a veth or a promiscuous NIC, for other stations. Filter
    // as the NIC's address filter would, so upper layers see what they asked for.
    if ((frame[0] & 1) != 0) return !isUnwantedMulticastPacket(frame);
    return isPromiscuous() || std::memcmp(frame, hardwareAddress().bytes.data(), 6) == 0;
}

// ---- transmit --------------------------------------------------------------------------------

unsigned SampleEthernet::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    if (!isRunning() || queue != 0) return 0;
    unsigned n = std::min(count, kBurst);
    for (unsigned i = 0; i < n; ++i) {
        // Ask the kernel to finish what the netbuf says is left to finish (a reply that kept the
        // partial checksum of the frame it answers, a GSO super-packet from a tap).
        const NetbufOffload& offload = packets[i]->offload();
        txHeaders_[i] = VirtioNetHeader::from(offload);
        txHeaders_[i].flags = offload.flags & NetbufOffload::kNeedsChecksum;  // DATA_VALID means nothing on transmit
        txVectors_[i][0] = {&txHeaders_[i], VirtioNetHeader::kLegacySize};
        txVectors_[i][1] = {packets[i]->data(), packets[i]->size()};
        txMessages_[i].msg_hdr.msg_iov = txVectors_[i];
        txMessages_[i].msg_hdr.msg_iovlen = 2;
    }
    // No destination address: the socket is bound to the interface and the frames are complete.
    int sent = sendmmsg(fd_, txMessages_, n, MSG_DONTWAIT);
    if (sent < 0) {
        // A full socket (EAGAIN, ENOBUFS) is back-pressure: the caller keeps the frames and
        // retries. Anything else is this frame's fault (EMSGSIZE) or the link's (ENETDOWN,
        // ENXIO): drop the first frame so the ones behind it are not stuck forever.
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return 0;
        if (errno == ENETDOWN || errno == ENXIO) setLinkStatus(LinkStatus::down);
        report(QueueEvent::transmitError, queue, *packets[0]);  // taken, not sent: not counted as sent
        NetbufPool::freeToOwners(packets, 1);
        return 1;
    }
    // The kernel copied the frames: free them now, each to its own pool (they may have been
    // received by another driver, when forwarding). The framework counts them.
    NetbufPool::freeToOwners(packets, static_cast<unsigned>(sent));
    return static_cast<unsigned>(sent);
}

// ---- interrupts ------------------------------------------------------------------------------

int SampleEthernet::interruptEventFd(unsigned queue) const { return queue == 0 ? fd_ : -1; }

int SampleEthernet::setInterruptsEnabled(unsigned queue, bool enabled) {
    (void)enabled;  // the socket is always readable when frames wait: nothing to arm or mask
    return queue == 0 ? 0 : EINVAL;
}

unsigned SampleEthernet::maxMtu() const { return maxMtu_; }

// ---- address filters -------------------------------------------------------------------------

int SampleEthernet::setMembership(int type, bool add, const EthernetAddress* address) {
    // The kernel counts memberships per socket and drops them when the socket closes, so the
    // interface never stays promiscuous after the program exits.
    packet_mreq request{};
    request.mr_ifindex = ifindex_;
    request.mr_type = static_cast<unsigned short>(type);
    if (address != nullptr) {
        request.mr_alen = 6;
        std::memcpy(request.mr_address, address->bytes.data(), 6);
    }
    int option = add ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP;
    return setsockopt(fd_, SOL_PACKET, option, &request, sizeof request) == 0 ? 0 : errno;
}

int SampleEthernet::setHardwareAddress(const EthernetAddress& address) {
    if (address.isMulticast() || address.isZero()) return EINVAL;
    // We cannot reprogram the Linux interface's address (it belongs to the host), so frames for
    // a different address must be let through its filter: promiscuous while we use one.
    bool foreign = !(address == permanentAddress());
    if (foreign != foreignAddress_) {
        if (int error = setMembership(PACKET_MR_PROMISC, foreign)) return error;
        foreignAddress_ = foreign;
    }
    return IOEthernet::setHardwareAddress(address);
}

int SampleEthernet::setPromiscuousMode(bool enabled) {
    if (enabled == isPromiscuous()) return 0;
    if (int error = setMembership(PACKET_MR_PROMISC, enabled)) return error;
    return IOEthernet::setPromiscuousMode(enabled);
}

int SampleEthernet::setMulticastMode(bool enabled) {
    if (enabled == isAllMulticast()) return 0;
    if (int error = setMembership(PACKET_MR_ALLMULTI, enabled)) return error;
    return IOEthernet::setMulticastMode(enabled);
}

int SampleEthernet::addMulticastAddress(const EthernetAddress& address) {
    // IOEthernet first: it validates the address and keeps the list isWanted() checks.
    bool joined =
        std::find(multicastAddresses().begin(), multicastAddresses().end(), address) != multicastAddresses().end();
    if (int error = IOEthernet::addMulticastAddress(address)) return error;
    if (joined) return 0;
    int error = setMembership(PACKET_MR_MULTICAST, true, &address);
    if (error != 0) IOEthernet::removeMulticastAddress(address);
    return error;
}

int SampleEthernet::removeMulticastAddress(const EthernetAddress& address) {
    if (int error = IOEthernet::removeMulticastAddress(address)) return error;
    return setMembership(PACKET_MR_MULTICAST, false, &address);
}

}  // namespace nexnet
