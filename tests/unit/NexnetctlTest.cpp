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

TEST(Nexnetctl, BadUsageExitsWithStatusTwo) {
    EXPECT_EQ(run("").status, 2);
    EXPECT_EQ(run("hugepages many").status, 2);
    EXPECT_EQ(run("frobnicate").status, 2);
}

}  // namespace
