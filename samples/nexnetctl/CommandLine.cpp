#include "CommandLine.h"

#include <charconv>

namespace nexnet {

namespace {

const CommandSpec::Option* findOption(const CommandSpec& spec, std::string_view name) {
    for (auto& option : spec.options) {
        if (option.name == name) return &option;
    }
    return nullptr;
}

// "" when @p value is acceptable for @p option, else why not.
std::string checkValue(const CommandSpec::Option& option, const std::string& value) {
    if (value.empty()) return option.name + " needs a non-empty " + option.value;
    if (value.find_first_of(" \t\n") != std::string::npos)
        return option.name + " " + option.value + " must not contain spaces";
    if (!option.number) return "";
    std::uint64_t number = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (error != std::errc() || end != value.data() + value.size() || number < option.min || number > option.max)
        return option.name + " wants a whole number from " + std::to_string(option.min) + " to " +
            std::to_string(option.max) + ", not \"" + value + "\"";
    return "";
}

}  // namespace

std::string CommandLine::value(const std::string& name, const std::string& fallback) const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
}

std::uint64_t CommandLine::number(const std::string& name, std::uint64_t fallback) const {
    auto it = options.find(name);
    if (it == options.end()) return fallback;
    std::uint64_t value = fallback;
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);  // checked by parse
    return value;
}

std::optional<CommandLine> CommandLine::parse(const CommandSpec& spec, const std::vector<std::string>& arguments,
                                              std::string& error) {
    CommandLine line;
    line.spec = &spec;
    bool optionsEnded = false;  // after "--" everything is an operand (a filter word like "-n")
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        const std::string& argument = arguments[i];
        if (argument.empty()) {
            error = "argument " + std::to_string(i + 1) + " is empty";
            return std::nullopt;
        }
        if (!optionsEnded && argument == "--") {
            optionsEnded = true;
            continue;
        }
        if (!optionsEnded && argument[0] == '-' && argument.size() > 1) {
            const CommandSpec::Option* option = findOption(spec, argument);
            if (option == nullptr) {
                error = "unknown option " + argument + " for " + spec.name;
                return std::nullopt;
            }
            if (line.options.count(option->name) != 0) {
                error = option->name + " given twice";
                return std::nullopt;
            }
            std::string value;
            if (!option->value.empty()) {
                if (i + 1 >= arguments.size()) {
                    error = option->name + " needs " + option->value;
                    return std::nullopt;
                }
                value = arguments[++i];
                if (error = checkValue(*option, value); !error.empty()) return std::nullopt;
            }
            line.options[option->name] = value;
            continue;
        }
        if (line.operands.size() >= spec.operands.size() && !spec.restIsOperands) {
            error = "unexpected \"" + argument + "\" after " + spec.name + " " + spec.usage;
            return std::nullopt;
        }
        if (line.operands.size() < spec.operands.size() && argument.find_first_of(" \t\n") != std::string::npos) {
            error = spec.operands[line.operands.size()] + " must not contain spaces: \"" + argument + "\"";
            return std::nullopt;
        }
        line.operands.push_back(argument);
    }
    if (line.operands.size() < spec.operands.size()) {
        error = spec.name + " needs " + spec.operands[line.operands.size()];
        return std::nullopt;
    }
    return line;
}

}  // namespace nexnet
