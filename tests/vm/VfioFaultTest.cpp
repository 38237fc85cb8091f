// VM tests of device faults under a running driver (run-guest.sh --nics hotplug: one NIC on QEMU's
// user network, alone behind a PCI Express root port, so that it can be reset alone and
// hot-unplugged). The order matters and is the order below (tests/vm/CMakeLists.txt): the reset,
// then (virtio-net) DEVICE_NEEDS_RESET, then the hot-unplug, after which the NIC is gone.

#include "GuestFrames.h"
#include "GuestHarness.h"
#include "framework/pci/VfioContainer.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <cstdio>
#include <string>
#include <thread>

using namespace nexnet;
using namespace nexnet::test;
using namespace std::chrono_literals;

namespace {

// Runs the driver's watchdog (as its event loop would, once a second) until @p done holds or
// @p timeout passes; @return whether it held.
template <typename Done>
bool watchUntil(IOEthernet& nic, Done done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        nic.timeoutOccurred();
        std::this_thread::sleep_for(50ms);
    }
    return true;
}

// True when QEMU's user network answers an echo request the NIC sends (after an ARP exchange:
// slirp answers IP only to an address it has resolved, which the guest's ARP request tells it).
bool answersPing(IOEthernet& nic, std::uint16_t sequence) {
    return sendFrame(nic, arpRequest(nic.hardwareAddress())) && receiveUntil(nic, isArpReplyFromSlirp) &&
        sendFrame(nic, echoRequest(nic.hardwareAddress(), 0x4646, sequence)) &&
        receiveUntil(nic, [sequence](const std::uint8_t* f, std::size_t n) { return isEchoReply(f, n, sequence); });
}

// After a fault: within @p within the fault is gone, the device runs, the link is up and the user
// network answers ping @p sequence.
void expectBackInService(IOEthernet& nic, std::chrono::seconds within, std::uint16_t sequence) {
    ASSERT_TRUE(watchUntil(
        nic, [&] { return nic.faultDescription().empty() && nic.isRunning(); }, within))
        << nic.faultDescription();
    EXPECT_TRUE(waitForLink(nic, LinkStatus::up, 5s));
    EXPECT_TRUE(answersPing(nic, sequence)) << "no echo reply once the device was back";
}

std::string devicePath() { return "/sys/bus/pci/devices/" + firstBdf(); }

// Waits up to 20 s for the kernel to finish removing the NIC (its sysfs directory gone), which it
// can only do once the device is closed. @return whether it did.
bool removalFinished() {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::filesystem::exists(devicePath()) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(100ms);
    return !std::filesystem::exists(devicePath());
}

}  // namespace

// The kernel resets the function under a running driver (an administrator's `echo 1 > reset`:
// a function-level reset on virtio-net, a D3hot to D0 power-state reset on the e1000e). On
// virtio-net that wipes the device's queues and status: the watchdog notices, says so, takes back
// the netbufs the rings held, and brings the device up again on its next tick. QEMU 7.2's 82574L
// keeps its registers across the power-state reset (and its CTRL.RST resets only the MAC address),
// so there the driver must simply carry on. Either way traffic resumes without the program doing
// anything.
TEST(VfioFault, AKernelResetUnderTheDriverIsReportedAndTrafficResumes) {
    auto nic = openRunningNic(firstBdf());
    ASSERT_TRUE(nic);
    ASSERT_TRUE(answersPing(*nic, 1)) << "no echo reply before the reset";
    const auto capacity = nic->pool()->capacity();
    EXPECT_LT(nic->pool()->available(), capacity) << "the receive ring holds netbufs while running";

    ASSERT_TRUE(writeSysfs(devicePath() + "/reset", "1")) << "the kernel refused to reset " << firstBdf();

    // Two seconds of watchdog ticks, noting the fault while it lasts and the pool while stopped.
    std::string fault;
    bool netbufsBackWhileStopped = false;
    watchUntil(
        *nic,
        [&] {
            if (fault.empty() && !nic->faultDescription().empty()) {
                fault = nic->faultDescription();
                netbufsBackWhileStopped = !nic->isRunning() && nic->pool()->available() == capacity;
            }
            return false;
        },
        2s);
    std::printf("fault: %s\n", fault.empty() ? "(none: the device kept its state)" : fault.c_str());
    if (isVirtio()) {
        EXPECT_NE(fault.find("reset under the driver"), std::string::npos) << fault;
        EXPECT_NE(fault.find(firstBdf()), std::string::npos) << fault;
        EXPECT_TRUE(netbufsBackWhileStopped) << "the rings' netbufs came back once the device was stopped";
    }

    expectBackInService(*nic, 5s, 2);  // restarted, or never stopped
}

