#pragma once
/// @file TapHarness.h
/// @brief What the tap driver's kernel-peer tests share: unique interface names, a tap driver
/// whose kernel end sits in a namespace made for the test, receive loops bounded in time, and a
/// child process that is always stopped.

#include "drivers/BuiltinDrivers.h"
#include "drivers/tap/TapDriver.h"
#include "framework/IOCommands.h"
#include "support/ChildProcess.h"
#include "support/NetworkNamespace.h"
#include "support/TestEnvironment.h"

#include <gtest/gtest.h>

#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/ioctl.h>

#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <cstring>
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

/// Sends broadcast frames (EtherType 0x88b5, local experimental) on the kernel end of a tap from
/// inside its namespace until destroyed, a steady load rather than a storm, finding the interface
/// again by name when it was deleted and created again or went down.
class KernelFlood {
public:
    /// Starts sending on the interface @p name of @p ns.
    KernelFlood(const NetworkNamespace& ns, std::string name) : name_(std::move(name)) {
        socket_ = ns.openSocket(AF_PACKET, SOCK_RAW, 0);
        thread_ = std::thread([this] { run(); });
    }
    ~KernelFlood() {
        stop_ = true;
        thread_.join();
        if (socket_ >= 0) close(socket_);
    }

private:
    void run() {
        std::vector<std::uint8_t> frame(60, 0x5a);
        std::memset(frame.data(), 0xff, 6);
        frame[12] = 0x88;
        frame[13] = 0xb5;
        int ifindex = 0;
        for (unsigned i = 0; !stop_; ++i) {
            if (ifindex == 0 || i % 64 == 0) {
                ifreq ifr{};
                std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name_.c_str());
                ifindex = ioctl(socket_, SIOCGIFINDEX, &ifr) == 0 ? ifr.ifr_ifindex : 0;
            }
            sockaddr_ll to{};
            to.sll_family = AF_PACKET;
            to.sll_ifindex = ifindex;
            to.sll_halen = 6;
            if (ifindex == 0 ||
                sendto(socket_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(5));  // gone, down or full: later
            else if (i % 16 == 0)
                std::this_thread::sleep_for(std::chrono::microseconds(200));  // a steady load, not a storm
        }
    }

    std::string name_;
    int socket_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace nexnet::test
