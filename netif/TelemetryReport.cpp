#include "netif/TelemetryReport.h"

#include <net/if.h>
#include <nlohmann/json.hpp>

#include <cerrno>

namespace nexnet {

namespace {

using Json = nlohmann::json;

// IFF_* names, as `ip link` prints them.
constexpr std::pair<unsigned, const char*> kFlagNames[] = {
    {IFF_UP, "UP"},
    {IFF_BROADCAST, "BROADCAST"},
    {IFF_LOOPBACK, "LOOPBACK"},
    {IFF_POINTOPOINT, "POINTOPOINT"},
    {IFF_RUNNING, "RUNNING"},
    {IFF_NOARP, "NOARP"},
    {IFF_PROMISC, "PROMISC"},
    {IFF_ALLMULTI, "ALLMULTI"},
    {IFF_MULTICAST, "MULTICAST"},
};

Json counters(const QueueStatistics& s) {
    return {{"packets", s.packets}, {"bytes", s.bytes}, {"errors", s.errors}, {"drops", s.drops}};
}

QueueStatistics counters(const Json& j) {
    return {j.at("packets").get<std::uint64_t>(), j.at("bytes").get<std::uint64_t>(),
            j.at("errors").get<std::uint64_t>(), j.at("drops").get<std::uint64_t>()};
}

Json named(const TelemetryReport::NamedCounters& values) {
    Json object = Json::object();
    for (auto& [name, value] : values) object[name] = value;
    return object;
}

TelemetryReport::NamedCounters named(const Json& object) {
    TelemetryReport::NamedCounters values;
    for (auto& [name, value] : object.items()) values.emplace_back(name, value.get<std::uint64_t>());
    return values;
}

Json toJson(const TelemetryReport::Pool& p) {
    return {{"capacity", p.capacity},
            {"inUse", p.inUse},
            {"sharedAvailable", p.sharedAvailable},
            {"highWaterMark", p.highWaterMark},
            {"allocationFailures", p.allocationFailures},
            {"belowLowWater", p.belowLowWater},
            {"bufferSize", p.bufferSize},
            {"pageSize", p.pageSize}};
}

TelemetryReport::Pool poolFrom(const Json& j) {
    TelemetryReport::Pool p;
    p.capacity = j.at("capacity").get<std::uint32_t>();
    p.inUse = j.at("inUse").get<std::uint32_t>();
    p.sharedAvailable = j.at("sharedAvailable").get<std::uint32_t>();
    p.highWaterMark = j.at("highWaterMark").get<std::uint32_t>();
    p.allocationFailures = j.at("allocationFailures").get<std::uint64_t>();
    p.belowLowWater = j.at("belowLowWater").get<bool>();
    p.bufferSize = j.at("bufferSize").get<std::uint32_t>();
    p.pageSize = j.at("pageSize").get<std::uint64_t>();
    return p;
}

Json toJson(const TelemetryReport::AppRings& a) {
    Json applications = Json::array();
    for (auto& app : a.applications) applications.push_back({{"pid", app.pid}, {"uid", app.uid}});
    return {{"mode", a.mode},
            {"applications", applications},
            {"ring1Pending", a.ring1Pending},
            {"counters", named(a.counters)}};
}

TelemetryReport::AppRings appRingsFrom(const Json& j) {
    TelemetryReport::AppRings a;
    a.mode = j.at("mode").get<std::string>();
    for (auto& app : j.at("applications"))
        a.applications.push_back({app.at("pid").get<pid_t>(), app.at("uid").get<uid_t>()});
    a.ring1Pending = j.at("ring1Pending").get<std::uint32_t>();
    a.counters = named(j.at("counters"));
    return a;
}

Json toJson(const TelemetryReport::LowResource& l) {
    return {{"lowResource", l.lowResource},   {"lowWater", l.lowWater},
            {"highWater", l.highWater},       {"held", l.held},
            {"reserveInUse", l.reserveInUse}, {"counters", named(l.counters)}};
}

TelemetryReport::LowResource lowResourceFrom(const Json& j) {
    TelemetryReport::LowResource l;
    l.lowResource = j.at("lowResource").get<bool>();
    l.lowWater = j.at("lowWater").get<std::uint32_t>();
    l.highWater = j.at("highWater").get<std::uint32_t>();
    l.held = j.at("held").get<std::uint64_t>();
    l.reserveInUse = j.at("reserveInUse").get<std::uint32_t>();
    l.counters = named(j.at("counters"));
    return l;
}

Json toJson(const TelemetryReport::Bridge& b) {
    return {{"hostInterface", b.hostInterface}, {"toHost", b.toHost}, {"fromHost", b.fromHost}};
}

// An optional member: null when absent, so that every key is always there for the schema.
template <typename T>
Json optional(const std::optional<T>& value) {
    return value ? toJson(*value) : Json(nullptr);
}

Json toJson(const TelemetryReport::Interface& i) {
    Json queues = Json::array();
    for (auto& q : i.queues)
        queues.push_back({{"queue", q.index}, {"receive", counters(q.receive)}, {"transmit", counters(q.transmit)}});
    return {{"name", i.name},
            {"uri", i.uri},
            {"mode", i.mode},
            {"link", i.link},
            {"flags", TelemetryReport::flagNames(i.flags)},
            {"mtu", i.mtu},
            {"hardwareAddress", i.hardwareAddress.empty() ? Json(nullptr) : Json(i.hardwareAddress)},
            {"ipv4", i.ipv4.empty() ? Json(nullptr) : Json(i.ipv4)},
            {"outputQueued", i.outputQueued},
            {"captures", i.captures},
            {"controllable", i.controllable},
            {"queues", queues},
            {"totals", {{"receive", counters(i.receiveTotals())}, {"transmit", counters(i.transmitTotals())}}},
            {"pool", optional(i.pool)},
            {"appRings", optional(i.appRings)},
            {"bridge", optional(i.bridge)},
            {"lowResource", optional(i.lowResource)}};
}

unsigned flagsFrom(const Json& names) {
    unsigned flags = 0;
    for (auto& name : names) {
        for (auto& [bit, text] : kFlagNames) {
            if (name.get<std::string>() == text) flags |= bit;
        }
    }
    return flags;
}

TelemetryReport::Interface interfaceFrom(const Json& j) {
    TelemetryReport::Interface i;
    i.name = j.at("name").get<std::string>();
    i.uri = j.at("uri").get<std::string>();
    i.mode = j.at("mode").get<std::string>();
    i.link = j.at("link").get<std::string>();
    i.flags = flagsFrom(j.at("flags"));
    i.mtu = j.at("mtu").get<unsigned>();
    if (!j.at("hardwareAddress").is_null()) i.hardwareAddress = j.at("hardwareAddress").get<std::string>();
    if (!j.at("ipv4").is_null()) i.ipv4 = j.at("ipv4").get<std::string>();
    i.outputQueued = j.at("outputQueued").get<unsigned>();
    i.captures = j.at("captures").get<unsigned>();
    i.controllable = j.at("controllable").get<bool>();
    for (auto& q : j.at("queues"))
        i.queues.push_back({q.at("queue").get<unsigned>(), counters(q.at("receive")), counters(q.at("transmit"))});
    if (!j.at("pool").is_null()) i.pool = poolFrom(j.at("pool"));
    if (!j.at("appRings").is_null()) i.appRings = appRingsFrom(j.at("appRings"));
    if (auto& b = j.at("bridge"); !b.is_null())
        i.bridge = TelemetryReport::Bridge{b.at("hostInterface").get<std::string>(),
                                           b.at("toHost").get<std::uint64_t>(), b.at("fromHost").get<std::uint64_t>()};
    if (!j.at("lowResource").is_null()) i.lowResource = lowResourceFrom(j.at("lowResource"));
    return i;
}

}  // namespace

QueueStatistics TelemetryReport::Interface::receiveTotals() const {
    QueueStatistics sum;
    for (auto& q : queues) sum += q.receive;
    return sum;
}

QueueStatistics TelemetryReport::Interface::transmitTotals() const {
    QueueStatistics sum;
    for (auto& q : queues) sum += q.transmit;
    return sum;
}

const TelemetryReport::Interface* TelemetryReport::find(std::string_view name) const {
    for (auto& i : interfaces) {
        if (i.name == name) return &i;
    }
    return nullptr;
}

std::vector<std::string> TelemetryReport::flagNames(unsigned flags) {
    std::vector<std::string> names;
    for (auto& [bit, name] : kFlagNames) {
        if (flags & bit) names.emplace_back(name);
    }
    return names;
}

std::string TelemetryReport::toJson() const {
    Json list = Json::array();
    for (auto& i : interfaces) list.push_back(nexnet::toJson(i));
    Json document = {{"ok", true},
                     {"process",
                      {{"pid", pid},
                       {"name", process},
                       {"uid", uid},
                       {"version", version},
                       {"startedNanoseconds", startedNanoseconds}}},
                     {"nanoseconds", nanoseconds},
                     {"interfaces", list}};
    // Replace, not throw, on bytes that are not UTF-8 (a driver's name is the driver's business).
    return document.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<TelemetryReport> TelemetryReport::fromJson(std::string_view text) {
    using R = Result<TelemetryReport>;
    Json document = Json::parse(text, nullptr, false);
    if (document.is_discarded() || !document.is_object()) return R::failure(EBADMSG, "the reply is not a JSON object");
    if (!document.value("ok", false))
        return R::failure(EBADMSG, "the reply is an error: " + document.value("message", std::string("?")));
    // nlohmann reports a missing member or a wrong type by exception; nothing else here throws.
    try {
        TelemetryReport report;
        const Json& process = document.at("process");
        report.pid = process.at("pid").get<pid_t>();
        report.process = process.at("name").get<std::string>();
        report.uid = process.at("uid").get<uid_t>();
        report.version = process.at("version").get<std::string>();
        report.startedNanoseconds = process.at("startedNanoseconds").get<std::uint64_t>();
        report.nanoseconds = document.at("nanoseconds").get<std::uint64_t>();
        for (auto& i : document.at("interfaces")) report.interfaces.push_back(interfaceFrom(i));
        return report;
    } catch (const Json::exception& error) {
        return R::failure(EBADMSG, std::string("malformed telemetry report: ") + error.what());
    }
}

}  // namespace nexnet
