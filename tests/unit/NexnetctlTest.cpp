// nexnetctl: lists drivers, reports what the machine offers with advice, refuses bad usage.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace {

struct Output {
    int status;
    std::string text;
};

Output run(const std::string& arguments) {
    std::string command = std::string(NEXNET_BINARY_DIR) + "/samples/nexnetctl/nexnetctl " + arguments + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    Output out{-1, ""};
    if (pipe == nullptr) return out;
    std::array<char, 512> buffer{};
    while (fgets(buffer.data(), buffer.size(), pipe) != nullptr) out.text += buffer.data();
    int status = pclose(pipe);
    out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

TEST(Nexnetctl, DriversListsTheNullDriverWithItsUri) {
    Output out = run("drivers");
    EXPECT_EQ(out.status, 0);
    EXPECT_NE(out.text.find("null:[,size=BYTES]"), std::string::npos) << out.text;
}

TEST(Nexnetctl, CheckReportsEveryItemAndAdviceForWhatIsMissing) {
    Output out = run("check");
    for (const char* item : {"hugepages", "vfio", "tun", "memlock", "physical addresses"})
        EXPECT_NE(out.text.find(item), std::string::npos) << item << " missing from:\n" << out.text;
    // A failed item is followed by a line of advice; exit status 1 says something is missing.
    bool anyMissing = out.text.find("\n--") != std::string::npos || out.text.rfind("--", 0) == 0;
    EXPECT_EQ(out.status, anyMissing ? 1 : 0) << out.text;
    if (anyMissing) {
        EXPECT_NE(out.text.find("->"), std::string::npos);
    }
}

TEST(Nexnetctl, BindingAMissingDeviceSaysWhatToDo) {
    Output out = run("bind 0000:ff:1f.7");
    EXPECT_EQ(out.status, 1);
    EXPECT_NE(out.text.find("no PCI device 0000:ff:1f.7"), std::string::npos) << out.text;
}

// "" would write 0 to nr_hugepages and release every reserved hugepage; "+5", " 7" and "-0" are
// not what the person meant either. Each is refused before anything is written.
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
        Output out = run(std::string("hugepages ") + argument);
        EXPECT_EQ(out.status, 2) << argument << ": " << out.text;
        EXPECT_NE(out.text.find("not a number from 0 to 1048576"), std::string::npos) << argument << ": " << out.text;
        EXPECT_EQ(reserved(), before) << argument << " changed nr_hugepages";
    }
}

// Anything but DDDD:BB:DD.F would become part of a sysfs path ("/sys/bus/pci/devices/..").
TEST(Nexnetctl, BindTakesAPciAddressAndNoPath) {
    for (const char* argument : {"\"\"", "..", "../../../../tmp", ".", "0000:00:03.0/..", "0000:00:03.8", "eth0"}) {
        Output out = run(std::string("bind ") + argument);
        EXPECT_EQ(out.status, 2) << argument << ": " << out.text;
        EXPECT_NE(out.text.find("not a PCI address"), std::string::npos) << argument << ": " << out.text;
    }
}

TEST(Nexnetctl, BadUsageExitsWithStatusTwo) {
    EXPECT_EQ(run("").status, 2);
    EXPECT_EQ(run("hugepages many").status, 2);
    EXPECT_EQ(run("frobnicate").status, 2);
}

}  // namespace
