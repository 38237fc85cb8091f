// What every benchmark program prints beside its figures: the machine's load, a median with its
// spread over runs, the CPU time a thread used, and a quiet shell for set-up commands.
// Header-only, for bench/ programs; the library never prints and does not include it.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <time.h>
#include <vector>

namespace nexnet::bench {

/// Runs @p command through the shell with its output discarded. @return its status.
inline int sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

/// The first line of /proc/loadavg (newline included), or "?\n": printed with each table, because
/// figures taken on a loaded machine are not comparable with quiet ones.
inline std::string loadAverage() {
    char line[128] = "?\n";
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fgets(line, sizeof line, f) == nullptr) std::snprintf(line, sizeof line, "?\n");
        std::fclose(f);
    }
    return line;
}

/// CPU time (user and kernel) the calling thread used so far, in nanoseconds.
inline double threadCpuNs() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

/// The median of several runs and the lowest and highest, printed as "median [low-high]".
struct Spread {
    double median, low, high;
};

/// The Spread of @p values (at least one).
inline Spread spread(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return {values[values.size() / 2], values.front(), values.back()};
}

}  // namespace nexnet::bench
