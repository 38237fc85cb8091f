#pragma once
/// @file Daemon.h
/// @brief Daemon: what nexnetd runs: the configured interfaces, their bridges to the kernel, the
/// app-ring server and the telemetry socket, on one event loop.

#include "DaemonConfig.h"

#include "netbuf/Result.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nexnet {

class AppRingServer;
class EventLoop;
class HostStackBridge;
class NetworkInterface;
class Telemetry;

/// nexnetd's service: opens every interface of a DaemonConfig (driver URI, hardware address, MTU,
/// promiscuous mode, IPv4 address, up), gives each its HostStackBridge when asked, offers their app
/// rings on one AppRingServer socket, shows them all on a Telemetry socket, and runs them on one
/// event loop until stop(). Everything it does it says through the log function, one line each.
///
/// Destroying it undoes everything in reverse: captures and telemetry socket, applications and
/// app-ring socket, bridges (their kernel taps vanish), interfaces (their taps vanish, their pools'
/// hugepages return). Single-threaded but for stop().
class Daemon {
public:
    /// Receives one line of log.
    using Log = std::function<void(const std::string&)>;

    /// Opens and configures everything @p config says, logging each step to @p log. Errors (with a
    /// message naming the interface and its place in the configuration): the driver's, the
    /// bridge's, the sockets'; what was opened before the failure is closed again.
    static Result<std::unique_ptr<Daemon>> start(const DaemonConfig& config, Log log);
    /// Shuts everything down (see the class), logging it.
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    /// Runs the event loop until stop().
    void run();
    /// Makes run() return. Any thread, and signal handlers.
    void stop();

    /// The app-ring socket, or "" when no interface offers app rings.
    std::string appRingSocket() const;
    /// The telemetry socket.
    std::string telemetrySocket() const;

private:
    struct Running {
        std::string uri;
        std::unique_ptr<NetworkInterface> interface;
        std::unique_ptr<HostStackBridge> bridge;
    };

    explicit Daemon(Log log);
    Status open(const DaemonConfig::Interface& config);
    Status configure(NetworkInterface& interface, const DaemonConfig::Interface& config);
    Status bridge(Running& running, const DaemonConfig::Interface& config);
    Status serve(const DaemonConfig& config);

    Log log_;
    std::unique_ptr<EventLoop> loop_;
    std::vector<Running> interfaces_;
    std::unique_ptr<AppRingServer> appRings_;
    std::unique_ptr<Telemetry> telemetry_;
};

}  // namespace nexnet
