#pragma once
/// @file XdpHarness.h
/// @brief What the xdp: driver's kernel-peer tests share: a veth pair between two namespaces made
/// for the test, the driver opened in-process on one end, and the kernel at the other.

#include "drivers/xdp/XdpDriver.h"
#include "framework/IOCommands.h"
#include "support/FrameBuilder.h"
#include "support/NamespaceEntry.h"
#include "support/NetworkNamespace.h"
#include "support/TestEnvironment.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <functional>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <memory>
#include <net/if.h>
#include <poll.h>
#include <string>
#include <sys/ioctl.h>
#include <thread>

namespace nexnet::test {

/// Skips (fails under CI=true) unless the kernel can be a peer and has AF_XDP sockets.
#define NEXNET_REQUIRE_XDP()                                                           \
    do {                                                                               \
        NEXNET_REQUIRE_KERNEL_PEER();                                                  \
        int nexnetXsk = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);                    \
        NEXNET_REQUIRE(nexnetXsk >= 0, "no AF_XDP sockets here (CONFIG_XDP_SOCKETS)"); \
        close(nexnetXsk);                                                              \
        NEXNET_REQUIRE(hasProgram("ethtool"), "ethtool is not installed");             \
    } while (0)

/// Two namespaces made for one test, joined by a veth pair: "nx" in driverSide() is the xdp:
/// driver's interface, "kx" in peerSide() is the kernel's end, with 10.77.0.1/24. The kernel
/// computes its checksums itself (tx offload off on kx): AF_XDP carries no checksum state.
class XdpVethPair {
public:
    /// Makes the pair with @p queues receive and transmit queues on each end.
    explicit XdpVethPair(const std::string& tag, unsigned queues = 1) : driverSide_(tag + "d"), peerSide_(tag + "p") {
        std::string q = std::to_string(queues);
        ok_ = driverSide_.ok() && peerSide_.ok() &&
            driverSide_
                    .run("ip link add nx numrxqueues " + q + " numtxqueues " + q +
                         " type veth peer name kx"
                         " numrxqueues " +
                         q + " numtxqueues " + q + " netns " + peerSide_.name())
                    .status == 0 &&
            driverSide_.run("ethtool -L nx rx " + q + " tx " + q).status == 0 &&
            peerSide_.run("ethtool -L kx rx " + q + " tx " + q).status == 0 &&
            peerSide_.run("ethtool -K kx tx off").status == 0 && driverSide_.run("ip link set nx up").status == 0 &&
            peerSide_.run("ip link set kx up").status == 0 &&
            peerSide_.run("ip addr add 10.77.0.1/24 dev kx").status == 0;
        if (ok_) {
            peerMac_ = readMac(peerSide_, "kx");
            driverMac_ = readMac(driverSide_, "nx");
        }
    }

    /// True when both namespaces and the pair exist.
    bool ok() const { return ok_; }
    /// The namespace of the driver's end, "nx".
    const NetworkNamespace& driverSide() const { return driverSide_; }
    /// The namespace of the kernel's end, "kx" (10.77.0.1/24).
    const NetworkNamespace& peerSide() const { return peerSide_; }
    /// kx's address.
    const FrameBuilder::Mac& peerMac() const { return peerMac_; }
    /// nx's address.
    const FrameBuilder::Mac& driverMac() const { return driverMac_; }

    /// Opens `xdp:nx@p options` in the driver's namespace.
    Result<std::unique_ptr<XdpDriver>> open(const std::string& options) const {
        using R = Result<std::unique_ptr<XdpDriver>>;
        NamespaceEntry inside(driverSide_.name());
        auto uri = DriverUri::parse("xdp:nx" + options);
        if (!inside.ok() || !uri) return R::failure(EINVAL, "cannot enter the namespace or parse the URI");
        XdpDriver::Options parsed;
        if (Status status = XdpDriver::parseUri(uri.value(), parsed); !status)
            return R::failure(status.error(), status.message());
        return XdpDriver::create(parsed);
    }

    /// True while nx has an XDP program attached (`ip -d link show`).
    bool programAttached() const {
        return driverSide_.run("ip -d link show dev nx").output.find("prog/xdp") != std::string::npos;
    }

