#include "netbuf/SystemMemory.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sys/resource.h>

namespace nexnet {

namespace {

// The value of "Key:   1234 kB" in @p text, in bytes (kB lines) or as written; nullopt-like false.
bool field(std::string_view text, std::string_view key, std::uint64_t& out) {
    for (std::size_t at = 0; at < text.size();) {
        std::size_t end = text.find('\n', at);
        std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
        at = end == std::string_view::npos ? text.size() : end + 1;
        if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') continue;
        std::string_view rest = line.substr(key.size() + 1);
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        std::uint64_t value = 0;
        auto [next, error] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
        if (error != std::errc()) return false;
        bool kilobytes = std::string_view(next, rest.data() + rest.size()).find("kB") != std::string_view::npos;
        out = kilobytes ? value * 1024 : value;
        return true;
    }
    return false;
}

}  // namespace

SystemMemory SystemMemory::fromMeminfo(std::string_view meminfo) {
    SystemMemory memory;
    std::uint64_t value = 0;
    if (field(meminfo, "MemAvailable", value)) memory.available = value;
    std::uint64_t free = 0, size = 0;
    if (field(meminfo, "HugePages_Free", free) && field(meminfo, "Hugepagesize", size))
        memory.hugepagesFree = free * size;
    return memory;
}

SystemMemory SystemMemory::now() {
    std::ifstream file("/proc/meminfo");
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    SystemMemory memory = fromMeminfo(text);
    rlimit limit{};
    if (getrlimit(RLIMIT_MEMLOCK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) memory.lockLimit = limit.rlim_cur;
    return memory;
}

Status SystemMemory::fits(std::uint64_t bytes, bool hugepages, const std::string& what) const {
    if (bytes <= available || (hugepages && bytes <= hugepagesFree)) return {};
    std::string message = what + " needs " + format(bytes) + "; the machine has " + format(available) +
        " available (MemAvailable in /proc/meminfo)";
    if (hugepages) message += " and " + format(hugepagesFree) + " of free hugepages";
    return Status(ENOMEM, message + ": ask for fewer");
}

std::string SystemMemory::format(std::uint64_t bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double value = static_cast<double>(bytes);
    unsigned unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
    return text;
}

}  // namespace nexnet
