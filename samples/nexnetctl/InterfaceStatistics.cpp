#include "InterfaceStatistics.h"

#include <ctime>
#include <optional>

namespace nexnet {

namespace {

using U = unsigned long long;

std::string joined(const std::vector<std::string>& words, const char* separator) {
    std::string text;
    for (auto& word : words) text += (text.empty() ? "" : separator) + word;
    return text;
}

double seconds(const TelemetryReport& current, const TelemetryReport& previous) {
    return current.nanoseconds > previous.nanoseconds ? double(current.nanoseconds - previous.nanoseconds) / 1e9 : 0;
}

// Counters that went down mean the interface was replaced between the reports: no rate then.
double perSecond(std::uint64_t now, std::uint64_t before, double elapsed) {
    return elapsed > 0 && now >= before ? double(now - before) / elapsed : 0;
}

const TelemetryReport::Interface* sameInterface(const TelemetryReport* report, const std::string& name) {
    return report != nullptr ? report->find(name) : nullptr;
}

const TelemetryReport* reportOf(const std::vector<ProcessSample>& samples, pid_t pid) {
    for (auto& sample : samples) {
        if (sample.endpoint.pid == pid && sample.report) return &sample.report.value();
    }
    return nullptr;
}

void printDirection(std::FILE* out, const char* label, const QueueStatistics& now, const QueueStatistics* before,
                    double elapsed) {
    std::fprintf(out, "    %s: %14llu bytes %12llu packets %8llu errors %8llu dropped", label, U(now.bytes),
                 U(now.packets), U(now.errors), U(now.drops));
    if (before != nullptr && elapsed > 0)
        std::fprintf(out, "   %s  %s",
                     InterfaceStatistics::rate(perSecond(now.packets, before->packets, elapsed), "pps").c_str(),
                     InterfaceStatistics::rate(8 * perSecond(now.bytes, before->bytes, elapsed), "bit/s").c_str());
    std::fprintf(out, "\n");
}

void printLayers(std::FILE* out, const TelemetryReport::Interface& i) {
    if (i.pool)
        std::fprintf(out,
                     "    pool: %u of %u netbufs in use, high water %u, %llu allocation failures%s, %llu KiB pages\n",
                     i.pool->inUse, i.pool->capacity, i.pool->highWaterMark, U(i.pool->allocationFailures),
                     i.pool->belowLowWater ? ", below its low-water mark" : "", U(i.pool->pageSize / 1024));
    if (i.appRings) {
        std::string apps;
        for (auto& app : i.appRings->applications)
            apps += " pid " + std::to_string(app.pid) + " (uid " + std::to_string(app.uid) + ")";
        std::fprintf(out, "    app rings: %s, ring 1 pending %u, applications:%s\n", i.appRings->mode.c_str(),
                     i.appRings->ring1Pending, apps.empty() ? " none" : apps.c_str());
        std::string counters;
        for (auto& [name, value] : i.appRings->counters) counters += " " + name + " " + std::to_string(value);
        std::fprintf(out, "      %s\n", counters.c_str());
    }
    if (i.bridge)
        std::fprintf(out, "    bridge: kernel interface %s, %llu frames to the kernel, %llu from it\n",
                     i.bridge->hostInterface.c_str(), U(i.bridge->toHost), U(i.bridge->fromHost));
    if (i.lowResource)
        std::fprintf(out,
                     "    low-resource: %s (low water %u, recovered at %u), %llu held, %u reserve netbufs in use\n",
                     i.lowResource->lowResource ? "LOW" : "ok", i.lowResource->lowWater, i.lowResource->highWater,
                     U(i.lowResource->held), i.lowResource->reserveInUse);
    if (i.captures != 0) std::fprintf(out, "    captures running: %u\n", i.captures);
}

// A Prometheus label value: backslash, quote and newline escaped.
std::string label(const std::string& value) {
    std::string escaped;
    for (char c : value) {
        if (c == '\\' || c == '"') escaped += '\\';
        if (c == '\n') {
            escaped += "\\n";
            continue;
        }
        escaped += c;
    }
    return escaped;
}

}  // namespace

std::string InterfaceStatistics::rate(double value, const char* unit) {
    const char* prefixes[] = {"", "k", "M", "G", "T"};
    unsigned p = 0;
    while (value >= 1000 && p < 4) {
        value /= 1000;
        ++p;
    }
    char text[48];
    std::snprintf(text, sizeof text, "%7.2f %s%s", value, prefixes[p], unit);
    return text;
}

void InterfaceStatistics::printList(const std::vector<ProcessSample>& samples, std::FILE* out) {
    std::fprintf(out, "%-8s %-14s %-16s %-28s %-7s %-6s %s\n", "PID", "PROCESS", "INTERFACE", "URI", "LINK", "MTU",
                 "FLAGS");
    for (auto& sample : samples) {
        if (!sample.report) {
            std::fprintf(out, "%-8d %-14s (%s)\n", sample.endpoint.pid, "?", sample.report.describe().c_str());
            continue;
        }
        const TelemetryReport& report = sample.report.value();
        if (report.interfaces.empty())
            std::fprintf(out, "%-8d %-14s (no interfaces)\n", report.pid, report.process.c_str());
        for (auto& i : report.interfaces)
            std::fprintf(out, "%-8d %-14s %-16s %-28s %-7s %-6u %s\n", report.pid, report.process.c_str(),
                         i.name.c_str(), i.uri.c_str(), i.link.c_str(), i.mtu,
                         joined(TelemetryReport::flagNames(i.flags), ",").c_str());
    }
}

void InterfaceStatistics::printStats(const TelemetryReport& current, const TelemetryReport* previous,
                                     const std::string& name, std::FILE* out) {
    const TelemetryReport::Interface* i = current.find(name);
    if (i == nullptr) return;
    const TelemetryReport::Interface* before = sameInterface(previous, name);
    double elapsed = previous != nullptr ? seconds(current, *previous) : 0;
    std::fprintf(out, "%s@%d (%s): <%s> mtu %u link %s\n", i->name.c_str(), current.pid, current.process.c_str(),
                 joined(TelemetryReport::flagNames(i->flags), ",").c_str(), i->mtu, i->link.c_str());
    std::fprintf(out, "    %s%s%s%s\n", i->uri.c_str(),
                 i->hardwareAddress.empty() ? "" : ("  link/ether " + i->hardwareAddress).c_str(),
                 i->ipv4.empty() ? "" : ("  inet " + i->ipv4).c_str(),
                 i->mode.empty() ? "" : ("  (" + i->mode + ")").c_str());
    QueueStatistics rxBefore = before ? before->receiveTotals() : QueueStatistics{};
    QueueStatistics txBefore = before ? before->transmitTotals() : QueueStatistics{};
    printDirection(out, "RX", i->receiveTotals(), before ? &rxBefore : nullptr, elapsed);
    printDirection(out, "TX", i->transmitTotals(), before ? &txBefore : nullptr, elapsed);
    for (auto& q : i->queues) {
        const TelemetryReport::Queue* old = nullptr;
        if (before != nullptr && q.index < before->queues.size()) old = &before->queues[q.index];
        std::fprintf(out, "  queue %u\n", q.index);
        printDirection(out, "RX", q.receive, old ? &old->receive : nullptr, elapsed);
        printDirection(out, "TX", q.transmit, old ? &old->transmit : nullptr, elapsed);
    }
    printLayers(out, *i);
}

void InterfaceStatistics::printTop(const std::vector<ProcessSample>& current,
                                   const std::vector<ProcessSample>& previous, std::FILE* out) {
    std::time_t now = std::time(nullptr);
    char clock[32];
    std::strftime(clock, sizeof clock, "%H:%M:%S", std::localtime(&now));
    unsigned interfaces = 0;
    for (auto& sample : current) interfaces += sample.report ? unsigned(sample.report->interfaces.size()) : 0;
    std::fprintf(out, "nexnetctl top - %s - %zu processes, %u interfaces (q quits)\n\n", clock, current.size(),
                 interfaces);
    std::fprintf(out, "%-8s %-12s %-14s %-5s %16s %18s %16s %18s %10s %6s\n", "PID", "PROCESS", "INTERFACE", "LINK",
                 "RX", "RX", "TX", "TX", "DROPS", "POOL");
    for (auto& sample : current) {
        if (!sample.report) {
            std::fprintf(out, "%-8d (%s)\n", sample.endpoint.pid, sample.report.describe().c_str());
            continue;
        }
        const TelemetryReport& report = sample.report.value();
        const TelemetryReport* before = reportOf(previous, report.pid);
        double elapsed = before ? seconds(report, *before) : 0;
        for (auto& i : report.interfaces) {
            const TelemetryReport::Interface* old = sameInterface(before, i.name);
            QueueStatistics rx = i.receiveTotals(), tx = i.transmitTotals();
            QueueStatistics rx0 = old ? old->receiveTotals() : rx, tx0 = old ? old->transmitTotals() : tx;
            double drops = perSecond(rx.drops + tx.drops, rx0.drops + tx0.drops, elapsed);
            std::string pool =
                i.pool && i.pool->capacity ? std::to_string(100ull * i.pool->inUse / i.pool->capacity) + "%" : "-";
            std::fprintf(out, "%-8d %-12s %-14s %-5s %16s %18s %16s %18s %10s %6s\n", report.pid,
                         report.process.c_str(), i.name.c_str(), i.link.c_str(),
                         rate(perSecond(rx.packets, rx0.packets, elapsed), "pps").c_str(),
                         rate(8 * perSecond(rx.bytes, rx0.bytes, elapsed), "bit/s").c_str(),
                         rate(perSecond(tx.packets, tx0.packets, elapsed), "pps").c_str(),
                         rate(8 * perSecond(tx.bytes, tx0.bytes, elapsed), "bit/s").c_str(), rate(drops, "/s").c_str(),
                         pool.c_str());
        }
    }
}

void InterfaceStatistics::printPrometheus(const std::vector<ProcessSample>& samples, std::FILE* out) {
    struct Metric {
        const char* name;
        const char* type;
        const char* help;
    };
    const Metric queueMetrics[] = {
        {"nexnet_receive_packets_total", "counter", "Packets received on the queue."},
        {"nexnet_receive_bytes_total", "counter", "Bytes received on the queue."},
        {"nexnet_receive_errors_total", "counter", "Received frames lost to errors."},
        {"nexnet_receive_drops_total", "counter", "Received frames dropped for lack of room or taker."},
        {"nexnet_transmit_packets_total", "counter", "Packets sent on the queue."},
        {"nexnet_transmit_bytes_total", "counter", "Bytes sent on the queue."},
        {"nexnet_transmit_errors_total", "counter", "Frames the device failed to send."},
        {"nexnet_transmit_drops_total", "counter", "Frames dropped before the driver took them."},
    };
    for (unsigned m = 0; m < 8; ++m) {
        std::fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", queueMetrics[m].name, queueMetrics[m].help,
                     queueMetrics[m].name, queueMetrics[m].type);
        for (auto& sample : samples) {
            if (!sample.report) continue;
            for (auto& i : sample.report->interfaces) {
                for (auto& q : i.queues) {
                    const QueueStatistics& s = m < 4 ? q.receive : q.transmit;
                    std::uint64_t values[] = {s.packets, s.bytes, s.errors, s.drops};
                    std::fprintf(out, "%s{pid=\"%d\",process=\"%s\",interface=\"%s\",queue=\"%u\"} %llu\n",
                                 queueMetrics[m].name, sample.report->pid, label(sample.report->process).c_str(),
                                 label(i.name).c_str(), q.index, U(values[m % 4]));
                }
            }
        }
    }
    using Interface = TelemetryReport::Interface;
    using Value = std::optional<std::uint64_t>;  // none: the interface has no such layer
    struct InterfaceMetric {
        Metric metric;
        Value (*value)(const Interface&);
    };
    const InterfaceMetric interfaceMetrics[] = {
        {{"nexnet_link_up", "gauge", "1 while the link is up."},
         [](const Interface& i) -> Value { return i.link == "up"; }},
        {{"nexnet_mtu_bytes", "gauge", "The interface's MTU."}, [](const Interface& i) -> Value { return i.mtu; }},
        {{"nexnet_output_queued", "gauge", "Packets waiting for room in the transmit ring."},
         [](const Interface& i) -> Value { return i.outputQueued; }},
        {{"nexnet_pool_in_use", "gauge", "Netbufs of the driver's pool in use."},
         [](const Interface& i) -> Value { return i.pool ? Value(i.pool->inUse) : std::nullopt; }},
        {{"nexnet_pool_capacity", "gauge", "Netbufs in the driver's pool."},
         [](const Interface& i) -> Value { return i.pool ? Value(i.pool->capacity) : std::nullopt; }},
        {{"nexnet_pool_high_water", "gauge", "Most netbufs of the driver's pool in use at once."},
         [](const Interface& i) -> Value { return i.pool ? Value(i.pool->highWaterMark) : std::nullopt; }},
        {{"nexnet_pool_below_low_water", "gauge", "1 between a low-water crossing of the pool and its recovery."},
         [](const Interface& i) -> Value { return i.pool ? Value(i.pool->belowLowWater) : std::nullopt; }},
        {{"nexnet_pool_allocation_failures_total", "counter", "Allocations refused because the pool was empty."},
         [](const Interface& i) -> Value { return i.pool ? Value(i.pool->allocationFailures) : std::nullopt; }},
        {{"nexnet_low_resource", "gauge", "1 while low-resource buffering sees the pool under its low-water mark."},
         [](const Interface& i) -> Value { return i.lowResource ? Value(i.lowResource->lowResource) : std::nullopt; }},
        {{"nexnet_bridge_to_host_total", "counter", "Frames given to the kernel's stack."},
         [](const Interface& i) -> Value { return i.bridge ? Value(i.bridge->toHost) : std::nullopt; }},
        {{"nexnet_bridge_from_host_total", "counter", "Frames the kernel's stack sent out through the interface."},
         [](const Interface& i) -> Value { return i.bridge ? Value(i.bridge->fromHost) : std::nullopt; }},
        {{"nexnet_appring_applications", "gauge", "Applications that have the interface's app rings mapped."},
         [](const Interface& i) -> Value { return i.appRings ? i.appRings->applications.size() : 0; }},
        {{"nexnet_captures", "gauge", "Captures running on the interface."},
         [](const Interface& i) -> Value { return i.captures; }},
    };
    for (const InterfaceMetric& m : interfaceMetrics) {
        std::fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", m.metric.name, m.metric.help, m.metric.name, m.metric.type);
        for (auto& sample : samples) {
            if (!sample.report) continue;
            for (auto& i : sample.report->interfaces) {
                Value value = m.value(i);
                if (!value) continue;
                std::fprintf(out, "%s{pid=\"%d\",process=\"%s\",interface=\"%s\"} %llu\n", m.metric.name,
                             sample.report->pid, label(sample.report->process).c_str(), label(i.name).c_str(),
                             U(*value));
            }
        }
    }
}

}  // namespace nexnet
