#pragma once
/// @file CommandLine.h
/// @brief CommandLine: nexnetctl's arguments, read against a table of commands, strictly.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nexnet {

/// What a command accepts, as one row of nexnetctl's command table.
struct CommandSpec {
    /// An option of the command.
    struct Option {
        std::string name;       ///< "--watch", "-w".
        std::string value;      ///< What its value is called ("FILE", "N"); "" for a flag.
        bool number = false;    ///< The value is a decimal number (no sign).
        std::uint64_t max = 0;  ///< Largest number (when number).
        std::uint64_t min = 0;  ///< Smallest number (when number).
    };
    std::string name;                   ///< "stats".
    std::vector<std::string> operands;  ///< Required operands by name ("IF").
    std::vector<Option> options;        ///< Its options.
    bool restIsOperands = false;        ///< Words after the operands are kept (a capture filter).
    std::string usage;                  ///< One line of help after the name.
    std::string summary;                ///< What it does.
};

/// A command line read against a CommandSpec: operands in order, options by name.
struct CommandLine {
    const CommandSpec* spec = nullptr;           ///< The command.
    std::vector<std::string> operands;           ///< Its operands (and the rest, when allowed).
    std::map<std::string, std::string> options;  ///< Options given ("" for flags).

    /// True when the option @p name was given.
    bool has(const std::string& name) const { return options.count(name) != 0; }
    /// The value of option @p name, or @p fallback.
    std::string value(const std::string& name, const std::string& fallback = "") const;
    /// The value of numeric option @p name, or @p fallback.
    std::uint64_t number(const std::string& name, std::uint64_t fallback) const;

    /// Reads @p arguments (after the command's name) against @p spec. Refused: an unknown option,
    /// an option given twice, a missing or empty value, a number with a sign, spaces, a fraction
    /// or out of range, a value with leading or trailing spaces, missing or extra operands.
    /// @return the command line, or nothing with @p error saying what is wrong.
    static std::optional<CommandLine> parse(const CommandSpec& spec, const std::vector<std::string>& arguments,
                                            std::string& error);
};

}  // namespace nexnet
