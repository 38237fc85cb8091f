#pragma once
/// @file NetworkNamespace.h
/// @brief NetworkNamespace: a network namespace made for one test and removed with it.

#include "support/NamespaceEntry.h"
#include "support/ShellCommand.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace nexnet::test {

/// A network namespace made for one test, with a unique name, deleted (with every interface in
/// it) when the object goes away. IPv6 is off inside, so the kernel sends no unsolicited traffic.
class NetworkNamespace {
public:
    /// Makes "nxs-@p tag-PID-N". The first one made in a process also deletes namespaces left
    /// by test processes that died without running destructors (killed by a timeout).
    explicit NetworkNamespace(const std::string& tag) {
        static std::atomic<int> counter{0};
        if (counter == 0) removeOrphans();
        name_ = "nxs-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
        created_ = runCommand("ip netns add " + name_).status == 0;
        if (created_) {
            run("sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; "
                "echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6'");
            run("ip link set lo up");
        }
    }
    ~NetworkNamespace() {
        // "ip netns del" can fail for a moment (EBUSY) while a process started with "ip netns
        // exec" is still leaving; try again briefly rather than leave the namespace behind.
        for (int attempt = 0; created_ && attempt < 20; ++attempt) {
            if (runCommand("ip netns del " + name_).status == 0) break;
            if (access(("/run/netns/" + name_).c_str(), F_OK) != 0) break;  // gone anyway
            usleep(100000);
        }
    }
    NetworkNamespace(const NetworkNamespace&) = delete;
    NetworkNamespace& operator=(const NetworkNamespace&) = delete;

    /// True when the namespace exists.
    bool ok() const { return created_; }
    /// Its name.
    const std::string& name() const { return name_; }
    /// Runs @p command inside, killed after @p seconds.
    CommandResult run(const std::string& command, int seconds = 20) const {
        return runCommand("ip netns exec " + name_ + " timeout " + std::to_string(seconds) + " " + command);
    }
    /// A socket(2) made inside the namespace, or -1.
    int openSocket(int domain, int type, int protocol) const {
        NamespaceEntry inside(name_);
        return inside.ok() ? socket(domain, type | SOCK_CLOEXEC, protocol) : -1;
    }

private:
    // Deletes every "nxs-TAG-PID-N" whose PID is no longer a live process.
    static void removeOrphans() {
        DIR* directory = opendir("/run/netns");
        if (directory == nullptr) return;
        while (dirent* entry = readdir(directory)) {
            std::string name = entry->d_name;
            auto last = name.rfind('-');
            auto before = last == std::string::npos || last == 0 ? std::string::npos : name.rfind('-', last - 1);
            if (name.rfind("nxs-", 0) != 0 || before == std::string::npos) continue;
            long pid = std::strtol(name.c_str() + before + 1, nullptr, 10);
            if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) runCommand("ip netns del " + name);
        }
        closedir(directory);
    }

    std::string name_;
    bool created_ = false;
};

}  // namespace nexnet::test
