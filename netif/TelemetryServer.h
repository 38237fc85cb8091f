#pragma once
/// @file TelemetryServer.h
/// @brief TelemetryServer: the thread that serves a process's telemetry socket (Telemetry's
/// engine): connections, credentials, requests, captures.

#include "netbuf/Result.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace nexnet {

class CaptureTap;
class ControlQueue;
class EventLoop;
class TelemetryRegistry;
struct TelemetryRequest;

/// Serves the telemetry socket on a thread of its own (an EventLoop of its own), as Telemetry
/// describes: newline-delimited JSON requests, each answered with one line; a capture request
/// turns its connection into a pcapng stream. State the telemetry thread may not read, and every
/// change, goes through the ControlQueue to the control thread.
class TelemetryServer {
public:
    /// How the socket is made.
    struct Options {
        std::string path;                            ///< The socket file.
        mode_t socketMode = 0660;                    ///< Its permissions.
        gid_t socketGroup = static_cast<gid_t>(-1);  ///< Its group, which may read (-1: the process's).
        std::string processName;                     ///< Shown to clients.
    };

    /// Binds the socket and starts the thread. @p registry and @p control must outlive the server.
    /// Errors: the errno of socket, bind, chmod, chown, listen, the loop; EADDRINUSE when another
    /// live process serves @p options.path.
    static Result<std::unique_ptr<TelemetryServer>> start(TelemetryRegistry& registry, ControlQueue& control,
                                                          const Options& options);
    /// Stops the thread, ends the captures (detaching their taps: call on the control thread),
    /// closes every connection and removes the socket file.
    ~TelemetryServer();
    TelemetryServer(const TelemetryServer&) = delete;
    TelemetryServer& operator=(const TelemetryServer&) = delete;

    /// Detaches the captures of interface @p name, which is going away. Control thread.
    void endCaptures(std::string_view name);

    /// The socket's path.
    const std::string& path() const { return options_.path; }
    /// Requests answered.
    std::uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
    /// Connections and requests refused.
    std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

private:
    enum class Access { none, read, change };
    struct Connection {
        int fd = -1;
        pid_t pid = 0;
        uid_t uid = 0;
        Access access = Access::none;
        std::string input;
        bool capturing = false;
    };
    struct Capture {
        std::unique_ptr<CaptureTap> tap;
        std::string interface;
        int connection = -1;                           // its connection's descriptor (the tap's writer has a dup)
        bool peerGone = false;                         // the client closed its end
        bool detached = false;                         // the tap is off the interface (or never got on it)
        std::shared_ptr<std::atomic<bool>> detaching;  // set once the control thread detached it
    };

    TelemetryServer(TelemetryRegistry& registry, ControlQueue& control, const Options& options);
    int listen();
    void accept();
    Access accessOf(int fd, const ucred& peer) const;
    void readable(int fd);
    void handle(Connection& connection, std::string_view line);
    std::string describe(std::string_view interface);
    bool capture(Connection& connection, const TelemetryRequest& request, std::string& reply);
    void checkCaptures();
    void reply(Connection& connection, const std::string& line);
    void close(int fd);
    unsigned capturesOn(std::string_view name) const;

    TelemetryRegistry& registry_;
    ControlQueue& control_;
    Options options_;
    std::uint64_t started_ = 0;
    std::unique_ptr<EventLoop> loop_;  // the telemetry thread's
    int listenFd_ = -1;
    std::map<int, Connection> connections_;  // telemetry thread only
    mutable std::mutex capturesLock_;        // telemetry thread <-> control thread (endCaptures)
    std::vector<std::unique_ptr<Capture>> captures_;
    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> refused_{0};
    std::thread thread_;
};

}  // namespace nexnet
