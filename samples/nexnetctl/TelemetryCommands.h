#pragma once
/// @file TelemetryCommands.h
/// @brief TelemetryCommands: nexnetctl's commands on running nexnet processes (list, stats, top,
/// set, capture, export), over their telemetry sockets.

#include "CommandLine.h"

#include <string>
#include <vector>

namespace nexnet {

/// The commands that talk to running processes. Each returns the exit status (0, 1 for an error it
/// has printed) and prints errors as "nexnetctl: what is wrong".
class TelemetryCommands {
public:
    /// The rows of nexnetctl's command table these commands own.
    static std::vector<CommandSpec> specs();
    /// Runs @p line (a command of specs()). @return the exit status.
    static int run(const CommandLine& line);

private:
    static int list(const CommandLine& line);
    static int stats(const CommandLine& line);
    static int top(const CommandLine& line);
    static int set(const CommandLine& line);
    static int capture(const CommandLine& line);
    static int exportMetrics(const CommandLine& line);
};

}  // namespace nexnet
