#pragma once
/// @file ProcessDirectory.h
/// @brief ProcessDirectory: the nexnet processes on this machine, found through their telemetry
/// sockets, and the one that runs a given interface.

#include "netbuf/Result.h"
#include "netif/TelemetryClient.h"
#include "netif/TelemetryReport.h"

#include <memory>
#include <string>
#include <vector>

namespace nexnet {

/// What nexnetctl learns from one process.
struct ProcessSample {
    TelemetryClient::Endpoint endpoint;                                         ///< Its socket.
    Result<TelemetryReport> report = Result<TelemetryReport>::failure(ENOENT);  ///< Its report, or why there is none.
};

/// Finds nexnet processes (TelemetryClient::discover) and the interfaces they run.
class ProcessDirectory {
public:
    /// The process and interface named by "NAME" or "NAME@PID", connected.
    struct Target {
        pid_t pid = 0;                            ///< The process.
        std::string interface;                    ///< The interface's name.
        std::unique_ptr<TelemetryClient> client;  ///< A connection to the process.
    };

    /// Every process's report, or the error it gave (permission denied, gone), by pid.
    static std::vector<ProcessSample> sampleAll();
    /// The process that runs the interface @p spec ("tap0" or "tap0@1234"). Errors, with a
    /// message for the user: ENODEV (no process has it), EACCES (a process that may have it
    /// refused us, and no other has it), ENOTUNIQ (several have it: name the pid).
    static Result<Target> find(const std::string& spec);
    /// Where the sockets were looked for, for messages.
    static std::string searched();
};

}  // namespace nexnet
