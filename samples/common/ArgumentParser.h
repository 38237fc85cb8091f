#pragma once
/// @file ArgumentParser.h
/// @brief ArgumentParser: a sample program's command line read against a table of options, every
/// refusal a sentence naming the argument.

#include "netbuf/Result.h"

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace nexnet {

/// Reads a command line against a table: switches (`--poll`), options with a value (`--ip
/// A.B.C.D/N`, `--ip=A.B.C.D/N`, `-d FILE`) and operands (words that are not options). Each value
/// goes to the option's own parser (ArgumentValues.h), which keeps it or says why not; parse()
/// puts the option's name in front of that reason, so that the user reads what was wrong with
/// which argument ("--ip 1.2.3.4/ 24: the prefix length ' 24' is not a number from 0 to 32").
///
/// What it refuses, each with a message: an unknown option, an option without its value (the end
/// of the line, or another option where the value should be: "--driver needs a value (URI)"), a
/// value its parser refuses, a switch given a value, too many or too few operands. `-h` and
/// `--help` are always known and make parse() return Outcome::help.
///
/// The nexnet samples (nexnet-sample, nexnet-fwd) declare their options with it; the fuzz target
/// CommandLineFuzz feeds it arbitrary argument vectors. One thread; the parsers run in the order
/// the arguments come.
class ArgumentParser {
public:
    /// Checks and keeps one value; a failure's message says what is wrong with the value.
    using Take = std::function<Status(std::string_view value)>;

    /// What parse() found: run the program, or print the usage and stop.
    enum class Outcome { run, help };

    /// A switch (no value) under each of @p names: @p on runs each time it is given.
    ArgumentParser& flag(std::initializer_list<std::string_view> names, std::function<void()> on);
    /// An option with a value under each of @p names: @p take gets the value. @p valueName is what
    /// the usage calls the value ("URI", "SECONDS"), used when it is missing.
    ArgumentParser& option(std::initializer_list<std::string_view> names, std::string valueName, Take take);
    /// Operands (arguments not starting with '-', or "-" alone): from @p min to @p max of them, each
    /// given to @p take; @p valueName names them in messages ("URI").
    ArgumentParser& operands(std::string valueName, unsigned min, unsigned max, Take take);

    /// Reads @p argc arguments of @p argv, from argv[1] on. @return run or help, or EINVAL with a
    /// message naming the argument at fault. Values are taken as they come: a failure may leave
    /// the earlier ones kept.
    Result<Outcome> parse(int argc, const char* const* argv) const;

private:
    struct Entry {
        std::vector<std::string> names;
        std::string valueName;  // empty: a switch
        Take take;
        std::function<void()> on;
    };
    const Entry* find(std::string_view name) const;
    Status takeOption(const Entry& entry, std::string_view name, std::string_view value) const;

    std::vector<Entry> entries_;
    std::string operandName_ = "argument";
    unsigned minOperands_ = 0;
    unsigned maxOperands_ = 0;
    Take takeOperand_;
};

/// A Take that keeps what @p parse (a value parser of ArgumentValues.h, returning a Result) makes
/// of the value in @p into, converted to its type, or passes the parser's refusal on.
template <typename T, typename Parse>
ArgumentParser::Take storeInto(T& into, Parse parse) {
    return [&into, parse](std::string_view value) -> Status {
        auto parsed = parse(value);
        if (!parsed) return Status::from(parsed);
        into = static_cast<T>(parsed.value());
        return {};
    };
}

/// A Take that keeps the value as it is in @p into (a driver URI, a file name).
inline ArgumentParser::Take storeText(std::string& into) {
    return [&into](std::string_view value) -> Status {
        into = value;
        return {};
    };
}

}  // namespace nexnet
