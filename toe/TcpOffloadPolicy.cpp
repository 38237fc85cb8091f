#include "toe/TcpOffloadPolicy.h"

#include "framework/EventLoop.h"
#include "inet/EthernetView.h"
#include "inet/Ipv4View.h"
#include "inet/TcpView.h"
#include "netbuf/Netbuf.h"
#include "netif/NetworkInterface.h"
#include "toe/TcpOffloadEngine.h"

#include <arpa/inet.h>
#include <cerrno>
#include <ctime>
#include <netinet/in.h>
#include <sys/socket.h>

namespace nexnet {

namespace {

std::uint64_t monotonicNanoseconds() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000000000u + static_cast<std::uint64_t>(now.tv_nsec);
}

}  // namespace

TcpOffloadPolicy::TcpOffloadPolicy(NetworkInterface& wire, TcpOffloadEngine& engine, EventLoop& loop,
                                   const Options& options)
    : wire_(wire), engine_(engine), loop_(loop), options_(options) {}

Result<std::unique_ptr<TcpOffloadPolicy>> TcpOffloadPolicy::create(NetworkInterface& wire, TcpOffloadEngine& engine,
                                                                   EventLoop& loop, const Options& options) {
    using R = Result<std::unique_ptr<TcpOffloadPolicy>>;
    if (options.bulkBytes == 0) return R::failure(EINVAL, "bulkBytes is 0");
    // After the stack (50: an offloaded connection's segments are the engine's, not counted), before
    // the bridge (100: what passes it is gone to the kernel).
    if (options.priority <= 50 || options.priority >= 100)
        return R::failure(EINVAL, "the policy must see the frames between the InetStack (50) and the bridge (100)");
    std::unique_ptr<TcpOffloadPolicy> policy(new TcpOffloadPolicy(wire, engine, loop, options));
    wire.addInputConsumer(policy.get(), options.priority);
    return policy;
}

TcpOffloadPolicy::~TcpOffloadPolicy() {
    if (decisionPending_) loop_.cancelTimer(timer_);
    wire_.removeInputConsumer(this);
}

int TcpOffloadPolicy::watch(int fd, OffloadedHandler handler) {
    if (!options_.enabled) return EPERM;
    for (const Watched& w : watched_)
        if (w.fd == fd) return EALREADY;
    sockaddr_in local{}, remote{};
    socklen_t size = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size) != 0 || local.sin_family != AF_INET) return EINVAL;
    size = sizeof remote;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &size) != 0) return EINVAL;
    watched_.push_back(Watched{fd, local.sin_addr.s_addr, remote.sin_addr.s_addr, ntohs(local.sin_port),
                               ntohs(remote.sin_port), std::move(handler)});
    statistics_.watched++;
    return 0;
}

int TcpOffloadPolicy::unwatch(int fd) {
    for (std::size_t i = 0; i < watched_.size(); ++i) {
        if (watched_[i].fd != fd) continue;
        if (!watched_[i].due) statistics_.belowThreshold++;
        watched_.erase(watched_.begin() + static_cast<std::ptrdiff_t>(i));
        return 0;
    }
    return ENOENT;
}

void TcpOffloadPolicy::consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) {
    if (watched_.empty()) return;
    std::uint64_t now = monotonicNanoseconds();  // once per burst
    for (unsigned i = 0; i < count; ++i)
        if (packets[i] != nullptr) observe(packets[i], now);
    if (decisionPending_) return;
    for (const Watched& w : watched_) {
        if (!w.due) continue;
        // Not in the middle of the burst: the frames after this one go to the kernel as before, and
        // the engine's claim starts cleanly between two bursts.
        auto timer = loop_.addTimer(options_.decisionDelay, [this] {
            decisionPending_ = false;
            decide();
        });
        if (timer) {
            timer_ = timer.value();
            decisionPending_ = true;
        }
        break;
    }
}

void TcpOffloadPolicy::observe(Netbuf* frame, std::uint64_t nowNs) {
    EthernetView ethernet = EthernetView::parse(*frame);
    if (!ethernet || ethernet.etherType() != EthernetView::kTypeIpv4) return;
    Ipv4View ip = Ipv4View::parse(ethernet.payload());
    if (!ip || ip.protocol() != Ipv4View::kTcp) return;
    TcpView tcp = TcpView::parse(ip.payload());
    if (!tcp || tcp.payload().empty()) return;
    for (Watched& w : watched_) {
        if (w.remoteAddress != ip.source().s_addr || w.localAddress != ip.destination().s_addr ||
            w.remotePort != tcp.sourcePort() || w.localPort != tcp.destinationPort())
            continue;
        if (nowNs - w.windowStartNs >
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(options_.window).count())) {
            w.windowStartNs = nowNs;
            w.windowBytes = 0;
        }
        w.windowBytes += tcp.payload().size();
        if (!w.due && w.windowBytes >= options_.bulkBytes) {
            w.due = true;
            statistics_.considered++;
        }
        return;
    }
}

void TcpOffloadPolicy::decide() {
    for (std::size_t i = 0; i < watched_.size();) {
        if (!watched_[i].due) {
            ++i;
            continue;
        }
        Watched chosen = std::move(watched_[i]);
        watched_.erase(watched_.begin() + static_cast<std::ptrdiff_t>(i));
        auto handle = engine_.offload(chosen.fd);
        if (!handle) {
            (handle.error() == ENOSPC ? statistics_.declinedFull : statistics_.declinedRefused)++;
            continue;  // the connection stays with the kernel, no longer watched
        }
        statistics_.offloaded++;
        if (chosen.handler) chosen.handler(chosen.fd, handle.value());
    }
}

}  // namespace nexnet
