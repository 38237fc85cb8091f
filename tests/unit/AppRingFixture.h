#pragma once
// What the app-ring tests share: a null-driver interface served by an AppRingServer on an event
// loop the test pumps itself, clients connected without deadlocking that loop, a counting
// "network layer", and application processes (nexnet-appring) with RAII cleanup.

#include "drivers/null/NullDriver.h"
#include "framework/EventLoop.h"
#include "netif/AppRingClient.h"
#include "netif/AppRingServer.h"
#include "netif/NetworkInterface.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace nexnet::test {

/// Stands for the network layer: counts (and frees) every frame that reaches priority 100.
class CountingLayer : public InputConsumer {
public:
    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            if (packets[i] == nullptr) continue;
            frames++;
            packets[i]->free();
            packets[i] = nullptr;
        }
    }
    unsigned frames = 0;
};

/// A socket path of its own for each bench of this process.
inline std::string appRingSocketPath() {
    static int counter = 0;
    return "/tmp/nexnet-appring-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".sock";
}

/// A null interface ("null0", fill on) behind an AppRingServer.
class AppRingBench {
public:
    explicit AppRingBench(std::uint32_t poolSize = 1024, std::string socketPath = appRingSocketPath()) {
        path = std::move(socketPath);
        loop = std::move(EventLoop::create().value());
        NullDriver::Options options;
        options.fill = true;
        auto driver = NullDriver::create(options, poolSize);
        driver.value()->setName("null0");
        interface = std::make_unique<NetworkInterface>(std::move(driver.value()));
        interface->setUp();
        interface->addInputConsumer(&layer, 100);
        server = std::move(AppRingServer::create(*loop, path).value());
        server->addInterface(*interface);
    }
    ~AppRingBench() {
        server.reset();
        interface->removeInputConsumer(&layer);
    }

    NetbufPool& pool() { return *interface->driver().pool(); }

    /// Polls the interface (a burst of 32 into ring 1) @p bursts times, never letting more than
    /// 512 entries wait in ring 1, serving the loop meanwhile. @return the bursts fed.
    unsigned feed(unsigned bursts, double seconds = 20) {
        auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        unsigned fed = 0;
        while (fed < bursts && std::chrono::steady_clock::now() < end) {
            AppRing* ring = server->ring("null0");
            if (ring == nullptr || ring->ring1Pending() < 512) {
                interface->poll();
                ++fed;
            }
            loop->runOnce(std::chrono::milliseconds(1));
        }
        return fed;
    }

    /// Connects a client to @p interfaceName while this thread keeps serving the loop.
    Result<std::unique_ptr<AppRingClient>> connect(const AppRingClient::Options& options,
                                                   const std::string& interfaceName = "null0") {
        auto pending =
            std::async(std::launch::async, [&] { return AppRingClient::connect(path, interfaceName, options); });
        while (pending.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready)
            loop->runOnce(std::chrono::milliseconds(5));
        return pending.get();
    }
    /// Connects a client asking for @p mode.
    Result<std::unique_ptr<AppRingClient>> connect(app_ring_mode mode, std::uint32_t minPosted = 0,
                                                   std::uint32_t slots = 0) {
        AppRingClient::Options options;
        options.mode = mode;
        options.minPosted = minPosted;
        options.slotCount = slots;
        return connect(options);
    }

    /// Feeds bursts (as feed()) for @p seconds.
    void feedFor(double seconds) {
        auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (std::chrono::steady_clock::now() < end) feed(1, seconds);
    }

    /// Runs the loop until @p done or @p seconds pass; calls poll() on the interface each turn when @p receive.
    bool pumpUntil(const std::function<bool()>& done, double seconds = 5, bool receive = false) {
        auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (std::chrono::steady_clock::now() < end) {
            if (done()) return true;
            if (receive) interface->poll();
            loop->runOnce(std::chrono::milliseconds(2));
        }
        return done();
    }

    std::string path;
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<NetworkInterface> interface;
    std::unique_ptr<AppRingServer> server;
    CountingLayer layer;
};

/// The nexnet-appring sample as built.
inline std::string appRingProgram() { return std::string(NEXNET_BINARY_DIR) + "/samples/appring/nexnet-appring"; }

