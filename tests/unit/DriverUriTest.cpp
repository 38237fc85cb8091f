// DriverUri: "scheme:target,key=value,..." as every program names a driver.
#include "framework/DriverUri.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace nexnet {
namespace {

TEST(DriverUri, ParsesASchemeAlone) {
    auto uri = DriverUri::parse("null:");
    ASSERT_TRUE(uri.ok());
    EXPECT_EQ(uri->scheme, "null");
    EXPECT_EQ(uri->target, "");
    EXPECT_TRUE(uri->options.empty());
}

TEST(DriverUri, ParsesTargetAndOptions) {
    auto uri = DriverUri::parse("tap:nx0,queues=2,vnet=0");
    ASSERT_TRUE(uri.ok());
    EXPECT_EQ(uri->scheme, "tap");
    EXPECT_EQ(uri->target, "nx0");
    EXPECT_EQ(uri->options.size(), 2u);
    EXPECT_EQ(uri->options.at("queues"), "2");
    EXPECT_EQ(uri->options.at("vnet"), "0");
}

TEST(DriverUri, TargetKeepsTheColonsOfAPciAddress) {
    auto uri = DriverUri::parse("vfio:0000:00:03.0");
    ASSERT_TRUE(uri.ok());
    EXPECT_EQ(uri->scheme, "vfio");
    EXPECT_EQ(uri->target, "0000:00:03.0");
}

TEST(DriverUri, OptionsWithoutATarget) {
    auto uri = DriverUri::parse("null:,size=128");
    ASSERT_TRUE(uri.ok());
    EXPECT_EQ(uri->target, "");
    EXPECT_EQ(uri->options.at("size"), "128");
}

TEST(DriverUri, ABareKeyMeansOne) {
    auto uri = DriverUri::parse("null:,fill");
    ASSERT_TRUE(uri.ok());
    EXPECT_EQ(uri->options.at("fill"), "1");
}

TEST(DriverUri, EmptyItemsAreSkipped) {
    auto uri = DriverUri::parse("null:,,size=1,");
    ASSERT_TRUE(uri.ok());
    EXPECT_EQ(uri->options.size(), 1u);
}

TEST(DriverUri, ValuesMayBeEmptyOrContainEquals) {
    auto uri = DriverUri::parse("pcap:in.pcap,tx=,filter=a=b");
    ASSERT_TRUE(uri.ok());
    EXPECT_EQ(uri->options.at("tx"), "");
    EXPECT_EQ(uri->options.at("filter"), "a=b");
}

TEST(DriverUri, ALaterRepeatOfAKeyWins) {
    auto uri = DriverUri::parse("null:,size=1,size=2");
    ASSERT_TRUE(uri.ok());
    EXPECT_EQ(uri->options.at("size"), "2");
}

TEST(DriverUri, WithoutASchemeIsEinval) {
    EXPECT_EQ(DriverUri::parse("null").error(), EINVAL);
    EXPECT_EQ(DriverUri::parse("").error(), EINVAL);
    EXPECT_EQ(DriverUri::parse(":nx0").error(), EINVAL);
}

TEST(DriverUri, AnOptionWithAnEmptyKeyIsEinval) { EXPECT_EQ(DriverUri::parse("null:,=5").error(), EINVAL); }

TEST(DriverUri, OptionFindsAKey) {
    auto uri = DriverUri::parse("tap:nx0,queues=4");
    ASSERT_TRUE(uri.ok());
    EXPECT_EQ(uri->option("queues"), "4");
    EXPECT_EQ(uri->option("vnet"), std::nullopt);
}

TEST(DriverUri, NumberParsesOrFallsBack) {
    auto uri = DriverUri::parse("null:,size=1514");
    ASSERT_TRUE(uri.ok());
    EXPECT_EQ(uri->number("size", 64).value(), 1514u);
    EXPECT_EQ(uri->number("pool", 8192).value(), 8192u);
    EXPECT_EQ(uri->number("size", 64, 1514).value(), 1514u);
}

TEST(DriverUri, NumberThatIsNotANumberIsEinval) {
    for (const char* text : {"null:,n=abc", "null:,n=", "null:,n=-1", "null:,n=12x", "null:,n=0x10",
                             "null:,n=99999999999999999999", "null:,n= 5"}) {
        auto uri = DriverUri::parse(text);
        ASSERT_TRUE(uri.ok()) << text;
        EXPECT_EQ(uri->number("n", 0).error(), EINVAL) << text;
    }
}

TEST(DriverUri, NumberAboveTheMaximumIsEinval) {
    auto uri = DriverUri::parse("null:,size=65536");
    ASSERT_TRUE(uri.ok());
    EXPECT_EQ(uri->number("size", 64, 65535).error(), EINVAL);
}

TEST(DriverUri, FlagAcceptsTheUsualSpellings) {
    for (const char* on : {"1", "true", "yes", "on"}) {
        auto uri = DriverUri::parse(std::string("null:,fill=") + on);
        ASSERT_TRUE(uri.ok());
        EXPECT_TRUE(uri->flag("fill", false).value()) << on;
    }
    for (const char* off : {"0", "false", "no", "off"}) {
        auto uri = DriverUri::parse(std::string("null:,fill=") + off);
        ASSERT_TRUE(uri.ok());
        EXPECT_FALSE(uri->flag("fill", true).value()) << off;
    }
}

TEST(DriverUri, FlagFallsBackOrRejectsNonsenseWithEinval) {
    auto uri = DriverUri::parse("null:,fill=maybe");
    ASSERT_TRUE(uri.ok());
    EXPECT_EQ(uri->flag("fill", false).error(), EINVAL);
    EXPECT_TRUE(uri->flag("other", true).value());
}

TEST(DriverUri, ToStringWritesItBackSoThatItParsesTheSame) {
    auto uri = DriverUri::parse("tap:nx0,vnet=1,queues=2");
    ASSERT_TRUE(uri.ok());
    std::string text = uri->toString();
    EXPECT_EQ(text, "tap:nx0,queues=2,vnet=1");  // options sorted by key
    auto again = DriverUri::parse(text);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->scheme, uri->scheme);
    EXPECT_EQ(again->target, uri->target);
    EXPECT_EQ(again->options, uri->options);
}

}  // namespace
}  // namespace nexnet
