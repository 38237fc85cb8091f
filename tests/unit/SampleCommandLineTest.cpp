// nexnet-sample, nexnet-fwd and nexnet-appring refuse bad arguments before they open anything: status 2, and a
// line that names the argument and says what is wrong with it (the hostile-user probe of issue 17).
#include "support/ShellCommand.h"
#include "support/TestEnvironment.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

using namespace nexnet::test;

namespace {

const std::string kSample = std::string(NEXNET_BINARY_DIR) + "/samples/ethernet/nexnet-sample";
const std::string kForwarder = std::string(NEXNET_BINARY_DIR) + "/samples/forward/nexnet-fwd";
const std::string kAppRing = std::string(NEXNET_BINARY_DIR) + "/samples/appring/nexnet-appring";

struct Case {
    const char* arguments;  // as a shell reads them
    const char* says;       // the first line must contain this
};

CommandResult run(const std::string& program, const std::string& arguments) {
    return runCommand("timeout 10 " + program + " " + arguments);
}

// Runs @p program with each case: status 2, the reason on the first line, and @p usage (when
// given) somewhere in what it printed.
template <std::size_t N>
void expectRefusals(const std::string& program, const Case (&cases)[N], const char* usage = nullptr) {
    for (const Case& c : cases) {
        CommandResult result = run(program, c.arguments);
        EXPECT_EQ(result.status, 2) << c.arguments << "\n" << result.output;
        std::string first = result.output.substr(0, result.output.find('\n'));
        EXPECT_NE(first.find(c.says), std::string::npos) << c.arguments << "\n" << result.output;
        if (usage != nullptr) {
            EXPECT_NE(result.output.find(usage), std::string::npos) << c.arguments;
        }
    }
}

class SampleCommandLineTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE(std::filesystem::exists(kSample) && std::filesystem::exists(kForwarder),
                       "the samples are not built");
    }
};

TEST_F(SampleCommandLineTest, TheSampleRefusesEachBadArgumentByName) {
    const Case cases[] = {
        {"--ip '1.2.3.4/ 24'", "--ip \"1.2.3.4/ 24\": the prefix length \" 24\" is not a number"},
        {"--ip 224.0.0.1/24", "--ip 224.0.0.1/24: 224.0.0.1 is a multicast address"},
        {"--ip 255.255.255.255/32", "255.255.255.255 is the limited broadcast address"},
        {"--ip 0.0.0.0/24", "0.0.0.0/8"},
        {"--driver", "--driver needs a value (URI)"},
        {"--driver --poll", "--driver needs a value (URI), not the option --poll"},
        {"--mac ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff is the broadcast address"},
        {"--mac 01:00:5e:00:00:01", "01:00:5e:00:00:01 is a multicast address"},
        {"--udp-port 0", "--udp-port 0: not a number from 1 to 65535"},
        {"--udp-port 65536", "--udp-port 65536: not a number from 1 to 65535"},
        {"--count -5", "--count -5: not a number"},
        {"--duration -1", "--duration -1: not a number of seconds"},
        {"--duration 1e400", "--duration 1e400: not a number of seconds"},
        {"--user no-such-account-here", "no account no-such-account-here"},
        {"--frobnicate", "unknown option --frobnicate"},
        {"tap:a tap:b", "unexpected tap:b"},
    };
    expectRefusals(kSample, cases, "usage: nexnet-sample");
}

TEST_F(SampleCommandLineTest, TheForwarderRefusesEachBadArgumentByName) {
    const Case cases[] = {
        {"null:", "missing URIs (2 needed, 1 given)"},
        {"null: null: null:", "unexpected null:"},
        {"null: null: --duration", "--duration needs a value (SECONDS)"},
        {"null: null: --duration abc", "--duration abc: not a number of seconds"},
        {"null: null: --duration 0", "--duration 0: not a number of seconds"},
        {"null: null: --user", "--user needs a value (NAME)"},
        {"null: null: --stats=1", "--stats takes no value"},
        {"null: null: --threads 0", "--threads 0: not a number from 1 to 16"},
        {"null: null: --threads 2x", "--threads 2x: not a number"},
        {"null: null: --burst 257", "--burst 257: not a number from 1 to 256"},
        {"null: null: --cpus 3-1", "--cpus 3-1: CPU list"},
    };
    expectRefusals(kForwarder, cases);
}

// Before: an unknown mode became join, unknown actions and options were ignored, --hold -5 was a
// huge number; each then failed (or not) only when mapping the rings.
TEST_F(SampleCommandLineTest, TheAppRingApplicationRefusesEachBadArgumentByName) {
    NEXNET_REQUIRE(std::filesystem::exists(kAppRing), "nexnet-appring is not built");
    const Case cases[] = {
        {"/tmp/no.sock null0 sideways reinject", "unknown mode sideways (rx, tx, bypass, non-network or join)"},
        {"/tmp/no.sock null0 rx dance", "unknown action dance (reinject, respond, watch, hold or garbage)"},
        {"/tmp/no.sock null0 rx hold --hold -5", "--hold -5: not a number"},
        {"/tmp/no.sock null0 rx hold --hold 0", "--hold 0: not a number from 1"},
        {"/tmp/no.sock null0 rx reinject --seconds never", "--seconds never: not a number of seconds"},
        {"/tmp/no.sock null0 rx reinject --frobnicate 1", "unknown option --frobnicate"},
        {"/tmp/no.sock null0 bypass respond --ip 255.255.255.255", "limited broadcast"},
        {"/tmp/no.sock null0 bypass respond --mac ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff is the broadcast address"},
        {"/tmp/no.sock null0 rx", "missing"},
    };
    expectRefusals(kAppRing, cases, "usage: nexnet-appring");
}

TEST_F(SampleCommandLineTest, HelpPrintsTheUsageAndSucceeds) {
    CommandResult sample = run(kSample, "--help");
    EXPECT_EQ(sample.status, 0);
    EXPECT_NE(sample.output.find("--user NAME"), std::string::npos) << sample.output;
    CommandResult forwarder = run(kForwarder, "-h");
    EXPECT_EQ(forwarder.status, 0);
    EXPECT_NE(forwarder.output.find("--user NAME"), std::string::npos) << forwarder.output;
}

TEST_F(SampleCommandLineTest, TheNullDriversSizeLimitIsNamed) {
    CommandResult result = run(kForwarder, "null:,size=65535 null: --duration 0.1");
    EXPECT_EQ(result.status, 1) << result.output;
    EXPECT_NE(result.output.find("size=65535: frames are 14 to 2048 bytes"), std::string::npos) << result.output;
}

}  // namespace
