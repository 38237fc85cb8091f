#include "DaemonConfig.h"

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace nexnet {

namespace {

using Interface = DaemonConfig::Interface;

// "value", built without `"literal" + std::string`, which GCC 12 warns about wrongly (-Wrestrict).
std::string quoted(std::string_view value) {
    std::string text;
    text.reserve(value.size() + 2);
    text += '"';
    text += value;
    text += '"';
    return text;
}

// What a setting's value may be; each parser returns "" or what is wrong with the value.
std::string parseSwitch(std::string_view value, bool& out) {
    if (value == "on") out = true;
    else if (value == "off") out = false;
    else return quoted(value) + " is not on or off";
    return "";
}

std::string parseNumber(std::string_view value, unsigned min, unsigned max, unsigned& out) {
    unsigned number = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (error != std::errc() || end != value.data() + value.size() || value.empty() || number < min || number > max)
        return quoted(value) + " is not a number from " + std::to_string(min) + " to " + std::to_string(max);
    out = number;
    return "";
}

std::string parsePrefix(std::string_view value, std::pair<in_addr, in_addr>& out) {
    std::string text(value);
    auto slash = text.find('/');
    std::string bad = quoted(text) + " is not an IPv4 address with a prefix length (10.0.0.1/24)";
    if (slash == std::string::npos) return bad;
    unsigned prefix = 0;
    if (!parseNumber(text.substr(slash + 1), 0, 32, prefix).empty()) return bad;
    if (inet_pton(AF_INET, text.substr(0, slash).c_str(), &out.first) != 1) return bad;
    out.second.s_addr = htonl(prefix == 0 ? 0 : ~0u << (32 - prefix));
    return "";
}

// Interface names the kernel accepts: 1-15 bytes, no '/', ':' or whitespace.
std::string parseInterfaceName(std::string_view value) {
    if (value.empty() || value.size() > 15 || value.find_first_of("/: \t") != std::string_view::npos)
        return quoted(value) + " is not a Linux interface name (1-15 characters, no / : or spaces)";
    return "";
}

struct Setting {
    const char* key;
    bool perInterface;  // needs an `interface` before it
    std::function<std::string(DaemonConfig&, Interface&, std::string_view)> apply;
};

const Setting kSettings[] = {
    {"group", false,
     [](DaemonConfig& c, Interface&, std::string_view v) {
         c.group = v;
         return std::string();
     }},
    {"appring-socket", false,
     [](DaemonConfig& c, Interface&, std::string_view v) {
         if (v.front() != '/') return std::string("the socket path must be absolute");
         c.appRingSocket = v;
         return std::string();
     }},
    {"telemetry-socket", false,
     [](DaemonConfig& c, Interface&, std::string_view v) {
         if (v.front() != '/') return std::string("the socket path must be absolute");
         c.telemetrySocket = v;
         return std::string();
     }},
    {"plugin", false,
     [](DaemonConfig& c, Interface&, std::string_view v) {
         c.plugins.emplace_back(v);
         return std::string();
     }},
    {"queues", true,
     [](DaemonConfig&, Interface& i, std::string_view v) {
         unsigned queues = 0;
         std::string error = parseNumber(v, 1, 16, queues);
         if (error.empty()) i.uri += ",queues=" + std::to_string(queues);
         return error;
     }},
    {"mode", true,
     [](DaemonConfig&, Interface& i, std::string_view v) {
         if (v != "interrupt" && v != "poll") return quoted(v) + " is not interrupt or poll";
         i.poll = v == "poll";
         return std::string();
     }},
    {"mac", true,
     [](DaemonConfig&, Interface& i, std::string_view v) {
         i.mac = EthernetAddress::parse(v);
         if (!i.mac || i.mac->isMulticast() || i.mac->isZero())
             return quoted(v) + " is not a unicast MAC address (02:00:00:00:00:01)";
         return std::string();
     }},
    {"mtu", true,
     [](DaemonConfig&, Interface& i, std::string_view v) {
         unsigned mtu = 0;
         std::string error = parseNumber(v, 68, 65535, mtu);
         if (error.empty()) i.mtu = mtu;
         return error;
     }},
    {"promiscuous", true,
     [](DaemonConfig&, Interface& i, std::string_view v) { return parseSwitch(v, i.promiscuous); }},
    {"address", true,
     [](DaemonConfig&, Interface& i, std::string_view v) {
         std::pair<in_addr, in_addr> address{};
         std::string error = parsePrefix(v, address);
         if (error.empty()) i.address = address;
         return error;
     }},
    {"state", true,
     [](DaemonConfig&, Interface& i, std::string_view v) {
         if (v != "up" && v != "down") return quoted(v) + " is not up or down";
         i.up = v == "up";
         return std::string();
     }},
    {"appring", true, [](DaemonConfig&, Interface& i, std::string_view v) { return parseSwitch(v, i.appRings); }},
    {"bridge", true,
     [](DaemonConfig&, Interface& i, std::string_view v) {
         if (v == "off") {
             i.bridge.reset();
             return std::string();
         }
         std::string error = parseInterfaceName(v);
         if (error.empty()) i.bridge = std::string(v);
         return error;
     }},
    {"bridge-address", true,
     [](DaemonConfig&, Interface& i, std::string_view v) {
         std::pair<in_addr, in_addr> address{};
         std::string error = parsePrefix(v, address);
         if (error.empty()) i.bridgeAddress = address;
         return error;
     }},
    {"bridge-up", true, [](DaemonConfig&, Interface& i, std::string_view v) { return parseSwitch(v, i.bridgeUp); }},
};

std::string knownKeys() {
    std::string keys = "interface";
    for (auto& setting : kSettings) keys += std::string(", ") + setting.key;
    return keys;
}

std::string_view trim(std::string_view text) {
    auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    auto last = text.find_last_not_of(" \t\r");
    return text.substr(first, last - first + 1);
}

}  // namespace

Status DaemonConfig::apply(std::string_view key, std::string_view value, const std::string& where) {
    auto fail = [&](const std::string& problem) {
        return Status(EINVAL, where + ": " + std::string(key) + ": " + problem);
    };
    if (value.empty()) return fail("needs a value");
    if (key == "interface") {
        if (value.find(':') == std::string_view::npos)
            return fail(quoted(value) + " is not a driver URI (tap:NAME, null:, ...)");
        Interface interface;
        interface.uri = value;
        interface.where = where;
        interfaces.push_back(std::move(interface));
        return Status();
    }
    for (auto& setting : kSettings) {
        if (key != setting.key) continue;
        if (setting.perInterface && interfaces.empty()) return fail("comes before any interface line");
        Interface none;
        std::string problem = setting.apply(*this, setting.perInterface ? interfaces.back() : none, value);
        return problem.empty() ? Status() : fail(problem);
    }
    return Status(EINVAL, where + ": unknown setting \"" + std::string(key) + "\" (known: " + knownKeys() + ")");
}

Status DaemonConfig::readText(std::string_view text, const std::string& name) {
    unsigned number = 0;
    std::istringstream lines{std::string(text)};
    std::string raw;
    while (std::getline(lines, raw)) {
        ++number;
        std::string_view line = raw;
        line = trim(line.substr(0, line.find('#')));
        if (line.empty()) continue;
        auto space = line.find_first_of(" \t");
        std::string_view key = line.substr(0, space);
        std::string_view value = space == std::string_view::npos ? std::string_view() : trim(line.substr(space));
        if (value.find_first_of(" \t") != std::string_view::npos)
            return Status(EINVAL,
                          name + ":" + std::to_string(number) + ": " + std::string(key) + ": one value only, got \"" +
                              std::string(value) + "\"");
        if (Status status = apply(key, value, name + ":" + std::to_string(number)); !status) return status;
    }
    return Status();
}

Status DaemonConfig::readFile(const std::string& path) {
    std::ifstream file(path);
    if (!file) {
        int error = errno != 0 ? errno : ENOENT;
        return Status(error, path + ": " + std::strerror(error));
    }
    std::stringstream text;
    text << file.rdbuf();
    return readText(text.str(), path);
}

Status DaemonConfig::readArguments(const std::vector<std::string>& arguments) {
    for (std::size_t i = 0; i < arguments.size(); i += 2) {
        std::string where = "argument " + std::to_string(i + 1);
        const std::string& option = arguments[i];
        if (option.size() < 3 || option.compare(0, 2, "--") != 0)
            return Status(EINVAL, where + ": \"" + option + "\" is not an option (--KEY VALUE)");
        if (i + 1 >= arguments.size()) return Status(EINVAL, where + ": " + option + " needs a value");
        const std::string& value = arguments[i + 1];
        if (value != trim(value) || value.find_first_of(" \t") != std::string::npos)
            return Status(EINVAL, where + ": " + option + ": \"" + value + "\" has spaces");
        if (Status status = apply(std::string_view(option).substr(2), value, where); !status) return status;
    }
    return Status();
}

Status DaemonConfig::validate() const {
    if (interfaces.empty()) return Status(EINVAL, "no interface to run (an `interface URI` line or --interface URI)");
    std::set<std::string> bridges;
    for (auto& interface : interfaces) {
        if (interface.bridgeAddress && !interface.bridge)
            return Status(EINVAL, interface.where + ": " + interface.uri + ": bridge-address without a bridge");
        if (interface.bridge && !bridges.insert(*interface.bridge).second)
            return Status(EINVAL,
                          interface.where + ": " + interface.uri + ": bridge " + *interface.bridge + " is used twice");
    }
    return Status();
}

}  // namespace nexnet
