// VM test with two NICs behind one conventional PCI bridge, so in one IOMMU group, the second left
// on its kernel driver (run-guest.sh --nics bridged).

#include "GuestHarness.h"
#include "framework/pci/PciDevice.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

using namespace nexnet;
using namespace nexnet::test;

TEST(VfioGroup, GroupNotViableIsExplained) {
    auto bdfs = allBdfs();
    ASSERT_EQ(bdfs.size(), 2u) << "run with --nics bridged";
    const std::string bound = bdfs[0], other = bdfs[1];
    const std::string otherDev = "/sys/bus/pci/devices/" + other;
    auto groupOf = [](const std::string& bdf) {
        char target[256] = {};
        ssize_t n = readlink(("/sys/bus/pci/devices/" + bdf + "/iommu_group").c_str(), target, sizeof target - 1);
        return n > 0 ? std::string(std::strrchr(target, '/') + 1) : std::string();
    };
    ASSERT_FALSE(groupOf(bound).empty());
    ASSERT_EQ(groupOf(bound), groupOf(other)) << "the bridge should put both NICs in one IOMMU group";
    const std::string kernelDriver = PciDevice::boundDriver(other);
    ASSERT_FALSE(kernelDriver.empty()) << other << " should be left on its kernel driver";
    ASSERT_NE(kernelDriver, "vfio-pci");

    auto driver = builtinDrivers().open("vfio:" + bound);
    ASSERT_FALSE(driver.ok());
    EXPECT_EQ(driver.error(), EBUSY);
    const std::string message = driver.message();
    std::printf("group: %s\n", message.c_str());
    EXPECT_NE(message.find("IOMMU group " + groupOf(bound) + " is not viable"), std::string::npos) << message;
    EXPECT_NE(message.find(other + " is bound to " + kernelDriver), std::string::npos) << message;
    EXPECT_NE(message.find(bound + " (vfio-pci)"), std::string::npos) << message;
    EXPECT_NE(message.find("nexnetctl bind " + other), std::string::npos) << message;
    EXPECT_NE(message.find("/sys/kernel/iommu_groups/" + groupOf(bound) + "/devices"), std::string::npos) << message;

    // Doing what it says (here: unbinding the other device) makes the group usable. The device
    // (and with it the container) is closed again before the kernel driver gets its device back.
    ASSERT_TRUE(writeSysfs(otherDev + "/driver/unbind", other));
    bool works = false;
    std::string second;
    {
        auto nic = openRunningNic(bound);
        second = lastOpenMessage();
        works = nic && nic->isRunning() && nic->linkStatus() == LinkStatus::up;
    }
    EXPECT_TRUE(writeSysfs("/sys/bus/pci/drivers/" + kernelDriver + "/bind", other)) << "rebinding " << other;
    EXPECT_TRUE(works) << "the group's only other NIC unbound, " << bound << " should open: " << second;
}