// A stray write into the driver's rings (a bug elsewhere in the program) chains every receive
// descriptor to one that does not exist: QEMU's virtio-net meets it with the next frame it receives
// and sets DEVICE_NEEDS_RESET (virtio 1.2, 2.1.1). The watchdog says so, stops the device, and
// brings it up again with fresh rings on its next tick.
TEST(VfioFaultVirtio, DeviceNeedsResetIsReportedAndTheDriverRestartsTheDevice) {
    auto nic = openRunningNic(firstBdf());
    ASSERT_TRUE(nic);
    ASSERT_TRUE(answersPing(*nic, 3));
    // The rings are the memfd "nexnet-virtio-rings": receive queue 0 comes first, its descriptor
    // table of 256 entries {addr, len, flags, next} (virtio 1.2, 2.7.5). Each now says it continues
    // at descriptor 0xffff.
    volatile std::uint8_t* descriptors = nullptr;
    {
        std::ifstream maps("/proc/self/maps");
        std::string line;
        while (std::getline(maps, line)) {
            if (line.find("/memfd:nexnet-virtio-rings") == std::string::npos) continue;
            descriptors = reinterpret_cast<volatile std::uint8_t*>(std::stoull(line, nullptr, 16));
            break;
        }
    }
    ASSERT_NE(descriptors, nullptr) << "no nexnet-virtio-rings mapping";
    for (unsigned i = 0; i < 256; ++i) {
        volatile std::uint8_t* d = descriptors + 16 * i;
        *reinterpret_cast<volatile std::uint16_t*>(d + 12) = 1 | 2;  // VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE
        *reinterpret_cast<volatile std::uint16_t*>(d + 14) = 0xffff;
    }
    ASSERT_TRUE(sendFrame(*nic, arpRequest(nic->hardwareAddress())));  // its reply finds the queue broken

    std::string fault;
    ASSERT_TRUE(watchUntil(
        *nic, [&] { return !(fault = nic->faultDescription()).empty(); }, 5s))
        << "the watchdog did not notice DEVICE_NEEDS_RESET";
    std::printf("fault: %s\n", fault.c_str());
    EXPECT_NE(fault.find("DEVICE_NEEDS_RESET"), std::string::npos) << fault;
    EXPECT_EQ(nic->linkStatus(), LinkStatus::down);
    EXPECT_EQ(nic->pool()->available(), nic->pool()->capacity()) << "the queues' netbufs came back";

    expectBackInService(*nic, 10s, 4);
}

// The NIC is hot-unplugged through QEMU's monitor (device_del: an ACPI eject the guest's kernel
// carries out). vfio-pci asks the driver for the device back (VFIO_PCI_REQ_IRQ_INDEX) and the
// removal waits until it is closed. The driver's watchdog hears the request and lets go: it says
// so, unmaps the device's DMA, gives back every netbuf and closes the device, and the kernel
// finishes the removal. Runs last: the NIC is gone from the guest afterwards.
TEST(VfioFaultUnplug, HotUnplugReleasesTheDeviceAndTheKernelFinishesTheRemoval) {
    auto nic = openRunningNic(firstBdf());
    ASSERT_TRUE(nic);
    ASSERT_TRUE(answersPing(*nic, 5));
    auto container = VfioContainer::shared();
    ASSERT_TRUE(container.ok());
    const void* poolMemory = nic->pool()->dataRegion().data();
    ASSERT_NE((*container)->iovaOf(poolMemory), 0u) << "the pool is mapped for the device while it runs";

    monitor("device_del nic0");
    std::string fault;
    ASSERT_TRUE(watchUntil(
        *nic, [&] { return !(fault = nic->faultDescription()).empty(); }, kMonitorDelay + 15s))
        << "the watchdog never heard the removal request";
    std::printf("fault: %s\n", fault.c_str());
    EXPECT_NE(fault.find("asked for the device back"), std::string::npos) << fault;
    EXPECT_NE(fault.find("released"), std::string::npos) << fault;
    EXPECT_EQ(nic->linkStatus(), LinkStatus::down);
    EXPECT_FALSE(nic->isRunning());
    EXPECT_TRUE(nic->isInactive()) << "gone for good: programs may stop";
    EXPECT_EQ(nic->resetAndEnable(true), ENODEV) << "a released device stays released";
    EXPECT_EQ((*container)->iovaOf(poolMemory), 0u) << "the pool's DMA mapping went with the device";
    EXPECT_EQ(nic->pool()->available(), nic->pool()->capacity()) << "every netbuf of the rings came back";

    // The kernel could finish the removal only because the driver closed the device.
    EXPECT_TRUE(removalFinished()) << firstBdf() << " still exists: the removal waits for the device to be closed";

    // The data path and the watchdog stay quiet, and the driver goes without touching the device.
    Netbuf* none[4];
    EXPECT_EQ(nic->receive(0, none, 4), 0u);
    nic->timeoutOccurred();
    EXPECT_EQ(nic->faultDescription(), fault);
    nic.reset();
}

// nexnet-sample on the NIC when it is hot-unplugged: it says so in one line and stops at once with
// status 1, instead of idling on an interface that will never come back (its own boot:
// vm.virtio-net.unplug-sample, run-guest.sh --file nexnet-sample).
TEST(VfioFaultSample, TheSampleSaysTheNicWasUnpluggedAndStops) {
    const std::string output = "/tmp/nexnet-sample.out";
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const int fd = open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) _exit(126);
        const std::string uri = "vfio:" + firstBdf();
        execl("/test/nexnet-sample", "nexnet-sample", "--driver", uri.c_str(), "--ip", "10.0.2.15/24", "--duration",
              "120", nullptr);
        _exit(127);
    }
    auto said = [&output] {
        std::ifstream in(output);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    // Running once it prints its first statistics (every second).
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (said().find("stats") == std::string::npos && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(100ms);
    ASSERT_NE(said().find("stats"), std::string::npos) << said();

    monitor("device_del nic0");
    int status = -1;
    deadline = std::chrono::steady_clock::now() + kMonitorDelay + 15s;
    while (waitpid(child, &status, WNOHANG) == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(100ms);
    const bool exited = WIFEXITED(status);
    if (!exited) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
    }
    const std::string text = said();
    std::printf("%s", text.substr(text.rfind("stats") == std::string::npos ? 0 : text.rfind("stats")).c_str());
    ASSERT_TRUE(exited) << "nexnet-sample did not stop after the unplug:\n" << text;
    EXPECT_EQ(WEXITSTATUS(status), 1) << text;
    EXPECT_NE(text.find("link down: virtio-net " + firstBdf() + ": the kernel asked for the device back"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("stopping with a fault"), std::string::npos) << text;
    EXPECT_TRUE(removalFinished()) << "the removal did not finish";
}
