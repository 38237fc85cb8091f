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
    ASSERT_EQ(registry.registerDriver("stub", "stub:NAME", "a stub", stubFactory(&seen)), 0);
    auto driver = registry.open("stub:eth7,x=1");
    ASSERT_TRUE(driver.ok()) << driver.error();
    EXPECT_EQ(driver.value()->name(), "eth7");
    EXPECT_EQ(seen.target, "eth7");
    EXPECT_EQ(seen.options.at("x"), "1");
}

TEST(DriverRegistry, OpenPassesTheFactorysErrorThrough) {
    DriverRegistry registry;
    ASSERT_EQ(registry.registerDriver("stub", "stub:NAME", "a stub", stubFactory()), 0);
    EXPECT_EQ(registry.open("stub:x,fail").error(), ENODEV);
}

TEST(DriverRegistry, OpenOfAnUnknownSchemeIsEnoent) {
    DriverRegistry registry;
    EXPECT_EQ(registry.open("nosuch:x").error(), ENOENT);
}

TEST(DriverRegistry, OpenOfAMalformedUriIsEinval) {
    DriverRegistry registry;
    ASSERT_EQ(registry.registerDriver("stub", "", "", stubFactory()), 0);
    EXPECT_EQ(registry.open("stub").error(), EINVAL);
    EXPECT_EQ(registry.open("stub:,=1").error(), EINVAL);
}

TEST(DriverRegistry, RegisteringASchemeTwiceIsEexist) {
    DriverRegistry registry;
    ASSERT_EQ(registry.registerDriver("stub", "", "", stubFactory()), 0);
    EXPECT_EQ(registry.registerDriver("stub", "", "", stubFactory()), EEXIST);
}

TEST(DriverRegistry, RegisteringAnEmptySchemeOrFactoryIsEinval) {
    DriverRegistry registry;
    EXPECT_EQ(registry.registerDriver("", "", "", stubFactory()), EINVAL);
    EXPECT_EQ(registry.registerDriver("stub", "", "", nullptr), EINVAL);
    EXPECT_TRUE(registry.drivers().empty());
}

TEST(DriverRegistry, DriversAreListedSortedByScheme) {
    DriverRegistry registry;
    registry.registerDriver("zeta", "zeta:", "last", stubFactory());
    registry.registerDriver("alpha", "alpha:", "first", stubFactory());
    auto list = registry.drivers();
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0]->scheme, "alpha");
    EXPECT_EQ(list[0]->usage, "alpha:");
    EXPECT_EQ(list[0]->description, "first");
    EXPECT_EQ(list[1]->scheme, "zeta");
}

TEST(DriverRegistry, FindReturnsTheEntryOrNull) {
    DriverRegistry registry;
    registry.registerDriver("stub", "stub:NAME", "a stub", stubFactory());
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
