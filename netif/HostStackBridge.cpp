#include "netif/HostStackBridge.h"

#include "drivers/tap/TapDriver.h"
#include "framework/EventLoop.h"
#include "netif/NetworkInterface.h"

#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>

namespace nexnet {

// What the kernel sends on the host tap goes out through the wire (interceptable: tx intercept).
namespace {
// Adds to a counter that only the queue's thread writes: no locked instruction.
void addOwn(std::atomic<std::uint64_t>& counter, std::uint64_t n) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
}  // namespace

class HostStackBridge::HostInput : public InputConsumer {
public:
    explicit HostInput(HostStackBridge& bridge) : bridge_(bridge) {}
    void consumeInput(NetworkInterface&, unsigned queue, Netbuf** packets, unsigned count) override {
        InputConsumer::takeRemaining(packets, count, [this, queue](Netbuf** burst, unsigned n) {
            addOwn(bridge_.counts_[queue % kMaxQueues].fromHost, n);
            bridge_.wire_.outputBurst(queue, burst, n);  // the wire's queue of the same number
        });
    }

private:
    HostStackBridge& bridge_;
};

HostStackBridge::HostStackBridge(NetworkInterface& wire, const Options& options) : wire_(wire), options_(options) {}

Result<std::unique_ptr<HostStackBridge>> HostStackBridge::create(NetworkInterface& wire, const Options& options) {
    using R = Result<std::unique_ptr<HostStackBridge>>;
    TapDriver::Options tapOptions;
    tapOptions.name = options.hostName;
    tapOptions.queues = std::clamp(wire.driver().queueCount(), 1u, kMaxQueues);
    auto tap = TapDriver::create(tapOptions);
    if (!tap) return R::failure(tap.error());
    std::unique_ptr<HostStackBridge> bridge(new HostStackBridge(wire, options));
    bridge->host_ = std::make_unique<NetworkInterface>(std::move(tap.value()));
    bridge->hostInput_ = std::make_unique<HostInput>(*bridge);
    bridge->host_->addInputConsumer(bridge->hostInput_.get(), 100);
    if (options.mirrorAddress) bridge->mirror();
    wire.addInputConsumer(bridge.get(), 100);
    return bridge;
}

HostStackBridge::~HostStackBridge() {
    wire_.removeInputConsumer(this);
    if (host_) host_->removeInputConsumer(hostInput_.get());
}

void HostStackBridge::mirror() {
    auto* tap = static_cast<TapDriver*>(&host_->driver());
    if (auto* ethernet = dynamic_cast<IOEthernet*>(&wire_.driver())) {
        ifreq ifr{};
        ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
        std::memcpy(ifr.ifr_hwaddr.sa_data, ethernet->hardwareAddress().bytes.data(), 6);
        tap->kernelEnd().control(SIOCSIFHWADDR, ifr);  // best effort: a zero address is refused
    }
    tap->kernelEnd().setMtu(wire_.mtu());
}

int HostStackBridge::attach(EventLoop& loop) {
    EventLoop* loops[] = {&loop};
    return attach(loops);
}

int HostStackBridge::attach(std::span<EventLoop* const> loops) {
    if (int error = configureKernelEnd()) return error;
    auto mode = host_->attach(loops, NetworkInterface::Mode::interrupt);
    return mode ? 0 : mode.error();
}

HostStackBridge::Statistics HostStackBridge::statistics() const {
    Statistics total;
    for (const QueueCounts& counts : counts_) {
        total.toHost += counts.toHost.load(std::memory_order_relaxed);
        total.fromHost += counts.fromHost.load(std::memory_order_relaxed);
    }
    return total;
}

int HostStackBridge::configureKernelEnd() {
    if (int error = host_->setUp(); error != 0) return error;
    auto* tap = static_cast<TapDriver*>(&host_->driver());
    if (options_.kernelAddress.s_addr != INADDR_ANY) {
        ifreq ifr{};
        auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
        sin->sin_family = AF_INET;
        sin->sin_addr = options_.kernelAddress;
        if (int error = tap->kernelEnd().control(SIOCSIFADDR, ifr)) return error;
        sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_netmask);
        sin->sin_family = AF_INET;
        sin->sin_addr = options_.kernelNetmask;
        if (int error = tap->kernelEnd().control(SIOCSIFNETMASK, ifr)) return error;
    }
    if (options_.kernelUp) {
        if (int error = tap->kernelEnd().setUp(true)) return error;
    }
    return 0;
}

std::string HostStackBridge::hostName() const {
    std::string name;
    static_cast<const TapDriver&>(host_->driver()).kernelEnd().name(name);
    return name;
}

void HostStackBridge::consumeInput(NetworkInterface&, unsigned queue, Netbuf** packets, unsigned count) {
    InputConsumer::takeRemaining(packets, count, [this, queue](Netbuf** burst, unsigned n) {
        addOwn(counts_[queue % kMaxQueues].toHost, n);
        host_->outputBurst(queue, burst, n);  // the kernel sees it arrive on its queue q
    });
}

}  // namespace nexnet
