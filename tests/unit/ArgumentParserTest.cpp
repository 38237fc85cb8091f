// ArgumentParser: a command line against a table of switches, options and operands; every refusal
// names the argument, and a missing value is said to be missing rather than taken from the next one.
#include "samples/common/ArgumentParser.h"
#include "samples/common/ArgumentValues.h"

#include <gtest/gtest.h>

#include <vector>

using namespace nexnet;

namespace {

// A table shaped like nexnet-sample's.
struct Table {
    bool poll = false;
    std::string uri;
    std::uint64_t count = 0;
    std::vector<std::string> plugins;
    ArgumentParser parser;

    Table() {
        parser.flag({"--poll"}, [this] { poll = true; })
            .option({"--driver"}, "URI", storeText(uri))
            .option({"--count"}, "N", storeInto(count, [](auto v) { return parseCount(v, 0, 100); }))
            .option({"-d", "--plugin"}, "PLUGIN.so",
                    [this](std::string_view file) {
                        plugins.emplace_back(file);
                        return Status();
                    })
            .operands("URI", 0, 1, storeText(uri));
    }
    Result<ArgumentParser::Outcome> parse(std::vector<const char*> words) {
        words.insert(words.begin(), "program");
        return parser.parse(static_cast<int>(words.size()), words.data());
    }
};

TEST(ArgumentParser, TakesSwitchesOptionsAndOperandsInAnyOrder) {
    Table t;
    auto parsed = t.parse({"--count", "5", "--poll", "-d", "a.so", "--plugin=b.so", "null:"});
    ASSERT_TRUE(parsed) << parsed.message();
    EXPECT_EQ(parsed.value(), ArgumentParser::Outcome::run);
    EXPECT_TRUE(t.poll);
    EXPECT_EQ(t.count, 5u);
    EXPECT_EQ(t.uri, "null:");
    EXPECT_EQ(t.plugins, (std::vector<std::string>{"a.so", "b.so"}));
}

TEST(ArgumentParser, AnOptionWithoutItsValueSaysSo) {
    Table t;
    auto atTheEnd = t.parse({"--driver"});
    ASSERT_FALSE(atTheEnd);
    EXPECT_EQ(atTheEnd.error(), EINVAL);
    EXPECT_EQ(atTheEnd.message(), "--driver needs a value (URI)");
    auto beforeAnother = t.parse({"--driver", "--poll"});
    ASSERT_FALSE(beforeAnother);
    EXPECT_EQ(beforeAnother.message(), "--driver needs a value (URI), not the option --poll");
    EXPECT_FALSE(t.poll) << "the next option was not taken as the value, nor run";
}

TEST(ArgumentParser, ARefusedValueIsNamedWithItsOption) {
    Table t;
    auto parsed = t.parse({"--count", "+5"});
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.message(), "--count +5: not a number from 0 to 100 (decimal digits only)");
    auto spaced = t.parse({"--count", " 7"});
    ASSERT_FALSE(spaced);
    EXPECT_EQ(spaced.message().rfind("--count \" 7\": ", 0), 0u) << spaced.message();
    auto negative = t.parse({"--count", "-5"});
    ASSERT_FALSE(negative) << "a single-dash value reaches the parser, which refuses it";
    EXPECT_EQ(negative.message().rfind("--count -5: ", 0), 0u) << negative.message();
}

TEST(ArgumentParser, RefusesUnknownOptionsSwitchValuesAndExtraOperands) {
    Table t;
    EXPECT_EQ(t.parse({"--frobnicate"}).message(), "unknown option --frobnicate (see --help)");
    EXPECT_EQ(t.parse({"-x"}).message(), "unknown option -x (see --help)");
    EXPECT_EQ(t.parse({"--poll=1"}).message(), "--poll takes no value");
    EXPECT_EQ(t.parse({"null:", "tap:x"}).message(), "unexpected tap:x (at most 1 URI)");
}

TEST(ArgumentParser, HelpWinsWhereverItIs) {
    Table t;
    EXPECT_EQ(t.parse({"--poll", "-h"}).value(), ArgumentParser::Outcome::help);
    EXPECT_EQ(t.parse({"--help", "--frobnicate"}).value(), ArgumentParser::Outcome::help);
}

TEST(ArgumentParser, MissingOperandsAreCounted) {
    ArgumentParser parser;
    std::vector<std::string> uris;
    parser.operands("URIs", 2, 2, [&](std::string_view uri) {
        uris.emplace_back(uri);
        return Status();
    });
    const char* one[] = {"program", "null:"};
    auto parsed = parser.parse(2, one);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.message(), "missing URIs (2 needed, 1 given)");
}

TEST(ArgumentParser, DoubleDashEndsTheOptions) {
    Table t;
    auto parsed = t.parse({"--", "--poll"});
    ASSERT_TRUE(parsed) << parsed.message();
    EXPECT_EQ(t.uri, "--poll");
    EXPECT_FALSE(t.poll);
}

}  // namespace
