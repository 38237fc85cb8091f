// nexnetctl's command line: strict (unknown options, signs, spaces, empty values and stray words
// are errors with exit status 2), and errors about processes say what is wrong with status 1.
#include "support/ShellCommand.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdio>

#include <filesystem>

using namespace nexnet::test;

namespace {

// nexnetctl with an empty runtime directory: no process to talk to.
CommandResult nexnetctl(const std::string& arguments) {
    static const std::string directory = "/tmp/nexnetctl-test-" + std::to_string(getpid());
    std::filesystem::create_directories(directory);
    return runCommand("NEXNET_RUNTIME_DIR=" + directory + " timeout 20 " + std::string(NEXNET_BINARY_DIR) +
                      "/samples/nexnetctl/nexnetctl " + arguments);
}

void expectRefused(const std::string& arguments, const std::string& message) {
    auto result = nexnetctl(arguments);
    EXPECT_EQ(result.status, 2) << arguments << ": " << result.output;
    EXPECT_NE(result.output.find(message), std::string::npos) << arguments << ": " << result.output;
}

TEST(Nexnetctl, DriversListsTheNullDriverWithItsUri) {
    auto out = nexnetctl("drivers");
    EXPECT_EQ(out.status, 0);
    EXPECT_NE(out.output.find("null:[,size=BYTES]"), std::string::npos) << out.output;
}

TEST(Nexnetctl, CheckReportsEveryItemAndAdviceForWhatIsMissing) {
    auto out = nexnetctl("check");
    for (const char* item : {"hugepages", "vfio", "tun", "memlock", "physical addresses"})
        EXPECT_NE(out.output.find(item), std::string::npos) << item << " missing from:\n" << out.output;
    // A failed item is followed by a line of advice; exit status 1 says something is missing.
    bool anyMissing = out.output.find("\n--") != std::string::npos || out.output.rfind("--", 0) == 0;
    EXPECT_EQ(out.status, anyMissing ? 1 : 0) << out.output;
    if (anyMissing) {
        EXPECT_NE(out.output.find("->"), std::string::npos);
    }
}

TEST(Nexnetctl, BindingAMissingDeviceSaysWhatToDo) {
    auto out = nexnetctl("bind 0000:ff:1f.7");
    EXPECT_EQ(out.status, 1);
    EXPECT_NE(out.output.find("no PCI device 0000:ff:1f.7"), std::string::npos) << out.output;
}

// "" would write 0 to nr_hugepages and release every reserved hugepage; "+5", " 7" and "-0" are
// not what the person meant either. Each is refused (by the command table, or by the count's own
// check) before anything is written.
TEST(Nexnetctl, HugepagesTakesACountInDigitsOnlyAndWritesNothingElse) {
    auto reserved = [] {
        FILE* file = std::fopen("/proc/sys/vm/nr_hugepages", "r");
        if (file == nullptr) return std::string("?");
        std::array<char, 64> line{};
        if (std::fgets(line.data(), line.size(), file) == nullptr) line[0] = 0;
        std::fclose(file);
        return std::string(line.data());
    };
    std::string before = reserved();
    for (const char* argument : {"\"\"", "+5", "\" 7\"", "-0", "-1", "1e3", "0x10", "5abc", "..", "1048577"}) {
        auto out = nexnetctl(std::string("hugepages ") + argument);
        EXPECT_EQ(out.status, 2) << argument << ": " << out.output;
        EXPECT_EQ(reserved(), before) << argument << " changed nr_hugepages";
    }
    for (const char* argument : {"+5", "1e3", "0x10", "5abc", "..", "1048577"})
        expectRefused(std::string("hugepages ") + argument, "not a number from 0 to 1048576");
}

// Anything but DDDD:BB:DD.F would become part of a sysfs path ("/sys/bus/pci/devices/..").
TEST(Nexnetctl, BindTakesAPciAddressAndNoPath) {
    expectRefused("bind \"\"", "is empty");
    for (const char* argument : {"..", "../../../../tmp", ".", "0000:00:03.0/..", "0000:00:03.8", "eth0"})
        expectRefused(std::string("bind ") + argument, "not a PCI address");
}

}  // namespace

TEST(Nexnetctl, RefusesWhatItsTableDoesNotAccept) {
    expectRefused("frobnicate", "unknown command \"frobnicate\"");
    expectRefused("stats", "stats needs IF");
    expectRefused("stats tap0 --verbose", "unknown option --verbose for stats");
    expectRefused("stats tap0 --interval -1", "--interval wants a whole number from 0 to 60, not \"-1\"");
    expectRefused("stats tap0 --interval +1", "--interval wants a whole number from 0 to 60, not \"+1\"");
    expectRefused("stats tap0 --interval ' 1'", "must not contain spaces");
    expectRefused("stats tap0 --interval ''", "--interval needs a non-empty SECONDS");
    expectRefused("stats tap0 --interval 61", "from 0 to 60");
    expectRefused("stats tap0 --watch --watch", "--watch given twice");
    expectRefused("stats tap0 tap1", "unexpected \"tap1\"");
    expectRefused("stats 'tap 0'", "IF must not contain spaces");
    expectRefused("capture tap0 -w", "-w needs FILE");
    expectRefused("capture tap0 -w x --count 0", "--count wants a whole number from 1");
    expectRefused("top --iterations 1.5", "--iterations wants a whole number");
    expectRefused("hugepages -5", "unknown option -5");
    expectRefused("hugepages 5x", "hugepages 5x: not a number from 0 to 1048576");
    expectRefused("list extra", "unexpected \"extra\"");
    expectRefused("-d", "-d needs PLUGIN.so");
}

TEST(Nexnetctl, SettingsAreCheckedBeforeAnyProcessIsAsked) {
    for (const char* bad : {"set tap0 sideways", "set tap0 mtu 15x0", "set tap0 mtu 67", "set tap0 promisc maybe",
                            "set tap0 address ff:ff:ff:ff:ff:ff", "set tap0 up now", "set tap0 mtu"}) {
        auto result = nexnetctl(bad);
        EXPECT_EQ(result.status, 1) << bad << ": " << result.output;
        EXPECT_EQ(result.output.find("no interface"), std::string::npos) << bad << ": " << result.output;
    }
}

TEST(Nexnetctl, SaysWhenNoProcessRunsTheInterface) {
    auto stats = nexnetctl("stats tap0 --interval 0");
    EXPECT_EQ(stats.status, 1);
    EXPECT_NE(stats.output.find("no interface tap0"), std::string::npos) << stats.output;
    auto list = nexnetctl("list");
    EXPECT_EQ(list.status, 1);
    EXPECT_NE(list.output.find("no nexnet process found"), std::string::npos) << list.output;
    auto pid = nexnetctl("stats tap0@x");
    EXPECT_EQ(pid.status, 1);
    EXPECT_NE(pid.output.find("is not an interface (NAME or NAME@PID)"), std::string::npos) << pid.output;
}
