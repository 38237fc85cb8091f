// The PCI/VFIO access layer on any machine: the checks that need no device explain what is wrong.
// The device itself is tested inside a QEMU guest (tests/vm/).

#include "drivers/BuiltinDrivers.h"
#include "drivers/vfio/VfioDriver.h"
#include "framework/pci/PciDevice.h"
#include "framework/pci/VfioContainer.h"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace nexnet;

TEST(VfioAccess, OpeningTheContainerSucceedsOrSaysToLoadVfio) {
    std::string message;
    auto container = VfioContainer::open(&message);
    if (access("/dev/vfio/vfio", F_OK) == 0) {
        EXPECT_TRUE(container.ok()) << message;
    } else {
        ASSERT_FALSE(container.ok());
        EXPECT_EQ(container.error(), ENOENT);
        EXPECT_NE(message.find("modprobe vfio-pci"), std::string::npos) << message;
    }
}

TEST(VfioAccess, MalformedPciAddressIsRejected) {
    EXPECT_EQ(PciDevice::readSysfsId("00:03.0").error(), EINVAL);
    EXPECT_EQ(PciDevice::readSysfsId("0000:00:03.0/../../x").error(), EINVAL);
    auto driver = builtinDrivers().open("vfio:eth0");
    ASSERT_FALSE(driver.ok());
    EXPECT_EQ(driver.error(), EINVAL);
    EXPECT_NE(driver.message().find("not a PCI address"), std::string::npos) << driver.message();
}

TEST(VfioAccess, MissingDeviceIsExplained) {
    auto driver = builtinDrivers().open("vfio:0000:7f:1f.7");
    ASSERT_FALSE(driver.ok());
    EXPECT_EQ(driver.error(), ENODEV);
    EXPECT_NE(driver.message().find("lspci"), std::string::npos) << driver.message();
}

TEST(VfioAccess, UnknownOptionValueIsRejected) {
    auto driver = builtinDrivers().open("vfio:0000:00:03.0,pool=lots");
    ASSERT_FALSE(driver.ok());
    EXPECT_EQ(driver.error(), EINVAL);
}

TEST(VfioAccess, QueueCountOutOfRangeIsRejected) {
    for (const char* uri : {"vfio:0000:00:03.0,queues=0", "vfio:0000:00:03.0,queues=17"}) {
        auto driver = builtinDrivers().open(uri);
        ASSERT_FALSE(driver.ok()) << uri;
        EXPECT_EQ(driver.error(), EINVAL) << uri;
        EXPECT_NE(driver.message().find("from 1 to 16"), std::string::npos) << driver.message();
    }
    EXPECT_NE(builtinDrivers().find("vfio")->usage.find("queues=N"), std::string::npos);
}

TEST(VfioAccess, VfioSchemeIsRegistered) {
    const auto* entry = builtinDrivers().find("vfio");
    ASSERT_NE(entry, nullptr);
    EXPECT_NE(entry->usage.find("vfio:"), std::string::npos);
}
