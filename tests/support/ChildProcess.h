#pragma once
/// @file ChildProcess.h
/// @brief ChildProcess: a program a test runs in the background (in a namespace, as another user,
/// with extra environment), always stopped (SIGTERM, then SIGKILL) even when the test fails.

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace nexnet::test {

/// A child process whose standard output and error go to a log file the test reads.
class ChildProcess {
public:
    /// Where and as whom it runs.
    struct Options {
        std::string netns;                     ///< Network namespace to run in ("": the test's).
        std::vector<std::string> environment;  ///< KEY=VALUE added to the test's environment.
        uid_t uid = static_cast<uid_t>(-1);    ///< Run as this user (-1: the test's).
        gid_t gid = static_cast<gid_t>(-1);    ///< ... and group.
    };
    /// How it ended.
    struct Exit {
        int status = -1;     ///< Exit code, 128 + signal when killed by one, -1 when it would not stop.
        std::string output;  ///< Everything it printed.
    };

    /// Starts @p binary with @p arguments.
    ChildProcess(const std::string& binary, const std::vector<std::string>& arguments)
        : ChildProcess(binary, arguments, Options{}) {}
    /// Starts @p binary with @p arguments where and as whom @p options say.
    ChildProcess(const std::string& binary, const std::vector<std::string>& arguments, const Options& options) {
        static std::atomic<int> counter{0};
        log_ = "/tmp/nexnet-child-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".log";
        std::vector<std::string> argv = {binary};
        argv.insert(argv.end(), arguments.begin(), arguments.end());
        std::vector<char*> pointers;
        for (auto& a : argv) pointers.push_back(a.data());
        pointers.push_back(nullptr);
        std::vector<std::string> environment;
        for (char** e = environ; *e != nullptr; ++e) environment.emplace_back(*e);
        environment.insert(environment.end(), options.environment.begin(), options.environment.end());
        std::vector<char*> envp;
        for (auto& e : environment) envp.push_back(e.data());
        envp.push_back(nullptr);
        std::string netns = options.netns.empty() ? "" : "/run/netns/" + options.netns;
        pid_ = fork();
        if (pid_ == 0) {  // only async-signal-safe calls until execve
            int out = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (out < 0) _exit(126);
            dup2(out, 1);
            dup2(out, 2);
            if (!netns.empty()) {
                int target = open(netns.c_str(), O_RDONLY);
                if (target < 0 || setns(target, CLONE_NEWNET) != 0) _exit(126);
            }
            if (options.gid != static_cast<gid_t>(-1) && (setgroups(0, nullptr) != 0 || setgid(options.gid) != 0))
                _exit(126);
            if (options.uid != static_cast<uid_t>(-1) && setuid(options.uid) != 0) _exit(126);
            execve(binary.c_str(), pointers.data(), envp.data());
            _exit(127);
        }
    }
    ~ChildProcess() {
        stop(SIGKILL, std::chrono::seconds(2));
        unlink(log_.c_str());
    }
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    /// Its process id.
    pid_t pid() const { return pid_; }
    /// What it has printed so far.
    std::string output() const {
        std::ifstream file(log_);
        std::stringstream text;
        text << file.rdbuf();
        return text.str();
    }
    /// Waits until it printed @p text (true) or exited or @p timeout passed (false).
    bool waitForOutput(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (output().find(text) != std::string::npos) return true;
            if (reap(false)) return output().find(text) != std::string::npos;
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
    /// Its exit once it has exited by itself (status -1 while it runs).
    Exit exit() {
        reap(false);
        return {exited_ ? status_ : -1, output()};
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
