// nexnetd's configuration: the file and the command line say the same things, and a bad value is
// reported with its place and its problem.
#include "DaemonConfig.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

using namespace nexnet;

TEST(DaemonConfig, ReadsInterfacesWithTheirSettings) {
    DaemonConfig config;
    Status status = config.readText(
        "group nexnet   # who may read\n"
        "interface tap:nx0\n"
        "  queues 2\n  mode poll\n  mac 02:00:00:00:00:07\n  mtu 9000\n  promiscuous on\n"
        "  address 10.1.2.3/16\n  appring off\n  bridge nxk0\n  bridge-address 10.1.0.1/16\n"
        "interface null:\n  state down\n",
        "nexnetd.conf");
    ASSERT_TRUE(status) << status.describe();
    ASSERT_TRUE(config.validate()) << config.validate().describe();
    EXPECT_EQ(config.group, "nexnet");
    ASSERT_EQ(config.interfaces.size(), 2u);
    const auto& tap = config.interfaces[0];
    EXPECT_EQ(tap.uri, "tap:nx0,queues=2");
    EXPECT_EQ(tap.where, "nexnetd.conf:2");
    EXPECT_TRUE(tap.poll);
    EXPECT_EQ(tap.mac->toString(), "02:00:00:00:00:07");
    EXPECT_EQ(*tap.mtu, 9000u);
    EXPECT_TRUE(tap.promiscuous);
    EXPECT_EQ(tap.address->second.s_addr, htonl(0xffff0000));
    EXPECT_FALSE(tap.appRings);
    EXPECT_EQ(*tap.bridge, "nxk0");
    EXPECT_FALSE(config.interfaces[1].up);
}

TEST(DaemonConfig, TheCommandLineSaysWhatTheFileSays) {
    DaemonConfig file, line;
    ASSERT_TRUE(file.readText("interface tap:a\nbridge k\nbridge-up off\n", "f"));
    ASSERT_TRUE(line.readArguments({"--interface", "tap:a", "--bridge", "k", "--bridge-up", "off"}));
    ASSERT_EQ(line.interfaces.size(), 1u);
    EXPECT_EQ(line.interfaces[0].uri, file.interfaces[0].uri);
    EXPECT_EQ(line.interfaces[0].bridge, file.interfaces[0].bridge);
    EXPECT_EQ(line.interfaces[0].bridgeUp, file.interfaces[0].bridgeUp);
    EXPECT_EQ(line.interfaces[0].where, "argument 1");
}

TEST(DaemonConfig, ABadValueNamesTheLineTheSettingAndTheProblem) {
    struct Case {
        const char* text;
        const char* message;
    };
    const Case cases[] = {
        {"interface tap:a\nmtu 15x0\n", "f.conf:2: mtu: \"15x0\" is not a number from 68 to 65535"},
        {"interface tap:a\nmtu -1500\n", "f.conf:2: mtu: \"-1500\" is not a number"},
        {"interface tap:a\n\n  queues 0\n", "f.conf:3: queues: \"0\" is not a number from 1 to 16"},
        {"mtu 1500\n", "f.conf:1: mtu: comes before any interface line"},
        {"interface tap:a\ncolour blue\n", "f.conf:2: unknown setting \"colour\""},
        {"interface tap:a\nmac ff:ff:ff:ff:ff:ff\n", "f.conf:2: mac: \"ff:ff:ff:ff:ff:ff\" is not a unicast MAC"},
        {"interface tap:a\naddress 10.0.0.1\n", "f.conf:2: address: \"10.0.0.1\" is not an IPv4 address with a prefix"},
        {"interface tap:a\nbridge a/b\n", "f.conf:2: bridge: \"a/b\" is not a Linux interface name"},
        {"interface tap:a\npromiscuous yes\n", "f.conf:2: promiscuous: \"yes\" is not on or off"},
        {"interface tap:a\nmode poll fast\n", "f.conf:2: mode: one value only"},
        {"interface tap:a\nmode\n", "f.conf:2: mode: needs a value"},
        {"interface tapa\n", "f.conf:1: interface: \"tapa\" is not a driver URI"},
    };
    for (const Case& c : cases) {
        DaemonConfig config;
        Status status = config.readText(c.text, "f.conf");
        EXPECT_EQ(status.error(), EINVAL) << c.text;
        EXPECT_EQ(status.message().rfind(c.message, 0), 0u) << c.text << " -> " << status.message();
    }
}

TEST(DaemonConfig, ACommandLineOptionNeedsAValueWithoutSpaces) {
    DaemonConfig config;
    EXPECT_EQ(config.readArguments({"--interface"}).message(), "argument 1: --interface needs a value");
    EXPECT_EQ(config.readArguments({"interface", "tap:a"}).message(),
              "argument 1: \"interface\" is not an option (--KEY VALUE)");
    EXPECT_EQ(config.readArguments({"--interface", " tap:a"}).message(),
              "argument 1: --interface: \" tap:a\" has spaces");
    EXPECT_EQ(config.readArguments({"--interface", ""}).message(), "argument 1: interface: needs a value");
}

TEST(DaemonConfig, TheWholeConfigurationIsChecked) {
    DaemonConfig none;
    EXPECT_FALSE(none.validate());
    DaemonConfig twice;
    ASSERT_TRUE(twice.readText("interface tap:a\nbridge k\ninterface tap:b\nbridge k\n", "f"));
    EXPECT_NE(twice.validate().message().find("bridge k is used twice"), std::string::npos);
    DaemonConfig orphan;
    ASSERT_TRUE(orphan.readText("interface tap:a\nbridge-address 10.0.0.1/24\n", "f"));
    EXPECT_NE(orphan.validate().message().find("bridge-address without a bridge"), std::string::npos);
}

TEST(DaemonConfig, AMissingFileIsItsErrno) {
    DaemonConfig config;
    Status status = config.readFile("/nonexistent/nexnetd.conf");
    EXPECT_EQ(status.error(), ENOENT);
    EXPECT_NE(status.message().find("/nonexistent/nexnetd.conf"), std::string::npos);
}