    /// Makes the peer's kernel send everything on its transmit queue @p queue (XPS: that queue for
    /// every CPU, the others for none), which veth delivers on nx's receive queue @p queue.
    bool steerPeerTo(unsigned queue, unsigned queues) const {
        std::string script = "set -e; all=$(printf %x $(( (1 << $(nproc)) - 1 ))); ";
        for (unsigned q = 0; q < queues; ++q)
            script += "echo " + std::string(q == queue ? "$all" : "0") + " > /sys/class/net/kx/queues/tx-" +
                std::to_string(q) + "/xps_cpus; ";
        return peerSide_.run("sh -c '" + script + "'").status == 0;
    }

private:
    static FrameBuilder::Mac readMac(const NetworkNamespace& ns, const std::string& name) {
        FrameBuilder::Mac mac{};
        int fd = ns.openSocket(AF_INET, SOCK_DGRAM, 0);
        ifreq ifr{};
        std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name.c_str());
        if (fd >= 0 && ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, 6);
        if (fd >= 0) close(fd);
        return mac;
    }

    NetworkNamespace driverSide_;
    NetworkNamespace peerSide_;
    FrameBuilder::Mac peerMac_{};
    FrameBuilder::Mac driverMac_{};
    bool ok_ = false;
};

/// A packet socket on kx: the peer's raw frames, in and out.
class PeerWire {
public:
    /// Binds to kx in @p pair's peer namespace, all protocols.
    explicit PeerWire(const XdpVethPair& pair) {
        fd_ = pair.peerSide().openSocket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
        int index = 0;
        {
            NamespaceEntry inside(pair.peerSide().name());
            index = static_cast<int>(if_nametoindex("kx"));
        }
        sockaddr_ll address{};
        address.sll_family = AF_PACKET;
        address.sll_protocol = htons(ETH_P_ALL);
        address.sll_ifindex = index;
        ok_ = fd_ >= 0 && index > 0 && bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        int on = 1;
        setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof on);  // hear nx only
    }
    ~PeerWire() {
        if (fd_ >= 0) close(fd_);
    }
    PeerWire(const PeerWire&) = delete;
    PeerWire& operator=(const PeerWire&) = delete;

    /// True when bound.
    bool ok() const { return ok_; }
    /// Sends @p frame from kx. @return true when the kernel took it.
    bool send(const FrameBuilder::Frame& frame) const {
        return ::send(fd_, frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size());
    }
    /// Waits up to @p timeout for a frame that @p wanted accepts. @return true when one came.
    bool receive(const std::function<bool(const FrameBuilder::Frame&)>& wanted,
                 std::chrono::milliseconds timeout = std::chrono::seconds(3)) const {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        FrameBuilder::Frame frame(4096);
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 50) <= 0) continue;
            ssize_t n = recv(fd_, frame.data(), frame.size(), 0);
            if (n > 0 && wanted(FrameBuilder::Frame(frame.begin(), frame.begin() + n))) return true;
        }
        return false;
    }

private:
    int fd_ = -1;
    bool ok_ = false;
};

/// Brings @p driver up (IFCONTROL_SETFLAGS IFF_UP). @return performCommand's result.
inline int bringUp(IONetwork& driver) {
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    return driver.performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru);
}

/// Receives from queue @p queue of @p driver until a frame @p wanted accepts arrives (kept in
/// @p keep when given, freed otherwise) or @p timeout passes; other frames are freed.
inline bool receiveFrame(IONetwork& driver, unsigned queue, const std::function<bool(const Netbuf&)>& wanted,
                         Netbuf** keep = nullptr, std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        Netbuf* burst[XdpDriver::kBurst];
        unsigned n = driver.receive(queue, burst, XdpDriver::kBurst);
        bool found = false;
        for (unsigned i = 0; i < n; ++i) {
            if (!found && wanted(*burst[i])) {
                found = true;
                if (keep != nullptr) {
                    *keep = burst[i];
                    continue;
                }
            }
            burst[i]->free();
        }
        if (found) return true;
        if (n == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return false;
}

}  // namespace nexnet::test
