// VM tests with one NIC on QEMU's user network (run-guest.sh --nics 1: slirp answers ARP and ICMP
// for 10.0.2.2), then the DMA-fault test, which must run last in its boot (tests/vm/CMakeLists.txt).

#include "GuestHarness.h"
#include "drivers/vfio/VfioDriver.h"
#include "framework/EventLoop.h"
#include "framework/pci/PciDevice.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

using namespace nexnet;
using namespace nexnet::test;
using namespace std::chrono_literals;

// ---- one NIC on QEMU's user network ----------------------------------------------------------

TEST(VfioNic, OpensByUriWithTheDriverOfItsPciIdAndReadsTheMac) {
    auto nic = openNic(firstBdf());
    ASSERT_TRUE(nic);
    EXPECT_EQ(nic->hardwareAddress().toString(), "52:54:00:12:34:56");
    EXPECT_EQ(nic->name(), firstBdf());
}

TEST(VfioNic, RunsBehindTheIommuAndSaysSo) {
    auto nic = openNic(firstBdf());
    ASSERT_TRUE(nic);
    auto container = VfioContainer::shared();
    ASSERT_TRUE(container.ok());
    EXPECT_EQ((*container)->mode(), VfioContainer::Mode::iommu);
    EXPECT_NE((*container)->modeDescription().find("IOMMU"), std::string::npos);
    // The driver says so too, with the rest of how it runs, for programs to print.
    const std::string& mode = nic->modeDescription();
    std::printf("nic: %s\n", mode.c_str());
    EXPECT_NE(mode.find((*container)->modeDescription()), std::string::npos) << mode;
    EXPECT_NE(mode.find(isVirtio() ? "virtio-net" : "82574L"), std::string::npos) << mode;
    EXPECT_NE(mode.find("MSI-X"), std::string::npos) << mode;
}

TEST(VfioNic, ConfigSpaceWalkFindsMsixAndVirtioCapabilities) {
    auto container = VfioContainer::shared();
    ASSERT_TRUE(container.ok());
    std::string message;
    auto device = PciDevice::open(firstBdf(), *container, &message);
    ASSERT_TRUE(device.ok()) << message;
    EXPECT_NE((*device)->findCapability(0x11).offset, 0) << "MSI-X capability";
    EXPECT_GE((*device)->msixVectorCount(), 1u);
    unsigned vendorSpecific = 0;
    for (const PciCapability& c : (*device)->capabilities()) vendorSpecific += c.id == 0x09;
    if (isVirtio()) {
        EXPECT_GE(vendorSpecific, 4u) << "virtio common/notify/isr/device capabilities";
    }
    EXPECT_EQ((*device)->enableBusMaster(), 0);
    EXPECT_EQ((*device)->configRead16(4) & 0x6, 0x6);
}

TEST(VfioNic, ComesUpWithLink) {
    auto nic = openRunningNic(firstBdf());
    ASSERT_TRUE(nic);
    EXPECT_TRUE(nic->isRunning());
    EXPECT_EQ(nic->linkStatus(), LinkStatus::up);
}

TEST(VfioNic, ArpRequestIsAnsweredByTheUserNetwork) {
    auto nic = openRunningNic(firstBdf());
    ASSERT_TRUE(nic);
    ASSERT_TRUE(sendFrame(*nic, arpRequest(nic->hardwareAddress())));
    EXPECT_TRUE(receiveUntil(*nic, isArpReplyFromSlirp));
}

TEST(VfioNic, PingIsAnsweredByTheUserNetwork) {
    auto nic = openRunningNic(firstBdf());
    ASSERT_TRUE(nic);
    for (std::uint16_t seq = 1; seq <= 3; ++seq) {
        ASSERT_TRUE(sendFrame(*nic, echoRequest(nic->hardwareAddress(), 0x4242, seq)));
        EXPECT_TRUE(receiveUntil(*nic, [seq](const std::uint8_t* f, std::size_t n) { return isEchoReply(f, n, seq); }))
            << "echo reply " << seq;
    }
}

