#include "samples/common/ArgumentParser.h"

#include "samples/common/ArgumentValues.h"

#include <algorithm>
#include <cerrno>
#include <optional>

namespace nexnet {

namespace {
using Parsed = Result<ArgumentParser::Outcome>;

bool isOption(std::string_view word) { return word.size() > 1 && word[0] == '-'; }
}  // namespace

ArgumentParser& ArgumentParser::flag(std::initializer_list<std::string_view> names, std::function<void()> on) {
    entries_.push_back({{names.begin(), names.end()}, "", nullptr, std::move(on)});
    return *this;
}

ArgumentParser& ArgumentParser::option(std::initializer_list<std::string_view> names, std::string valueName,
                                       Take take) {
    entries_.push_back({{names.begin(), names.end()}, std::move(valueName), std::move(take), nullptr});
    return *this;
}

ArgumentParser& ArgumentParser::operands(std::string valueName, unsigned min, unsigned max, Take take) {
    operandName_ = std::move(valueName);
    minOperands_ = min;
    maxOperands_ = max;
    takeOperand_ = std::move(take);
    return *this;
}

const ArgumentParser::Entry* ArgumentParser::find(std::string_view name) const {
    for (const Entry& entry : entries_) {
        if (std::find(entry.names.begin(), entry.names.end(), name) != entry.names.end()) return &entry;
    }
    return nullptr;
}

Status ArgumentParser::takeOption(const Entry& entry, std::string_view name, std::string_view value) const {
    Status taken = entry.take(value);
    if (taken) return taken;
    return Status(EINVAL, std::string(name) + " " + quotedArgument(value) + ": " + taken.describe());
}

Result<ArgumentParser::Outcome> ArgumentParser::parse(int argc, const char* const* argv) const {
    unsigned operands = 0;
    bool onlyOperands = false;  // after "--"
    for (int i = 1; i < argc; ++i) {
        std::string_view word = argv[i] != nullptr ? argv[i] : "";
        if (!onlyOperands && (word == "-h" || word == "--help")) return Outcome::help;
        if (!onlyOperands && word == "--") {
            onlyOperands = true;
            continue;
        }
        if (onlyOperands || !isOption(word)) {
            if (++operands > maxOperands_)
                return Parsed::failure(EINVAL,
                                       "unexpected " + quotedArgument(word) + " (at most " +
                                           std::to_string(maxOperands_) + " " + operandName_ + ")");
            if (Status taken = takeOperand_(word); !taken)
                return Parsed::failure(EINVAL, quotedArgument(word) + ": " + taken.describe());
            continue;
        }
        // --name=value is the same as --name value (long options only: -d=x is not a short option).
        std::string_view name = word;
        std::optional<std::string_view> inlineValue;
        if (auto equals = word.find('='); word.rfind("--", 0) == 0 && equals != std::string_view::npos) {
            name = word.substr(0, equals);
            inlineValue = word.substr(equals + 1);
        }
        const Entry* entry = find(name);
        if (entry == nullptr)
            return Parsed::failure(EINVAL, "unknown option " + quotedArgument(name) + " (see --help)");
        if (entry->valueName.empty()) {
            if (inlineValue) return Parsed::failure(EINVAL, std::string(name) + " takes no value");
            entry->on();
            continue;
        }
        if (!inlineValue) {
            // The next word is the value, unless there is none or it is another option: then the
            // user forgot the value, and taking the option as one would only confuse the message.
            std::string_view next = i + 1 < argc && argv[i + 1] != nullptr ? argv[i + 1] : "";
            if (i + 1 >= argc || next.rfind("--", 0) == 0) {
                std::string message = std::string(name) + " needs a value (" + entry->valueName + ")";
                if (i + 1 < argc) message += ", not the option " + quotedArgument(next);
                return Parsed::failure(EINVAL, message);
            }
            inlineValue = next;
            ++i;
        }
        if (Status taken = takeOption(*entry, name, *inlineValue); !taken)
            return Parsed::failure(EINVAL, taken.message());
    }
    if (operands < minOperands_)
        return Parsed::failure(EINVAL,
                               "missing " + operandName_ + " (" + std::to_string(minOperands_) +
                                   (minOperands_ == maxOperands_ ? "" : " or more") + " needed, " +
                                   std::to_string(operands) + " given)");
    return Outcome::run;
}

}  // namespace nexnet
