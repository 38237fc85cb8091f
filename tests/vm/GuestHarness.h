#pragma once
/// @file GuestHarness.h
/// @brief What the VM tests share: the NICs run-guest.sh bound to vfio-pci, opening them, and
/// requests to the harness outside the guest (QEMU monitor, host-side actions).
///
/// The VM tests run inside a QEMU guest (tests/vm/run-guest.sh) with the NIC(s) bound to vfio-pci;
/// the same tests run for every NIC model, the driver being chosen by the PCI ID behind
/// "vfio:BDF". One file per harness set-up, one ctest test per boot (tests/vm/CMakeLists.txt):
/// VfioNicTest.cpp (one NIC on QEMU's user network; VfioNicDma provokes an IOMMU fault and runs
/// last), VfioPairTest.cpp and VfioSampleTest.cpp (two NICs on a QEMU hub), VfioForwardTest.cpp
/// (four NICs, nexnet-fwd between two), VfioMultiqueueTest.cpp and VfioOffloadTest.cpp (one
/// virtio-net NIC with several queue pairs on a multi-queue tap), VfioGroupTest.cpp (an IOMMU
/// group shared with a NIC left on its kernel driver), VfioSioTest.cpp (the sio calls on a
/// nexnet endpoint over the NIC, on the multi-queue tap), VfioFaultTest.cpp (one NIC alone behind a
/// PCI Express root port: reset by the kernel, DEVICE_NEEDS_RESET, hot-unplugged). VfioUdpTest.cpp (the protocol layer's
/// zero-copy proof) rides on the pair and multi-queue boots.

#include "GuestFrames.h"
#include "drivers/BuiltinDrivers.h"
#include "drivers/vfio/VfioDriver.h"
#include "framework/IOEthernet.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace nexnet::test {

/// The environment variable @p name, "" when unset.
inline std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}
/// The first NIC's PCI address.
inline std::string firstBdf() { return env("NEXNET_BDF"); }
/// The second NIC's PCI address, "" with one NIC.
inline std::string secondBdf() {
    std::string all = env("NEXNET_BDFS");
    auto space = all.find(' ');
    return space == std::string::npos ? "" : all.substr(space + 1);
}
/// True when the guest's NICs are virtio-net (run-guest.sh --nic virtio-net).
inline bool isVirtio() { return env("NEXNET_NIC") == "virtio-net"; }

/// The message of the last openNic that failed, "" when it succeeded.
inline std::string& lastOpenMessage() {
    static std::string message;
    return message;
}

/// Opens vfio:@p bdf with @p options (",queues=2"); a failure is a test failure (nullptr).
inline std::unique_ptr<IOEthernet> openNic(const std::string& bdf, const std::string& options = "") {
    auto driver = builtinDrivers().open("vfio:" + bdf + options);
    EXPECT_TRUE(driver.ok()) << "vfio:" << bdf << ": " << driver.message();
    lastOpenMessage() = driver.message();
    if (!driver) return nullptr;
    return std::unique_ptr<IOEthernet>(dynamic_cast<IOEthernet*>(driver->release()));
}

/// Opens vfio:@p bdf and brings it up (resetAndEnable).
inline std::unique_ptr<IOEthernet> openRunningNic(const std::string& bdf) {
    auto nic = openNic(bdf);
    if (nic) {
        EXPECT_EQ(nic->resetAndEnable(true), 0);
    }
    return nic;
}

/// How long a monitor() request may take to reach QEMU: run-guest.sh reads the console in a shell
/// loop and connects to the monitor with python3, which took over 5 s on a host with a load
/// average of 20 (a deadline to wait for, not a speed: waits end as soon as the change is seen).
inline constexpr std::chrono::seconds kMonitorDelay{30};

/// Asks run-guest.sh to send @p command to the QEMU monitor ("set_link nic0 off").
inline void monitor(const std::string& command) {
    std::printf("NEXNET-MONITOR: %s\n", command.c_str());
    std::fflush(stdout);
}

/// Polls @p nic (interrupt handler, then watchdog) until its link is @p wanted or @p timeout passes.
inline bool waitForLink(IOEthernet& nic, LinkStatus wanted, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        nic.interruptOccurred(0);  // drains and lets the driver look at its link
        if (nic.linkStatus() == wanted) return true;
        nic.timeoutOccurred();
        if (nic.linkStatus() == wanted) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

/// The guest kernel's log (dmesg).
inline std::string kernelLog() {
    std::string text;
    FILE* p = popen("dmesg", "r");
    if (p == nullptr) return text;
    char line[512];
    while (std::fgets(line, sizeof line, p) != nullptr) text += line;
    pclose(p);
    return text;
}

/// Writes @p value to the sysfs file @p path. @return true when the kernel took it.
inline bool writeSysfs(const std::string& path, const std::string& value) {
    std::ofstream out(path);
    out << value;
    out.flush();
    return static_cast<bool>(out);
}

/// A client that counts the received frames @p wanted accepts and frees every frame.
struct CollectingSink : IONetworkClient {
    std::function<bool(const std::uint8_t*, std::size_t)> wanted;
    unsigned matches = 0;
    void inputBurst(IONetwork&, unsigned, Netbuf** netbufs, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            if (wanted && wanted(netbufs[i]->data(), netbufs[i]->size())) matches++;
            netbufs[i]->free();
        }
    }
};

/// Asks run-guest.sh (--nics mq) to run a host-side action in the namespace of the tap's other end.
inline void hostAction(const char* action) {
    std::printf("NEXNET-HOST: %s\n", action);
    std::fflush(stdout);
}

}  // namespace nexnet::test
