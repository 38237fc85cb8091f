#pragma once
/// @file InterfaceStatistics.h
/// @brief InterfaceStatistics: how nexnetctl prints telemetry reports (list, stats, top, export).

#include "ProcessDirectory.h"

#include <cstdio>
#include <string>
#include <vector>

namespace nexnet {

/// Text views of TelemetryReports: `ip link`-like lists and counters, a top screen, Prometheus.
/// Rates come from two reports of the same process and their timestamps.
class InterfaceStatistics {
public:
    /// One line per interface of every process (and one per process that refused or failed).
    static void printList(const std::vector<ProcessSample>& samples, std::FILE* out = stdout);
    /// Interface @p name of @p current as `ip -s link` shows it, per queue; with @p previous,
    /// rates over the time between the two reports.
    static void printStats(const TelemetryReport& current, const TelemetryReport* previous, const std::string& name,
                           std::FILE* out = stdout);
    /// Every interface's rates between @p previous and @p current, one line each.
    static void printTop(const std::vector<ProcessSample>& current, const std::vector<ProcessSample>& previous,
                         std::FILE* out = stdout);
    /// Every counter of every interface in Prometheus' text exposition format.
    static void printPrometheus(const std::vector<ProcessSample>& samples, std::FILE* out = stdout);

    /// @p value per second as "12.3 k", "4.56 M" (SI prefixes) followed by @p unit.
    static std::string rate(double value, const char* unit);
};

}  // namespace nexnet