/// A copy of a program that another user can run: in a fresh directory under /tmp that others
/// may traverse (0711) but not list, removed with the copy. The build tree may sit in a directory
/// other users cannot enter (a checkout under a 0700 home directory), where exec fails for them.
class ProgramCopy {
public:
    explicit ProgramCopy(const std::string& program) {
        char directory[] = "/tmp/nexnet-helper-XXXXXX";
        if (mkdtemp(directory) == nullptr) return;
        directory_ = directory;
        path_ = directory_ + "/" + std::filesystem::path(program).filename().string();
        std::error_code error;
        if (!std::filesystem::copy_file(program, path_, error) || chmod(path_.c_str(), 0755) != 0 ||
            chmod(directory_.c_str(), 0711) != 0) {
            path_.clear();
        }
    }
    ~ProgramCopy() {
        std::error_code error;
        if (!directory_.empty()) std::filesystem::remove_all(directory_, error);
    }
    ProgramCopy(const ProgramCopy&) = delete;
    ProgramCopy& operator=(const ProgramCopy&) = delete;

    /// The copy, or empty when it could not be made.
    const std::string& path() const { return path_; }

private:
    std::string directory_;
    std::string path_;
};

/// Runs @p program with @p arguments as user @p uid and group @p gid (no supplementary groups).
/// @return its exit status; 126 when it could not change user, 127 when it could not be executed.
inline int runAs(uid_t uid, gid_t gid, const std::string& program, std::vector<std::string> arguments,
                 AppRingBench& bench) {
    pid_t child = fork();
    if (child == 0) {
        if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(126);
        std::vector<char*> argv{const_cast<char*>(program.c_str())};
        for (auto& argument : arguments) argv.push_back(argument.data());
        argv.push_back(nullptr);
        execv(program.c_str(), argv.data());
        _exit(127);
    }
    int status = -1;
    bench.pumpUntil([&] { return waitpid(child, &status, WNOHANG) == child; }, 20);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// nexnet-appring in its own process, stdout piped back; killed and reaped when destroyed.
class AppProcess {
public:
    explicit AppProcess(const std::vector<std::string>& arguments) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) return;
        pid_ = fork();
        if (pid_ == 0) {
            dup2(fds[1], 1);
            std::vector<char*> argv;
            std::string program = appRingProgram();
            argv.push_back(program.data());
            std::vector<std::string> copy = arguments;
            for (auto& argument : copy) argv.push_back(argument.data());
            argv.push_back(nullptr);
            execv(program.c_str(), argv.data());
            _exit(127);
        }
        close(fds[1]);
        out_ = fds[0];
        fcntl(out_, F_SETFL, O_NONBLOCK);
    }
    ~AppProcess() {
        if (pid_ > 0 && !reaped_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        if (out_ >= 0) close(out_);
    }
    AppProcess(const AppProcess&) = delete;
    AppProcess& operator=(const AppProcess&) = delete;

    pid_t pid() const { return pid_; }
    /// Everything the process printed so far.
    const std::string& output() {
        char buffer[4096];
        ssize_t got;
        while ((got = read(out_, buffer, sizeof buffer)) > 0) text_.append(buffer, static_cast<std::size_t>(got));
        return text_;
    }
    bool printed(const std::string& line) { return output().find(line) != std::string::npos; }
    /// The value printed after "@p name ", or -1.
    long long value(const std::string& name) {
        const std::string& all = output();
        auto at = all.find("\n" + name + " ");
        if (at == std::string::npos)
            return all.rfind(name + " ", 0) == 0 ? std::stoll(all.substr(name.size() + 1)) : -1;
        return std::stoll(all.substr(at + name.size() + 2));
    }
    /// Sends @p signal and, for SIGTERM / SIGKILL, reaps. @return the exit status (or -signal).
    int stop(int signal) {
        kill(pid_, signal);
        int status = 0;
        waitpid(pid_, &status, 0);
        reaped_ = true;
        output();
        return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    /// True once the process has ended (reaps it).
    bool ended() {
        if (reaped_) return true;
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            reaped_ = true;
            exitStatus_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        }
        return reaped_;
    }
    int exitStatus() const { return exitStatus_; }

private:
    pid_t pid_ = -1;
    int out_ = -1;
    bool reaped_ = false;
    int exitStatus_ = -1;
    std::string text_;
};

}  // namespace nexnet::test
