// The samples' value parsers, table by table: what a person may type for a count, a duration, a
// host's address, a station's address and a PCI address, and the sentence for everything else.
#include "samples/common/ArgumentValues.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

using namespace nexnet;

namespace {

struct Refused {
    const char* text;
    const char* because;  // a part of the message
};

TEST(ArgumentValues, CountsAreDecimalDigitsAndNothingElse) {
    for (const char* text : {"", "+5", " 7", "7 ", "-0", "-1", "0x10", "1e3", "5.0", "..", "../../tmp", "1048577",
                             "99999999999999999999999"}) {
        auto count = parseCount(text, 0, 1u << 20);
        EXPECT_FALSE(count) << "'" << text << "'";
        EXPECT_EQ(count.error(), EINVAL);
        EXPECT_NE(count.message().find("from 0 to 1048576"), std::string::npos) << count.message();
    }
    EXPECT_EQ(parseCount("0", 0, 10).value(), 0u);
    EXPECT_EQ(parseCount("007", 0, 10).value(), 7u);
    EXPECT_EQ(parseCount("1048576", 0, 1u << 20).value(), 1u << 20);
    EXPECT_FALSE(parseCount("0", 1, 10)) << "below the minimum";
}

TEST(ArgumentValues, SecondsArePositiveDecimalsBelowAYear) {
    for (const char* text : {"", "0", "0.0", "-1", "+1", "inf", "nan", "1e3", "1..5", ".", "2s", " 1", "31536001"})
        EXPECT_FALSE(parseSeconds(text)) << "'" << text << "'";
    EXPECT_DOUBLE_EQ(parseSeconds("2").value(), 2.0);
    EXPECT_DOUBLE_EQ(parseSeconds("0.25").value(), 0.25);
    EXPECT_DOUBLE_EQ(parseSeconds(".5").value(), 0.5);
}

TEST(ArgumentValues, AHostAddressIsAUnicastAddressWithAPrefix) {
    const Refused refused[] = {
        {"1.2.3.4/ 24", "prefix length \" 24\""},
        {"1.2.3.4/24 ", "prefix length \"24 \""},
        {"1.2.3.4/", "prefix length \"\""},
        {"1.2.3.4/33", "prefix length 33"},
        {"1.2.3.4/-1", "prefix length -1"},
        {" 1.2.3.4/24", "not an IPv4 address"},
        {"1.2.3/24", "not an IPv4 address"},
        {"01.2.3.4", "not an IPv4 address"},
        {"0x01020304", "not an IPv4 address"},
        {"", "not an IPv4 address"},
        {"224.0.0.1/24", "multicast"},
        {"239.1.1.1", "multicast"},
        {"255.255.255.255/32", "limited broadcast"},
        {"240.0.0.1/8", "reserved"},
        {"0.0.0.0/0", "0.0.0.0/8"},
        {"127.0.0.1/8", "loopback"},
        {"10.77.0.255/24", "broadcast address of 10.77.0.0/24"},
        {"10.77.0.0/24", "address of the network 10.77.0.0/24"},
        {"10.77.0.3/30", "broadcast address of 10.77.0.0/30"},
    };
    for (const Refused& r : refused) {
        auto host = parseHostAddress(r.text);
        ASSERT_FALSE(host) << r.text;
        EXPECT_EQ(host.error(), EINVAL);
        EXPECT_NE(host.message().find(r.because), std::string::npos) << r.text << ": " << host.message();
    }
    auto host = parseHostAddress("10.77.0.2/24");
    ASSERT_TRUE(host);
    EXPECT_EQ(ntohl(host->address.s_addr), 0x0a4d0002u);
    EXPECT_EQ(host->prefix, 24u);
    EXPECT_EQ(ntohl(host->netmask().s_addr), 0xffffff00u);
    EXPECT_EQ(parseHostAddress("10.77.0.2")->prefix, 24u) << "24 when no prefix is given";
    EXPECT_TRUE(parseHostAddress("10.77.0.1/31")) << "RFC 3021: both addresses of a /31 are hosts";
    EXPECT_TRUE(parseHostAddress("10.77.0.0/32"));
}

TEST(ArgumentValues, AStationAddressIsUnicastAndTheMessageNamesIt) {
    const Refused refused[] = {
        {"ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff is the broadcast address"},
        {"01:00:5e:00:00:01", "01:00:5e:00:00:01 is a multicast address"},
        {"33:33:00:00:00:01", "33:33:00:00:00:01 is a multicast address"},
        {"00:00:00:00:00:00", "all zeros"},
        {"02:00:00:00:00", "not an Ethernet address"},
        {"02:00:00:00:00:01:", "not an Ethernet address"},
        {"02:00:00:00:00:0g", "not an Ethernet address"},
        {"", "not an Ethernet address"},
    };
    for (const Refused& r : refused) {
        auto address = parseStationAddress(r.text);
        ASSERT_FALSE(address) << r.text;
        EXPECT_NE(address.message().find(r.because), std::string::npos) << r.text << ": " << address.message();
    }
    EXPECT_EQ(parseStationAddress("02:00:00:77:00:02")->toString(), "02:00:00:77:00:02");
    EXPECT_EQ(parseStationAddress("02-00-00-77-00-02")->toString(), "02:00:00:77:00:02");
}

TEST(ArgumentValues, APciAddressIsDomainBusDeviceFunctionAndNoPath) {
    for (const char* text :
         {"", "..", "../../../../tmp", "0000:00:03.0/..", "0000:00:03.8", "0000:00:20.0", "0000:00:3.0", "00:03.0",
          "0000:00:03.0 ", "/sys/bus/pci/devices/0000:00:03.0", "0000:0g:03.0"}) {
        auto bdf = parsePciAddress(text);
        EXPECT_FALSE(bdf) << "'" << text << "'";
        EXPECT_NE(bdf.message().find("not a PCI address"), std::string::npos) << bdf.message();
    }
    EXPECT_EQ(parsePciAddress("0000:03:00.0").value(), "0000:03:00.0");
    EXPECT_EQ(parsePciAddress("10de:ff:1f.7").value(), "10de:ff:1f.7");
}

TEST(ArgumentValues, MessagesQuoteWhatAPersonCouldNotSee) {
    EXPECT_EQ(quotedArgument("tap:nx0"), "tap:nx0");
    EXPECT_EQ(quotedArgument(""), "\"\"");
    EXPECT_EQ(quotedArgument("1.2.3.4/ 24"), "\"1.2.3.4/ 24\"");
    EXPECT_EQ(quotedArgument("a\x1b[2Jb"), "\"a\\x1b[2Jb\"") << "a terminal escape is shown, not run";
    EXPECT_EQ(quotedArgument("say \"x\""), "\"say \\x22x\\x22\"");
}

}  // namespace
