#pragma once
/// @file TelemetryClient.h
/// @brief TelemetryClient: a connection to another process's telemetry socket (what nexnetctl
/// uses), and where to find those sockets.

#include "netbuf/Result.h"
#include "netif/TelemetryReport.h"
#include "netif/TelemetryRequest.h"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace nexnet {

/// One connection to a telemetry socket (Telemetry): requests and their replies, one line each,
/// and, after a capture request, the pcapng stream. Blocking calls with timeouts; one thread.
class TelemetryClient {
public:
    /// A telemetry socket found on this machine.
    struct Endpoint {
        pid_t pid = 0;     ///< The process serving it (from the file name PID.sock).
        std::string path;  ///< The socket.
    };

    /// The directories telemetry sockets live in, as seen by this user: $NEXNET_RUNTIME_DIR
    /// alone when set; otherwise /run/nexnet (root's processes) and this user's
    /// Telemetry::runtimeDirectory() when it differs.
    static std::vector<std::string> searchDirectories();
    /// The sockets PID.sock in searchDirectories() whose process is alive, by pid.
    static std::vector<Endpoint> discover();

    /// Connects to @p path. Errors (with a message naming the socket): ENOENT (no such socket),
    /// ECONNREFUSED (its process is gone), EACCES (the socket's permissions refuse this user).
    static Result<std::unique_ptr<TelemetryClient>> connect(const std::string& path);
    /// Closes the connection.
    ~TelemetryClient();
    TelemetryClient(const TelemetryClient&) = delete;
    TelemetryClient& operator=(const TelemetryClient&) = delete;

    /// Sends @p request and waits at most @p timeout for the reply line.
    /// @return the reply (JSON, without the newline); errors: ETIMEDOUT, EPIPE (the server closed).
    Result<std::string> request(const TelemetryRequest& request,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// Asks for the report of @p interface ("" for every one). Errors: the server's (EACCES, ENODEV),
    /// those of request().
    Result<TelemetryReport> describe(const std::string& interface = "");
    /// Applies @p setting to @p interface in the serving process. @return 0 or the server's error.
    Status set(const std::string& interface, const TelemetrySetting& setting);
    /// Sends a capture request; on success the connection carries the pcapng stream from now on
    /// (readStream). @return 0 or the server's error (EPERM, ENODEV, EINVAL for a bad filter).
    Status startCapture(const TelemetryRequest& capture);
    /// Reads up to @p size bytes of the capture stream, waiting at most @p timeout.
    /// @return the bytes read, 0 at the end of the stream; ETIMEDOUT when none came.
    Result<std::size_t> readStream(void* buffer, std::size_t size, std::chrono::milliseconds timeout);
    /// The socket, for a caller that polls it with others.
    int fd() const { return fd_; }

private:
    explicit TelemetryClient(int fd) : fd_(fd) {}
    int fd_;
    std::string pending_;  // bytes read past the last reply line
};

}  // namespace nexnet
