#pragma once
/// @file Telemetry.h
/// @brief Telemetry: a process's nexnet interfaces seen and controlled from outside, through a
/// UNIX socket answering JSON (nexnetctl list, stats, top, set, capture, export).

#include "netbuf/Result.h"

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace nexnet {

class AppRingServer;
class ControlQueue;
class EventLoop;
class HostStackBridge;
class IONetwork;
class LowResourceBuffer;
class NetworkInterface;
class TelemetryRegistry;
class TelemetryServer;

/// The telemetry socket of one process: what dpdk-telemetry is to a DPDK process, with NeXT's
/// performCommand reachable from outside.
///
/// A program opens it with one call (open) and registers its interfaces; the socket
/// (runtimeDirectory()/PID.sock) then answers newline-delimited JSON requests, documented with
/// their replies in docs/telemetry.md and docs/telemetry.schema.json:
///
/// | request `command` | answers                                                 | needs   |
/// |-------------------|---------------------------------------------------------|---------|
/// | `describe`        | the process and each interface: driver URI, link, flags, MTU, addresses, mode, per-queue counters, pool usage and water marks, app rings and their applications, low-resource state | read   |
/// | `set`             | performCommand on an interface: up/down, promiscuous, MTU, hardware address | change |
/// | `capture`         | the interface's frames, both directions, as a pcapng stream (BPF filter, count) | change |
///
/// Access: the socket file is Options::socketMode (0660) and Options::socketGroup, so only the
/// owner, the group and root can connect at all; then the peer's credentials (SO_PEERCRED,
/// SO_PEERGROUPS) decide: root and this process's user may read and change, members of the socket's
/// group may read, anyone else is refused.
///
/// Threads. The socket is served by a thread of the telemetry's own, which reads only what is
/// safe from another thread: the per-queue counters (IONetwork::receiveStatistics and friends)
/// and the pools' counters. Everything else (flags, addresses, app rings, bridges, low-resource
/// state) and every change (set, attaching a capture) runs on the control thread, the thread that
/// runs the interfaces: the telemetry thread posts the work and waits for it, the control thread
/// runs it when it next turns (serviceControl, which open(EventLoop&) arranges on the loop), so
/// nothing on the data path ever takes a lock or waits for a client. A capture costs the data path
/// nothing until it is attached (CaptureTap) and is detached when it ends.
///
/// Everything here but the constructor's work is called on the control thread, like the
/// interfaces it registers; they must outlive their registration.
class Telemetry {
public:
    /// How the socket is made.
    struct Options {
        /// The socket file; empty: runtimeDirectory() + "/PID.sock" (the directory is made 0755).
        std::string path;
        mode_t socketMode = 0660;  ///< Permissions of the socket file (connecting needs write permission).
        gid_t socketGroup = static_cast<gid_t>(-1);  ///< Group that may read (-1: the process's group).
        std::string processName;                     ///< Shown to clients; empty: the program's name.
    };

    /// What the telemetry shows about an interface beyond the interface itself.
    struct InterfaceDetails {
        std::string uri;                           ///< The driver URI it was opened with.
        HostStackBridge* bridge = nullptr;         ///< Its exception path to the kernel, if any.
        LowResourceBuffer* lowResource = nullptr;  ///< Its low-resource layer, if any.
    };

    /// Where telemetry sockets live: $NEXNET_RUNTIME_DIR when set; /run/nexnet for root;
    /// otherwise $XDG_RUNTIME_DIR/nexnet, or /tmp/nexnet-UID without it.
    static std::string runtimeDirectory();

    /// Opens the socket and starts serving it on a thread of its own; control work runs on
    /// @p control (watched through controlEventFd()). Call on @p control's thread.
    /// Errors: the errno of mkdir, socket, bind, chmod, chown, listen, eventfd or the thread,
    /// with a message naming the path.
    static Result<std::unique_ptr<Telemetry>> open(EventLoop& control, const Options& options);
    /// As open(control, Options{}): PID.sock in runtimeDirectory(), mode 0660, the process's group.
    static Result<std::unique_ptr<Telemetry>> open(EventLoop& control);
    /// As open(control, options), for a program with no EventLoop of its own (a polling loop): it
    /// calls serviceControl() itself, often (once a millisecond or so), or clients time out.
    static Result<std::unique_ptr<Telemetry>> open(const Options& options);
    /// Stops serving, ends running captures, closes every connection and removes the socket file.
    /// Control thread.
    ~Telemetry();
    Telemetry(const Telemetry&) = delete;
    Telemetry& operator=(const Telemetry&) = delete;

    /// Shows @p interface (by its name) to clients and lets them set and capture it.
    /// @return 0, or EEXIST when an interface of that name is registered.
    int addInterface(NetworkInterface& interface, const InterfaceDetails& details);
    /// Shows a driver that no NetworkInterface wraps (a forwarding loop's) under @p name (""
    /// for the driver's own): counters, link, flags, set; no capture (there are no hooks without
    /// an interface). @return 0 or EEXIST.
    int addDriver(IONetwork& driver, const std::string& uri, const std::string& name = "");
    /// Stops showing the interface or driver named @p name, ending its captures.
    /// @return 0 or ENOENT.
    int remove(std::string_view name);
    /// Shows the app rings @p server serves (nullptr: none). The server must outlive it.
    void setAppRingServer(AppRingServer* server);

    /// Runs the control work clients are waiting for (snapshots, commands, capture attach and
    /// detach). Control thread; cheap when there is none (one relaxed load).
    /// @return the number of requests handled.
    unsigned serviceControl();
    /// An eventfd that is readable while control work waits: watch it with the control loop and
    /// call serviceControl() (open(EventLoop&) does).
    int controlEventFd() const;

    /// The socket's path.
    const std::string& path() const;
    /// Requests answered since open.
    std::uint64_t requests() const;
    /// Connections and requests refused (credentials, malformed requests).
    std::uint64_t refused() const;

private:
    Telemetry();

    std::unique_ptr<ControlQueue> control_;
    std::unique_ptr<TelemetryRegistry> registry_;
    std::unique_ptr<TelemetryServer> server_;
    EventLoop* loop_ = nullptr;
};

}  // namespace nexnet
