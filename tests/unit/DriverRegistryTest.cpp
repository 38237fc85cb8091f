// DriverRegistry: opens drivers by URI.
#include "drivers/BuiltinDrivers.h"
#include "framework/DriverRegistry.h"
#include "framework/IOEthernet.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace nexnet {
namespace {

class StubDriver : public IOEthernet {
public:
    explicit StubDriver(std::string target) { setName(std::move(target)); }
};

DriverRegistry::Factory stubFactory(DriverUri* seen = nullptr) {
    return [seen](const DriverUri& uri) -> Result<std::unique_ptr<IONetwork>> {
        if (seen != nullptr) *seen = uri;
        if (uri.option("fail")) return Result<std::unique_ptr<IONetwork>>::failure(ENODEV);
        return std::unique_ptr<IONetwork>(std::make_unique<StubDriver>(uri.target));
    };
}

TEST(DriverRegistry, OpenCallsTheFactoryOfTheSchemeWithTheParsedUri) {
    DriverRegistry registry;
    DriverUri seen;
    ASSERT_EQ(registry.registerDriver("stub", "stub:NAME", "a stub", {"x", "fail"}, stubFactory(&seen)), 0);
    auto driver = registry.open("stub:eth7,x=1");
    ASSERT_TRUE(driver.ok()) << driver.error();
    EXPECT_EQ(driver.value()->name(), "eth7");
    EXPECT_EQ(seen.target, "eth7");
    EXPECT_EQ(seen.options.at("x"), "1");
}

TEST(DriverRegistry, OpenPassesTheFactorysErrorThroughWithTheUriInItsMessage) {
    DriverRegistry registry;
    ASSERT_EQ(registry.registerDriver("stub", "stub:NAME", "a stub", {"x", "fail"}, stubFactory()), 0);
    auto driver = registry.open("stub:x,fail");
    EXPECT_EQ(driver.error(), ENODEV);
    EXPECT_EQ(driver.message().rfind("stub:x,fail: ", 0), 0u) << driver.message();
}

TEST(DriverRegistry, AnUnknownSchemeIsItsOwnErrorAndListsTheKnownOnes) {
    DriverRegistry registry;
    registry.registerDriver("stub", "", "", {}, stubFactory());
    registry.registerDriver("other", "", "", {}, stubFactory());
    auto driver = registry.open("nosuch:x");
    EXPECT_EQ(driver.error(), EPROTONOSUPPORT);
    EXPECT_NE(driver.message().find("'nosuch:'"), std::string::npos) << driver.message();
    EXPECT_NE(driver.message().find("known: other, stub"), std::string::npos) << driver.message();
}

TEST(DriverRegistry, AnOptionTheDriverDoesNotTakeIsRefusedByNameBeforeItsFactoryRuns) {
    DriverRegistry registry;
    DriverUri seen;
    registry.registerDriver("stub", "", "", {"size", "fill"}, stubFactory(&seen));
    auto driver = registry.open("stub:x,sizee=64,colour=red,size=1");
    EXPECT_EQ(driver.error(), EINVAL);
    EXPECT_NE(driver.message().find("colour, sizee"), std::string::npos) << driver.message();
    EXPECT_NE(driver.message().find("takes: fill, size"), std::string::npos) << driver.message();
    EXPECT_TRUE(seen.scheme.empty());  // the factory never ran
}

TEST(DriverRegistry, EveryBuiltinDriverRefusesAnUnknownOptionTheSameWay) {
    for (const char* uri : {"null:,sizee=64", "tap:,queuess=2", "pcap:x.pcap,loops=2", "pcap-live:lo,promiscuous=1",
                            "vfio:0000:00:03.0,queue=2"}) {
        auto driver = builtinDrivers().open(uri);
        EXPECT_EQ(driver.error(), EINVAL) << uri;
        EXPECT_NE(driver.message().find("unknown option"), std::string::npos) << uri << ": " << driver.message();
    }
}

TEST(DriverRegistry, ABadOptionValueIsExplained) {
    auto driver = builtinDrivers().open("null:,size=65535");
    EXPECT_EQ(driver.error(), EINVAL);
    EXPECT_NE(driver.message().find("2048"), std::string::npos) << driver.message();  // the limit is named
    auto sign = builtinDrivers().open("null:,pool=+5");
    EXPECT_EQ(sign.error(), EINVAL);
    EXPECT_NE(sign.message().find("pool=+5"), std::string::npos) << sign.message();
    auto empty = builtinDrivers().open("null:,pool=");
    EXPECT_EQ(empty.error(), EINVAL);
}

TEST(DriverRegistry, OpenOfAMalformedUriIsEinval) {
    DriverRegistry registry;
    ASSERT_EQ(registry.registerDriver("stub", "", "", {}, stubFactory()), 0);
    EXPECT_EQ(registry.open("stub").error(), EINVAL);
    EXPECT_EQ(registry.open("stub:,=1").error(), EINVAL);
}

TEST(DriverRegistry, RegisteringASchemeTwiceIsEexist) {
    DriverRegistry registry;
    ASSERT_EQ(registry.registerDriver("stub", "", "", {}, stubFactory()), 0);
    EXPECT_EQ(registry.registerDriver("stub", "", "", {}, stubFactory()), EEXIST);
}

TEST(DriverRegistry, RegisteringAnEmptySchemeOrFactoryIsEinval) {
    DriverRegistry registry;
    EXPECT_EQ(registry.registerDriver("", "", "", {}, stubFactory()), EINVAL);
    EXPECT_EQ(registry.registerDriver("stub", "", "", {}, nullptr), EINVAL);
    EXPECT_TRUE(registry.drivers().empty());
}

TEST(DriverRegistry, DriversAreListedSortedByScheme) {
    DriverRegistry registry;
    registry.registerDriver("zeta", "zeta:", "last", {}, stubFactory());
    registry.registerDriver("alpha", "alpha:", "first", {}, stubFactory());
    auto list = registry.drivers();
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0]->scheme, "alpha");
    EXPECT_EQ(list[0]->usage, "alpha:");
    EXPECT_EQ(list[0]->description, "first");
    EXPECT_EQ(list[1]->scheme, "zeta");
}

TEST(DriverRegistry, FindReturnsTheEntryOrNull) {
    DriverRegistry registry;
    registry.registerDriver("stub", "stub:NAME", "a stub", {"x", "fail"}, stubFactory());
    ASSERT_NE(registry.find("stub"), nullptr);
    EXPECT_EQ(registry.find("stub")->usage, "stub:NAME");
    EXPECT_EQ(registry.find("stu"), nullptr);
}

TEST(DriverRegistry, BuiltinDriversHaveTheNullDriver) {
    EXPECT_EQ(&builtinDrivers(), &builtinDrivers());
    ASSERT_NE(builtinDrivers().find("null"), nullptr);
    auto driver = builtinDrivers().open("null:");
    ASSERT_TRUE(driver.ok()) << driver.error();
}

}  // namespace
}  // namespace nexnet
