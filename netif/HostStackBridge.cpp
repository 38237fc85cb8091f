#include "netif/HostStackBridge.h"

#include "drivers/tap/TapDriver.h"
#include "framework/EventLoop.h"
#include "netif/NetworkInterface.h"

#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include <cstring>

namespace nexnet {

// What the kernel sends on the host tap goes out through the wire (interceptable: tx intercept).
class HostStackBridge::HostInput : public InputConsumer {
public:
    explicit HostInput(HostStackBridge& bridge) : bridge_(bridge) {}
    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        InputConsumer::takeRemaining(packets, count, [this](Netbuf** burst, unsigned n) {
            bridge_.stats_.fromHost += n;
            bridge_.wire_.outputBurst(burst, n);
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
    auto mode = host_->attach(loop, NetworkInterface::Mode::interrupt);
    return mode ? 0 : mode.error();
}

std::string HostStackBridge::hostName() const {
    std::string name;
    static_cast<const TapDriver&>(host_->driver()).kernelEnd().name(name);
    return name;
}

void HostStackBridge::consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) {
    InputConsumer::takeRemaining(packets, count, [this](Netbuf** burst, unsigned n) {
        stats_.toHost += n;
        host_->outputBurst(burst, n);
    });
}

}  // namespace nexnet
