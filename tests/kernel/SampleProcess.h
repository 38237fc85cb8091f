#pragma once
/// @file SampleProcess.h
/// @brief SampleProcess: nexnet-sample run by a test as a child process in a namespace, always
/// stopped (SIGTERM, then SIGKILL after a timeout) even when the test fails.

#include "support/ChildProcess.h"
#include "support/NetworkNamespace.h"

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace nexnet::test {

/// The key=value counters of a nexnet-sample statistics line (absent keys read as 0).
inline std::map<std::string, std::uint64_t> parseCounters(const std::string& line) {
    std::map<std::string, std::uint64_t> counters;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
        auto equals = word.find('=');
        if (equals == std::string::npos) continue;
        counters[word.substr(0, equals)] = std::strtoull(word.c_str() + equals + 1, nullptr, 10);
    }
    return counters;
}

/// nexnet-sample running in a namespace as a child process; stopped (SIGTERM, then SIGKILL
/// after a timeout) when the object goes away.
class SampleProcess {
public:
    /// How the process ended.
    struct Exit : ChildProcess::Exit {
        /// The counters of its "final" statistics line (empty when there is none).
        std::map<std::string, std::uint64_t> finalCounters() const {
            auto at = output.rfind("nexnet-sample: final ");
            if (at == std::string::npos) return {};
            return parseCounters(output.substr(at, output.find('\n', at) - at));
        }
    };

    /// Starts build/@p program (nexnet-sample unless told otherwise) with @p arguments inside @p ns.
    SampleProcess(const NetworkNamespace& ns, const std::vector<std::string>& arguments,
                  const std::string& program = "samples/ethernet/nexnet-sample")
        : child_(std::string(NEXNET_BINARY_DIR) + "/" + program, arguments, ChildProcess::Options{ns.name(), {}}) {}
    /// Stops it as stop() does.
    ~SampleProcess() { child_.stop(); }
    SampleProcess(const SampleProcess&) = delete;
    SampleProcess& operator=(const SampleProcess&) = delete;

    /// Its process id (to look at /proc/PID).
    pid_t pid() const { return child_.pid(); }
    /// What it has printed so far.
    std::string output() const { return child_.output(); }
    /// Waits until it has printed its banner (configured, running) or exited.
    /// @return true when it runs.
    bool waitUntilRunning(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        return child_.waitForOutput(" mode", timeout);
    }
    /// Waits up to @p timeout for it to exit by itself. @return true when it did.
    bool waitForExit(std::chrono::milliseconds timeout) { return child_.waitForExit(timeout); }
    /// Sends @p signal, waits up to @p timeout, then kills it. Safe to call twice.
    Exit stop(int signal = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        return {child_.stop(signal, timeout)};
    }

private:
    ChildProcess child_;
};

}  // namespace nexnet::test
