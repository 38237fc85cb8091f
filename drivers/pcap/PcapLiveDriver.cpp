#include "drivers/pcap/PcapLiveDriver.h"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nexnet {

namespace {

int activationError(int status) {
    switch (status) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
        return ENODEV;
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        return EPERM;
    case PCAP_ERROR_IFACE_NOT_UP:
        return ENETDOWN;
    default:
        return EIO;
    }
}

// The interface's hardware address (SIOCGIFHWADDR), or a random local one when it has none.
EthernetAddress interfaceAddress(const std::string& name) {
    EthernetAddress address = EthernetAddress::randomLocal();
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return address;
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name.c_str());
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) {
        EthernetAddress found;
        std::memcpy(found.bytes.data(), ifr.ifr_hwaddr.sa_data, 6);
        if ((found.bytes[0] & 1) == 0 && found != EthernetAddress{}) address = found;
    }
    ::close(fd);
    return address;
}

}  // namespace

PcapLiveDriver::PcapLiveDriver(const Options& options) : options_(options) {
    setName(options.interfaceName);
    attachToNetworkWithAddress(interfaceAddress(options.interfaceName));
}

PcapLiveDriver::~PcapLiveDriver() {
    if (live_ != nullptr) pcap_close(live_);
}

Result<std::unique_ptr<PcapLiveDriver>> PcapLiveDriver::create(const Options& options, std::string* message) {
    using R = Result<std::unique_ptr<PcapLiveDriver>>;
    if (options.interfaceName.empty() || options.interfaceName.size() >= IFNAMSIZ || options.poolSize == 0)
        return R::failure(EINVAL);
    std::unique_ptr<PcapLiveDriver> driver(new PcapLiveDriver(options));
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t* live = pcap_create(options.interfaceName.c_str(), errbuf);
    if (live == nullptr) {
        if (message != nullptr) *message = errbuf;
        return R::failure(ENODEV);
    }
    driver->live_ = live;
    NetbufPool::Options poolOptions;
    poolOptions.count = options.poolSize;
    poolOptions.name = "nexnet-pcap-live";
    // Immediate mode: a frame is readable as soon as it arrives, not when a ring block fills.
    pcap_set_snaplen(live, 65535);
    pcap_set_promisc(live, options.promiscuous ? 1 : 0);
    pcap_set_immediate_mode(live, 1);
    pcap_set_tstamp_precision(live, PCAP_TSTAMP_PRECISION_NANO);
    int status = pcap_activate(live);
    if (status < 0) {
        if (message != nullptr) *message = options.interfaceName + ": " + pcap_geterr(live);
        return R::failure(activationError(status));
    }
    if (pcap_datalink(live) != DLT_EN10MB) {
        if (message != nullptr) *message = options.interfaceName + ": not an Ethernet interface";
        return R::failure(EPROTONOSUPPORT);
    }
    if (pcap_setnonblock(live, 1, errbuf) != 0 || pcap_setdirection(live, PCAP_D_IN) != 0) {
        if (message != nullptr) *message = options.interfaceName + ": " + pcap_geterr(live);
        return R::failure(EIO);
    }
    driver->selectableFd_ = pcap_get_selectable_fd(live);
    auto pool = NetbufPool::create(poolOptions);
    if (!pool) return R::failure(pool.error());
    driver->dataRoom_ = poolOptions.dataRoom;
    driver->setPool(std::shared_ptr<NetbufPool>(std::move(pool.value())));
    return R(std::move(driver));
}

int PcapLiveDriver::registerWith(DriverRegistry& registry) {
    return registry.registerDriver("pcap-live", "pcap-live:IFNAME[,promisc=0|1][,pool=N]",
                                   "a live Linux interface through libpcap (pcap_dispatch, pcap_inject)",
                                   {"promisc", "pool"}, [](const DriverUri& uri) {
                                       using R = Result<std::unique_ptr<IONetwork>>;
                                       Options options;
                                       options.interfaceName = uri.target;
                                       auto promisc = uri.flag("promisc", true);
                                       auto pool = uri.number("pool", 4096, UINT32_MAX - 1, 1);
                                       if (!promisc) return R::failure(promisc);
                                       if (!pool) return R::failure(pool);
                                       options.promiscuous = promisc.value();
                                       options.poolSize = static_cast<std::uint32_t>(pool.value());
                                       std::string message;
                                       auto driver = create(options, &message);
                                       if (!driver) return R::failure(driver.error(), message);
                                       return R(std::unique_ptr<IONetwork>(std::move(driver.value())));
                                   });
}

int PcapLiveDriver::resetAndEnable(bool enable) {
    setRunning(enable);
    setLinkStatus(enable ? LinkStatus::up : LinkStatus::down);
    return 0;
}

unsigned PcapLiveDriver::maxMtu() const { return dataRoom_ - kHeaderSize; }

int PcapLiveDriver::interruptEventFd(unsigned queue) const { return queue == 0 ? selectableFd_ : -1; }

int PcapLiveDriver::setInterruptsEnabled(unsigned, bool) { return 0; }

void PcapLiveDriver::onFrame(unsigned char* context, const pcap_pkthdr* header, const unsigned char* bytes) {
    auto* self = reinterpret_cast<PcapLiveDriver*>(context);
    if (header->caplen > self->dataRoom_) {  // never cut a frame silently
        ++self->oversizeDrops_;
        self->report(QueueEvent::receiveDrop, self->queue_);
        return;
    }
    Netbuf* netbuf = self->pool()->allocate();
    if (netbuf == nullptr) {
        self->report(QueueEvent::receiveDrop, self->queue_);
        return;
    }
    netbuf->setSize(header->caplen);
    std::memcpy(netbuf->data(), bytes, header->caplen);
    netbuf->setTimestamp(static_cast<std::uint64_t>(header->ts.tv_sec) * 1000000000u +
                         static_cast<std::uint64_t>(header->ts.tv_usec));
    self->burst_[self->burstCount_++] = netbuf;
}

unsigned PcapLiveDriver::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    if (!isRunning() || max == 0) return 0;
    burst_ = out;
    burstCount_ = 0;
    queue_ = queue;
    // One call per burst; in non-blocking mode it returns at once when nothing waits.
    int result =
        pcap_dispatch(live_, static_cast<int>(max), &PcapLiveDriver::onFrame, reinterpret_cast<unsigned char*>(this));
    if (result < 0 && result != PCAP_ERROR_BREAK) report(QueueEvent::receiveError, queue);
    unsigned received = burstCount_;
    burst_ = nullptr;
    return received;
}

unsigned PcapLiveDriver::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    if (!isRunning()) return 0;
    unsigned accepted = 0;
    for (; accepted < count; ++accepted) {
        Netbuf* packet = packets[accepted];
        if (pcap_inject(live_, packet->data(), packet->size()) >= 0) continue;
        if (errno == EAGAIN || errno == ENOBUFS || errno == EWOULDBLOCK) break;  // full: retry later
        report(QueueEvent::transmitError, queue, *packet);                       // refused (too long, link gone)
    }
    NetbufPool::freeToOwners(packets, accepted);  // the kernel copied what it took
    return accepted;
}

}  // namespace nexnet
