#pragma once
/// @file SampleProcess.h
/// @brief SampleProcess: nexnet-sample run by a test as a child process in a namespace, always
/// stopped (SIGTERM, then SIGKILL after a timeout) even when the test fails.

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
    struct Exit {
        int status = -1;     ///< Exit code, or 128 + signal when killed by one, -1 when it would not stop.
        std::string output;  ///< Everything it printed.
        /// The counters of its "final" statistics line (empty when there is none).
        std::map<std::string, std::uint64_t> finalCounters() const {
            auto at = output.rfind("nexnet-sample: final ");
            if (at == std::string::npos) return {};
            return parseCounters(output.substr(at, output.find('\n', at) - at));
        }
    };

    /// Starts build/@p program (nexnet-sample unless told otherwise) with @p arguments inside @p ns.
    SampleProcess(const NetworkNamespace& ns, const std::vector<std::string>& arguments,
                  const std::string& program = "samples/ethernet/nexnet-sample") {
        static int started = 0;
        log_ = "/tmp/nexnet-sample-test-" + std::to_string(getpid()) + "-" + ns.name() + "-" +
               std::to_string(started++) + ".log";
        std::string binary = std::string(NEXNET_BINARY_DIR) + "/" + program;
        std::string netns = "/run/netns/" + ns.name();
        std::vector<std::string> argv = {binary};
        argv.insert(argv.end(), arguments.begin(), arguments.end());
        std::vector<char*> pointers;
        for (auto& a : argv) pointers.push_back(a.data());
        pointers.push_back(nullptr);
        pid_ = fork();
        if (pid_ == 0) {  // only async-signal-safe calls until execv
            int target = open(netns.c_str(), O_RDONLY);
            int out = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (target < 0 || out < 0 || setns(target, CLONE_NEWNET) != 0) _exit(126);
            dup2(out, 1);
            dup2(out, 2);
            execv(binary.c_str(), pointers.data());
            _exit(127);
        }
    }
    ~SampleProcess() {
        stop();
        unlink(log_.c_str());
    }
    SampleProcess(const SampleProcess&) = delete;
    SampleProcess& operator=(const SampleProcess&) = delete;

    /// Its process id (to look at /proc/PID).
    pid_t pid() const { return pid_; }
    /// What it has printed so far.
    std::string output() const {
        std::ifstream file(log_);
        std::stringstream text;
        text << file.rdbuf();
        return text.str();
    }
    /// Waits until it has printed its banner (configured, running) or exited.
    /// @return true when it runs.
    bool waitUntilRunning(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (output().find(" mode") != std::string::npos) return true;
            if (reap(false)) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }
    /// Waits up to @p timeout for it to exit by itself. @return true when it did.
    bool waitForExit(std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!reap(false)) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return true;
    }
    /// Sends @p signal, waits up to @p timeout, then kills it. Safe to call twice.
    Exit stop(int signal = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        if (pid_ > 0 && !exited_) {
            kill(pid_, signal);
            if (!waitForExit(timeout)) {
                kill(pid_, SIGKILL);
                reap(true);
                status_ = -1;
            }
        }
        return {status_, output()};
    }

private:
    bool reap(bool block) {
        if (exited_ || pid_ <= 0) return true;
        int status = 0;
        if (waitpid(pid_, &status, block ? 0 : WNOHANG) != pid_) return false;
        exited_ = true;
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return true;
    }

    pid_t pid_ = -1;
    bool exited_ = false;
    int status_ = -1;
    std::string log_;
};

}  // namespace nexnet::test
