// VxlanEthernet: the smallest complete driver (docs/writing-a-driver.md, "The smallest driver").
#include "samples/vxlan/VxlanEthernet.h"

#include "framework/DriverPlugin.h"
#include "framework/DriverRegistry.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace nexnet {

namespace {
constexpr std::uint8_t kValidVni = 0x08;  // RFC 7348 section 5: the I flag
}

Result<std::unique_ptr<VxlanEthernet>> VxlanEthernet::create(in_addr remote, std::uint32_t vni, std::uint16_t port,
                                                             std::uint32_t poolSize) {
    using R = Result<std::unique_ptr<VxlanEthernet>>;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return R::failure(errno, std::string("socket: ") + std::strerror(errno));
    std::unique_ptr<VxlanEthernet> driver(new VxlanEthernet(fd, vni));
    // Not connected: a VXLAN sender picks its source port per flow (RFC 7348 section 5), so
    // datagrams come from many ports; ours go to the peer's well-known port.
    sockaddr_in local{AF_INET, htons(port), {INADDR_ANY}, {}};
    driver->peer_ = {AF_INET, htons(port), remote, {}};
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
        return R::failure(errno, "UDP port " + std::to_string(port) + ": " + std::strerror(errno));
    auto pool = NetbufPool::create(poolSize);
    if (!pool) return R::failure(pool.error(), "cannot make a pool of " + std::to_string(poolSize) + " netbufs");
    driver->setPool(std::shared_ptr<NetbufPool>(std::move(pool.value())));
    driver->setMtu(1450);  // 1500 less the outer IPv4 (20), UDP (8), VXLAN (8) and inner Ethernet (14) headers
    return driver;
}

VxlanEthernet::VxlanEthernet(int fd, std::uint32_t vni) : fd_(fd) {
    setName("vxlan" + std::to_string(vni));
    attachToNetworkWithAddress(EthernetAddress::randomLocal());
    header_.flags = kValidVni;
    header_.vni[0] = static_cast<std::uint8_t>(vni >> 16);
    header_.vni[1] = static_cast<std::uint8_t>(vni >> 8);
    header_.vni[2] = static_cast<std::uint8_t>(vni);
    setLinkStatus(LinkStatus::up);
}

VxlanEthernet::~VxlanEthernet() { close(fd_); }

unsigned VxlanEthernet::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    unsigned n = std::min(max, kBurst);
    if (queue != 0 || !isRunning() || pool()->allocateBulk(out, n) != 0) return 0;
    for (unsigned i = 0; i < n; ++i) {
        vectors_[i][0] = {&rxHeaders_[i], sizeof(Header)};
        vectors_[i][1] = {out[i]->data(), out[i]->tailroom()};
        messages_[i].msg_hdr = {nullptr, 0, vectors_[i], 2, nullptr, 0, 0};
    }
    int received = recvmmsg(fd_, messages_, n, MSG_DONTWAIT, nullptr);
    unsigned got = 0, bad = 0;
    for (int i = 0; i < received; ++i) {
        const Header& h = rxHeaders_[i];
        bool ours = (h.flags & kValidVni) != 0 && std::memcmp(h.vni, header_.vni, 3) == 0;
        unsigned length = messages_[i].msg_len;
        if (!ours || length < sizeof(Header) + kHeaderSize || (messages_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
            ++bad;
            continue;
        }
        out[i]->setSize(length - static_cast<unsigned>(sizeof(Header)));
        std::swap(out[got++], out[i]);  // keep the good ones first, in order
    }
    if (bad != 0) report(QueueEvent::receiveError, 0, bad);
    pool()->freeBulk(out + got, n - got);  // the netbufs nothing was received into
    return got;
}

unsigned VxlanEthernet::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    unsigned n = std::min(count, kBurst);
    if (queue != 0 || !isRunning()) return 0;
    for (unsigned i = 0; i < n; ++i) {
        vectors_[i][0] = {&header_, sizeof(Header)};
        vectors_[i][1] = {packets[i]->data(), packets[i]->size()};
        messages_[i].msg_hdr = {&peer_, sizeof peer_, vectors_[i], 2, nullptr, 0, 0};
    }
    int sent = sendmmsg(fd_, messages_, n, MSG_DONTWAIT);
    if (sent < 0 && (errno == EAGAIN || errno == ENOBUFS)) return 0;  // full: the caller retries
    if (sent < 0) {  // this frame's fault (too long) or the network's: drop it, not the queue
        report(QueueEvent::transmitError, queue, *packets[0]);
        sent = 1;
    }
    NetbufPool::freeToOwners(packets, static_cast<unsigned>(sent));
    return static_cast<unsigned>(sent);
}

int VxlanEthernet::registerWith(DriverRegistry& registry) {
    return registry.registerDriver(
        "vxlan", "vxlan:REMOTE[,vni=N][,port=P][,pool=N]",
        "Ethernet in VXLAN over UDP (the smallest driver, a plug-in)", {"vni", "port", "pool"},
        [](const DriverUri& uri) -> Result<std::unique_ptr<IONetwork>> {
            using R = Result<std::unique_ptr<IONetwork>>;
            in_addr remote{};
            if (inet_pton(AF_INET, uri.target.c_str(), &remote) != 1)
                return R::failure(EINVAL, "'" + uri.target + "' is not an IPv4 address");
            auto vni = uri.number("vni", 42, 0xffffff);
            auto port = uri.number("port", 4789, 65535, 1);
            auto pool = uri.number("pool", 2048, 1u << 20, 64);
            if (!vni) return R::failure(vni);
            if (!port) return R::failure(port);
            if (!pool) return R::failure(pool);
            auto driver = create(remote, static_cast<std::uint32_t>(*vni), static_cast<std::uint16_t>(*port),
                                 static_cast<std::uint32_t>(*pool));
            if (!driver) return R::failure(driver);
            return std::unique_ptr<IONetwork>(std::move(driver.value()));
        });
}

}  // namespace nexnet

// The plug-in's entry points (framework/DriverPlugin.h).
extern "C" unsigned nexnet_driver_plugin_abi() { return nexnet::kDriverPluginAbi; }
extern "C" int nexnet_register_drivers(nexnet::DriverRegistry* registry) {
    return nexnet::VxlanEthernet::registerWith(*registry);
}
