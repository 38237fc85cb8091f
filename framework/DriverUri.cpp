#include "framework/DriverUri.h"

#include <cerrno>
#include <charconv>

namespace nexnet {

Result<DriverUri> DriverUri::parse(std::string_view text) {
    auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) {
        std::string message(text);  // appended, not concatenated: GCC 12 warns wrongly (-Wrestrict) on the latter
        message.append(": not a driver URI (SCHEME:TARGET[,OPTION=VALUE...], e.g. tap:nx0)");
        return Result<DriverUri>::failure(EINVAL, message);
    }
    DriverUri uri;
    uri.scheme = std::string(text.substr(0, colon));
    std::string_view rest = text.substr(colon + 1);
    auto comma = rest.find(',');
    uri.target = std::string(rest.substr(0, comma));
    while (comma != std::string_view::npos) {
        rest = rest.substr(comma + 1);
        comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        if (item.empty()) continue;
        auto equals = item.find('=');
        std::string_view key = item.substr(0, equals);
        if (key.empty()) {
            std::string message(text);
            message.append(": an option without a name (").append(item).append(")");
            return Result<DriverUri>::failure(EINVAL, message);
        }
        uri.options[std::string(key)] = equals == std::string_view::npos ? "1" : std::string(item.substr(equals + 1));
    }
    return uri;
}

std::optional<std::string> DriverUri::option(const std::string& key) const {
    auto it = options.find(key);
    if (it == options.end()) return std::nullopt;
    return it->second;
}

Result<std::uint64_t> DriverUri::number(const std::string& key, std::uint64_t fallback, std::uint64_t max,
                                        std::uint64_t min) const {
    auto it = options.find(key);
    if (it == options.end()) return fallback;
    std::uint64_t value = 0;
    const std::string& text = it->second;
    // from_chars takes no sign, no space and no empty text: exactly the digits a user meant.
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < min || value > max)
        return Result<std::uint64_t>::failure(
            EINVAL,
            "option " + key + "=" + text + ": not a number from " + std::to_string(min) + " to " + std::to_string(max));
    return value;
}

Result<bool> DriverUri::flag(const std::string& key, bool fallback) const {
    auto it = options.find(key);
    if (it == options.end()) return fallback;
    const std::string& v = it->second;
    if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
    if (v == "0" || v == "false" || v == "no" || v == "off") return false;
    return Result<bool>::failure(EINVAL, "option " + key + "=" + v + ": not 0 or 1 (or true/false, yes/no, on/off)");
}

std::string DriverUri::toString() const {
    std::string text = scheme + ":" + target;
    for (const auto& [key, value] : options) text += "," + key + "=" + value;
    return text;
}

}  // namespace nexnet
