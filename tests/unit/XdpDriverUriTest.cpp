// The "xdp:" URI: what each option means, and a clear refusal of what it cannot mean. No
// privileges: parsing only (tests/kernel/XdpDriverTest.cpp opens real interfaces).
#include "drivers/BuiltinDrivers.h"
#include "drivers/xdp/XdpDriver.h"

#include <gtest/gtest.h>

#include <netinet/in.h>

using namespace nexnet;

namespace {

struct Parsed {
    int error = 0;
    std::string message;
    XdpDriver::Options options;
};

Parsed parse(const std::string& text) {
    Parsed parsed;
    auto uri = DriverUri::parse(text);
    EXPECT_TRUE(uri) << text;
    if (!uri) return parsed;
    Status status = XdpDriver::parseUri(uri.value(), parsed.options);
    parsed.error = status.error();
    parsed.message = status.message();
    return parsed;
}

TEST(XdpDriverUriTest, DefaultsToQueueZeroAndLetsTheDriverChooseTheModes) {
    Parsed p = parse("xdp:eth0");
    ASSERT_EQ(p.error, 0) << p.message;
    EXPECT_EQ(p.options.interface, "eth0");
    EXPECT_EQ(p.options.firstQueue, 0u);
    EXPECT_EQ(p.options.queues, 1u);
    EXPECT_EQ(p.options.mode, XdpDriver::ModeChoice::automatic);
    EXPECT_EQ(p.options.copyMode, XdpSocket::CopyMode::automatic);
    EXPECT_EQ(p.options.busyPollMicroseconds, 0u);
    EXPECT_TRUE(p.options.filter.empty());
    EXPECT_EQ(p.options.ringSize, 2048u);
    EXPECT_EQ(p.options.poolSize, XdpDriver::kDefaultPoolSize);
}

TEST(XdpDriverUriTest, ReadsEveryOption) {
    Parsed p = parse("xdp:eth1,queue=2,queues=4,mode=generic,zerocopy=off,busypoll=50,ring=512,pool=8192");
    ASSERT_EQ(p.error, 0) << p.message;
    EXPECT_EQ(p.options.firstQueue, 2u);
    EXPECT_EQ(p.options.queues, 4u);
    EXPECT_EQ(p.options.mode, XdpDriver::ModeChoice::generic);
    EXPECT_EQ(p.options.copyMode, XdpSocket::CopyMode::copy);
    EXPECT_EQ(p.options.busyPollMicroseconds, 50u);
    EXPECT_EQ(p.options.ringSize, 512u);
    EXPECT_EQ(p.options.poolSize, 8192u);
    EXPECT_EQ(parse("xdp:eth1,mode=native,zerocopy=on").options.copyMode, XdpSocket::CopyMode::zeroCopy);
}

TEST(XdpDriverUriTest, ReadsFilterRulesJoinedWithPlus) {
    Parsed p = parse("xdp:eth0,filter=udp:53+tcp:8080+udp:4789");
    ASSERT_EQ(p.error, 0) << p.message;
    std::vector<XdpFilterRule> expected = {{IPPROTO_UDP, 53}, {IPPROTO_TCP, 8080}, {IPPROTO_UDP, 4789}};
    EXPECT_EQ(p.options.filter, expected);
}

TEST(XdpDriverUriTest, RefusesMalformedFiltersAndSaysTheForm) {
    for (const char* filter : {"udp", "udp:", "udp:0", "udp:65536", "icmp:1", "udp:53+", "udp:x"}) {
        Parsed p = parse(std::string("xdp:eth0,filter=") + filter);
        EXPECT_EQ(p.error, EINVAL) << filter;
        EXPECT_NE(p.message.find("PROTOCOL:PORT"), std::string::npos) << filter << ": " << p.message;
    }
    std::string seventeen = "udp:1";
    for (int port = 2; port <= 17; ++port) seventeen += "+udp:" + std::to_string(port);
    EXPECT_EQ(parse("xdp:eth0,filter=" + seventeen).error, EINVAL);
}

TEST(XdpDriverUriTest, RefusesValuesOutOfRangeAndNamesTheOption) {
    struct Case {
        const char* uri;
        const char* named;
    };
    for (const Case& c :
         {Case{"xdp:eth0,queues=0", "queues"}, Case{"xdp:eth0,queues=17", "queues"}, Case{"xdp:eth0,ring=1000", "ring"},
          Case{"xdp:eth0,ring=32", "ring"}, Case{"xdp:eth0,pool=100", "pool"}, Case{"xdp:eth0,mode=offload", "mode"},
          Case{"xdp:eth0,zerocopy=maybe", "zerocopy"}, Case{"xdp:eth0,busypoll=-1", "busypoll"}}) {
        Parsed p = parse(c.uri);
        EXPECT_EQ(p.error, EINVAL) << c.uri;
        EXPECT_NE(p.message.find(c.named), std::string::npos) << c.uri << ": " << p.message;
    }
}

TEST(XdpDriverUriTest, RefusesAnUnknownOptionByName) {
    Parsed p = parse("xdp:eth0,queus=2");
    EXPECT_EQ(p.error, EINVAL);
    EXPECT_NE(p.message.find("'queus'"), std::string::npos) << p.message;
}

TEST(XdpDriverUriTest, IsABuiltinDriver) {
    const DriverRegistry::Entry* entry = builtinDrivers().find("xdp");
    ASSERT_NE(entry, nullptr);
    EXPECT_NE(entry->usage.find("filter=udp:PORT"), std::string::npos);
}

}  // namespace
