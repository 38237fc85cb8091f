#pragma once
/// @file TapHarness.h
/// @brief What the tap driver's kernel-peer tests share: unique interface names, a tap driver
/// whose kernel end sits in a namespace made for the test, receive loops bounded in time, and a
/// child process that is always stopped.

#include "drivers/BuiltinDrivers.h"
#include "drivers/tap/TapDriver.h"
#include "framework/IOCommands.h"
#include "support/NetworkNamespace.h"
#include "support/TestEnvironment.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace nexnet::test {

/// A tap name no other test or process uses: "nxt" + pid + a counter, at most 15 characters.
inline std::string uniqueTapName(const std::string& tag) {
    static std::atomic<int> counter{0};
    return "nxt" + tag + std::to_string(getpid() % 100000) + "x" + std::to_string(counter++);
}

/// Opens @p uri with the built-in drivers; nullptr (and a test failure) when it cannot.
inline std::unique_ptr<TapDriver> openTap(const std::string& uri) {
    auto driver = builtinDrivers().open(uri);
    EXPECT_TRUE(driver.ok()) << uri << ": " << (driver.ok() ? 0 : driver.error());
    if (!driver.ok()) return nullptr;
    return std::unique_ptr<TapDriver>(static_cast<TapDriver*>(driver.value().release()));
}

/// IFCONTROL_SETFLAGS with @p flags. @return performCommand's result.
inline int setFlags(IONetwork& driver, unsigned flags) {
    ifreq ifr{};
    ifr.ifr_flags = static_cast<short>(flags);
    return driver.performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru);
}

/// Moves interface @p name from this namespace into @p ns, gives it @p address (CIDR, may be
/// empty) and brings it up there. @return true when every step worked.
inline bool moveIntoNamespace(const std::string& name, const NetworkNamespace& ns, const std::string& address) {
    if (runCommand("ip link set " + name + " netns " + ns.name()).status != 0) return false;
    if (!address.empty() && ns.run("ip addr add " + address + " dev " + name).status != 0) return false;
    return ns.run("ip link set " + name + " up").status == 0;
}

/// Calls @p step until it returns true or @p timeout passes. @return true when it did.
inline bool pollUntil(const std::function<bool()>& step, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (step()) return true;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return false;
}

/// Receives from every queue of @p driver until @p wanted returns true for a frame (which the
/// test then owns through @p keep, or nullptr to free it) or @p timeout passes.
inline bool receiveUntil(TapDriver& driver, const std::function<bool(Netbuf*)>& wanted,
                         std::chrono::milliseconds timeout, Netbuf** keep = nullptr) {
    return pollUntil(
        [&] {
            for (unsigned q = 0; q < driver.queueCount(); ++q) {
                Netbuf* burst[TapDriver::kBurst];
                unsigned n = driver.receive(q, burst, TapDriver::kBurst);
                bool found = false;
                for (unsigned i = 0; i < n; ++i) {
                    if (!found && wanted(burst[i])) {
                        found = true;
                        if (keep != nullptr) {
                            *keep = burst[i];
                            continue;
                        }
                    }
                    burst[i]->free();
                }
                if (found) return true;
            }
            return false;
        },
        timeout);
}

/// The bytes the receiver counted in iperf3's JSON report (end.sum_received.bytes), 0 when absent.
inline std::uint64_t iperfReceivedBytes(const std::string& json) {
    auto at = json.find("\"sum_received\"", json.find("\"end\""));
    if (at == std::string::npos) return 0;
    at = json.find("\"bytes\":", at);
    return at == std::string::npos ? 0 : std::strtoull(json.c_str() + at + 8, nullptr, 10);
}

/// A program run as a child process (in this namespace), output to a log file; stopped with
/// SIGTERM (then SIGKILL) when the object goes away.
class ChildProcess {
public:
    /// Starts @p argv[0] with @p argv.
    explicit ChildProcess(std::vector<std::string> argv) {
        log_ = "/tmp/nexnet-tap-test-" + std::to_string(getpid()) + "-" + std::to_string(counter()++) + ".log";
        std::vector<char*> pointers;
        for (auto& a : argv) pointers.push_back(a.data());
        pointers.push_back(nullptr);
        pid_ = fork();
        if (pid_ == 0) {  // async-signal-safe calls only until execv
            int out = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (out < 0) _exit(126);
            dup2(out, 1);
            dup2(out, 2);
            execv(pointers[0], pointers.data());
            _exit(127);
        }
    }
    ~ChildProcess() {
        stop();
        unlink(log_.c_str());
    }
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    /// What it printed so far.
    std::string output() const { return runCommand("cat " + log_).output; }
    /// True while it runs.
    bool running() {
        if (pid_ <= 0 || exited_) return false;
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) exited_ = true;
        return !exited_;
    }
    /// Stops it: SIGTERM, up to 5 s, then SIGKILL.
    void stop() {
        if (!running()) return;
        kill(pid_, SIGTERM);
        if (!pollUntil([this] { return !running(); }, std::chrono::seconds(5))) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
            exited_ = true;
        }
    }

private:
    static std::atomic<int>& counter() {
        static std::atomic<int> value{0};
        return value;
    }
    pid_t pid_ = -1;
    bool exited_ = false;
    std::string log_;
};

}  // namespace nexnet::test
