#include "Daemon.h"

#include "drivers/BuiltinDrivers.h"
#include "framework/EventLoop.h"
#include "netif/AppRingServer.h"
#include "netif/HostStackBridge.h"
#include "netif/NetworkInterface.h"
#include "netif/Telemetry.h"
#include "netif/netif.h"

#include <arpa/inet.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <bit>
#include <cstring>

namespace nexnet {

namespace {

std::string cidr(const std::pair<in_addr, in_addr>& address) {
    char text[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &address.first, text, sizeof text);
    return std::string(text) + "/" + std::to_string(std::popcount(ntohl(address.second.s_addr)));
}

Status failed(const DaemonConfig::Interface& config, const std::string& what, int error,
              const std::string& message = {}) {
    return Status(
        error,
        config.where + ": " + config.uri + ": " + what + ": " + (message.empty() ? std::strerror(error) : message));
}

}  // namespace

Daemon::Daemon(Log log) : log_(std::move(log)) {}

Result<std::unique_ptr<Daemon>> Daemon::start(const DaemonConfig& config, Log log) {
    using R = Result<std::unique_ptr<Daemon>>;
    std::unique_ptr<Daemon> daemon(new Daemon(std::move(log)));
    auto loop = EventLoop::create();
    if (!loop) return R::failure(loop.error(), "event loop: " + loop.describe());
    daemon->loop_ = std::move(loop.value());
    if (auto plugins = loadDriverPlugins(config.plugins); !plugins) return R::failure(plugins);
    for (auto& interface : config.interfaces) {
        if (Status status = daemon->open(interface); !status) return R::failure(status.error(), status.describe());
    }
    if (Status status = daemon->serve(config); !status) return R::failure(status.error(), status.describe());
    return daemon;
}

Status Daemon::open(const DaemonConfig::Interface& config) {
    auto driver = builtinDrivers().open(config.uri);
    if (!driver) return Status(driver.error(), config.where + ": " + driver.describe());
    Running running{config.uri, std::make_unique<NetworkInterface>(std::move(driver.value())), nullptr};
    NetworkInterface& interface = *running.interface;
    if (!interface.driver().modeDescription().empty())
        log_(interface.name() + ": " + interface.driver().modeDescription());
    if (Status status = configure(interface, config); !status) return status;
    auto mode =
        interface.attach(*loop_, config.poll ? NetworkInterface::Mode::poll : NetworkInterface::Mode::interrupt);
    if (!mode) return failed(config, "attach", mode.error(), mode.message());
    bool polling = mode.value() == NetworkInterface::Mode::poll;
    log_(interface.name() + ": " + config.uri + ", " + (polling ? "poll" : "interrupt") + " mode" +
         (polling && !config.poll ? " (the driver has no interrupts)" : "") + ", " + (config.up ? "up" : "down") +
         ", MTU " + std::to_string(interface.mtu()) + (config.address ? ", " + cidr(*config.address) : ""));
    if (config.bridge) {
        if (Status status = bridge(running, config); !status) return status;
    }
    interfaces_.push_back(std::move(running));
    return Status();
}

// The NeXT way: every setting through performCommand.
Status Daemon::configure(NetworkInterface& interface, const DaemonConfig::Interface& config) {
    if (config.mac) {
        EthernetAddress mac = *config.mac;
        if (int error = interface.performCommand(IFCONTROL_SETADDR, mac.bytes.data()))
            return failed(config, "mac", error);
    }
    if (config.mtu) {
        ifreq ifr{};
        ifr.ifr_mtu = static_cast<int>(*config.mtu);
        if_ioctl_t call{SIOCSIFMTU, &ifr};
        if (int error = interface.performCommand(IFCONTROL_UNIXIOCTL, &call))
            return failed(
                config, "mtu " + std::to_string(*config.mtu), error,
                error == EINVAL ? "the driver takes 68 to " + std::to_string(interface.driver().maxMtu()) : "");
    }
    if (config.promiscuous) {
        if (int error = interface.performCommand(IFCONTROL_RCVPROMISCUOUS, nullptr))
            return failed(config, "promiscuous", error);
    }
    if (config.address) {
        if (int error = interface.setAddress(config.address->first, config.address->second))
            return failed(config, "address", error);
    }
    if (config.up) {
        if (int error = interface.setUp()) return failed(config, "up", error);
    }
    return Status();
}

Status Daemon::bridge(Running& running, const DaemonConfig::Interface& config) {
    HostStackBridge::Options options;
    options.hostName = *config.bridge;
    options.kernelUp = config.bridgeUp;
    if (config.bridgeAddress) {
        options.kernelAddress = config.bridgeAddress->first;
        options.kernelNetmask = config.bridgeAddress->second;
    }
    auto made = HostStackBridge::create(*running.interface, options);
    if (!made) return failed(config, "bridge " + *config.bridge, made.error(), made.message());
    running.bridge = std::move(made.value());
    if (int error = running.bridge->attach(*loop_)) return failed(config, "bridge " + *config.bridge, error);
    log_(running.interface->name() + ": bridged to the kernel's " + running.bridge->hostName() +
         (config.bridgeAddress ? " (" + cidr(*config.bridgeAddress) + ")" : "") + (config.bridgeUp ? ", up" : ""));
    return Status();
}

Status Daemon::serve(const DaemonConfig& config) {
    Telemetry::Options telemetry;
    telemetry.path = config.telemetrySocket;
    telemetry.processName = "nexnetd";
    if (!config.group.empty()) {
        group* entry = ::getgrnam(config.group.c_str());
        if (entry == nullptr) return Status(EINVAL, "group " + config.group + ": no such group");
        telemetry.socketGroup = entry->gr_gid;
    }
    auto opened = Telemetry::open(*loop_, telemetry);
    if (!opened) return Status(opened.error(), opened.describe());
    telemetry_ = std::move(opened.value());
    bool anyRings = false;
    for (std::size_t i = 0; i < interfaces_.size(); ++i) {
        Running& running = interfaces_[i];
        telemetry_->addInterface(*running.interface, {running.uri, running.bridge.get(), nullptr});
        if (running.bridge)
            telemetry_->addInterface(running.bridge->host(), {"tap:" + running.bridge->hostName(), nullptr, nullptr});
        anyRings |= config.interfaces[i].appRings;
    }
    log_("telemetry on " + telemetry_->path() + (config.group.empty() ? "" : " (group " + config.group + " may read)"));
    if (!anyRings) return Status();
    std::string path = config.appRingSocket;
    if (path.empty()) {
        ::mkdir(Telemetry::runtimeDirectory().c_str(), 0755);  // an EEXIST is what we want
        path = Telemetry::runtimeDirectory() + "/appring.sock";
    }
    auto server = AppRingServer::create(*loop_, path);
    if (!server) return Status(server.error(), "app-ring socket " + path + ": " + server.describe());
    appRings_ = std::move(server.value());
    for (std::size_t i = 0; i < interfaces_.size(); ++i) {
        if (!config.interfaces[i].appRings) continue;
        appRings_->addInterface(*interfaces_[i].interface);
        log_(interfaces_[i].interface->name() + ": app rings offered on " + path);
    }
    telemetry_->setAppRingServer(appRings_.get());
    return Status();
}

Daemon::~Daemon() {
    telemetry_.reset();  // captures end, the socket file goes
    if (appRings_) {
        std::string path = appRings_->path();
        appRings_.reset();  // applications disconnected, their buffers back, the socket file gone
        log_("app-ring socket " + path + " closed");
    }
    for (auto it = interfaces_.rbegin(); it != interfaces_.rend(); ++it) {
        std::string name = it->interface->name();
        if (it->bridge) {
            std::string host = it->bridge->hostName();
            it->bridge->host().detach();
            it->bridge.reset();  // its kernel tap goes away
            log_(name + ": bridge " + host + " removed");
        }
        it->interface->detach();
        it->interface.reset();
        log_(name + ": closed");
    }
}

void Daemon::run() { loop_->run(); }

void Daemon::stop() { loop_->stop(); }

std::string Daemon::appRingSocket() const { return appRings_ ? appRings_->path() : ""; }

std::string Daemon::telemetrySocket() const { return telemetry_ ? telemetry_->path() : ""; }

}  // namespace nexnet