TEST(VfioNic, InterruptWakesTheEventLoop) {
    auto nic = openRunningNic(firstBdf());
    ASSERT_TRUE(nic);
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    CollectingSink sink;
    sink.wanted = isArpReplyFromSlirp;
    nic->setClient(&sink);
    ASSERT_EQ(nic->attachToEventLoop(loop->get()), 0);
    ASSERT_EQ(nic->setInterruptsEnabled(0, true), 0);
    int fd = nic->interruptEventFd(0);
    ASSERT_GE(fd, 0);
    unsigned wakeups = 0;
    ASSERT_EQ((*loop)->watchReadable(fd,
                                     [&] {
                                         wakeups++;
                                         nic->interruptOccurred(0);
                                     }),
              0);
    ASSERT_TRUE(sendFrame(*nic, arpRequest(nic->hardwareAddress())));
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (sink.matches == 0 && std::chrono::steady_clock::now() < deadline) (*loop)->runOnce(100ms);
    EXPECT_GE(wakeups, 1u);
    EXPECT_EQ(sink.matches, 1u);
    (*loop)->unwatch(fd);
    nic->setInterruptsEnabled(0, false);
    nic->attachToEventLoop(nullptr);
    nic->setClient(nullptr);
}

TEST(VfioNic, MissingDeviceIsExplained) {
    auto driver = builtinDrivers().open("vfio:0000:00:1f.6");
    ASSERT_FALSE(driver.ok());
    EXPECT_EQ(driver.error(), ENODEV);
    EXPECT_NE(driver.message().find("lspci"), std::string::npos) << driver.message();
}

TEST(VfioNic, PermissionProblemIsExplained) {
    int pipeFds[2];
    ASSERT_EQ(pipe(pipeFds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        close(pipeFds[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
        std::string message;
        auto container = VfioContainer::open(&message);
        int error = 0;
        if (container) {
            auto device = PciDevice::open(firstBdf(), *container, &message);
            error = device ? 0 : device.error();
        } else {
            error = container.error();
        }
        message = std::to_string(error) + " " + message;
        (void)!write(pipeFds[1], message.data(), message.size());
        _exit(0);
    }
    close(pipeFds[1]);
    char buffer[512] = {};
    ssize_t n = read(pipeFds[0], buffer, sizeof buffer - 1);
    close(pipeFds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_GT(n, 0);
    std::string text(buffer);
    EXPECT_EQ(text.rfind(std::to_string(EACCES) + " ", 0), 0u) << text;
    EXPECT_NE(text.find("run as root"), std::string::npos) << text;
}

TEST(VfioNic, DeviceBoundToAnotherDriverIsExplained) {
    const std::string bdf = firstBdf(), kernelDriver = isVirtio() ? "virtio-pci" : "e1000e";
    const std::string dev = "/sys/bus/pci/devices/" + bdf;
    ASSERT_TRUE(writeSysfs("/sys/bus/pci/drivers/vfio-pci/unbind", bdf));
    writeSysfs(dev + "/driver_override", "\n");
    bool bound = writeSysfs("/sys/bus/pci/drivers/" + kernelDriver + "/bind", bdf);
    auto driver = builtinDrivers().open("vfio:" + bdf);
    std::string message = driver.message();
    // Give the device back to vfio-pci whatever happened above.
    if (bound) writeSysfs("/sys/bus/pci/drivers/" + kernelDriver + "/unbind", bdf);
    writeSysfs(dev + "/driver_override", "vfio-pci");
    ASSERT_TRUE(writeSysfs("/sys/bus/pci/drivers/vfio-pci/bind", bdf));
    ASSERT_TRUE(bound) << "could not bind " << bdf << " to " << kernelDriver;
    ASSERT_FALSE(driver.ok());
    EXPECT_EQ(driver.error(), EBUSY);
    EXPECT_NE(message.find("bound to " + kernelDriver), std::string::npos) << message;
    EXPECT_NE(message.find("nexnetctl bind"), std::string::npos) << message;
    // And the device works again once it is back with vfio-pci.
    auto nic = openRunningNic(bdf);
    ASSERT_TRUE(nic);
    EXPECT_EQ(nic->linkStatus(), LinkStatus::up);
}
// ---- last in a boot: provokes an IOMMU fault -----------------------------------------------------

TEST(VfioNicDma, DeviceAccessOutsideTheMappingsFaultsInTheIommu) {
    auto nic = openRunningNic(firstBdf());
    ASSERT_TRUE(nic);
    std::printf("NEXNET-EXPECT-DMAR-FAULT\n");
    std::fflush(stdout);
    auto container = VfioContainer::shared();
    ASSERT_TRUE(container.ok());
    // A use-after-unmap bug: the pool is unmapped while the device still has its addresses.
    ASSERT_EQ((*container)->unmapPool(*nic->pool()), 0);
    ASSERT_TRUE(sendFrame(*nic, arpRequest(nic->hardwareAddress())));
    bool faulted = false;
    for (int i = 0; i < 30 && !faulted; ++i) {
        std::this_thread::sleep_for(100ms);
        faulted = kernelLog().find("DMAR: [DMA Read") != std::string::npos;
    }
    EXPECT_TRUE(faulted) << "no DMAR fault in the guest's kernel log";
}
