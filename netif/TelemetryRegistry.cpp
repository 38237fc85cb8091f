#include "netif/TelemetryRegistry.h"

#include "framework/IOEthernet.h"
#include "netif/AppRingServer.h"
#include "netif/HostStackBridge.h"
#include "netif/LowResourceBuffer.h"
#include "netif/NetworkInterface.h"
#include "netif/netif.h"

#include <arpa/inet.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <bit>
#include <cerrno>

namespace nexnet {

namespace {

const char* modeName(app_ring_mode mode) {
    switch (mode) {
    case APP_RING_RX_INTERCEPT:
        return "rx-intercept";
    case APP_RING_TX_INTERCEPT:
        return "tx-intercept";
    case APP_RING_BYPASS:
        return "bypass";
    case APP_RING_NON_NETWORK:
        return "non-network";
    default:
        return "unknown";
    }
}

const char* linkName(LinkStatus status) {
    switch (status) {
    case LinkStatus::up:
        return "up";
    case LinkStatus::down:
        return "down";
    default:
        return "unknown";
    }
}

TelemetryReport::NamedCounters countersOf(const AppRing::Statistics& s) {
    return {{"inserted", s.inserted},       {"removed", s.removed},       {"returned", s.returned},
            {"ring1Full", s.ring1Full},     {"unpostable", s.unpostable}, {"copied", s.copied},
            {"bypassDrops", s.bypassDrops}, {"invalid", s.invalid},       {"refused", s.refused},
            {"abandoned", s.abandoned},     {"reclaimed", s.reclaimed}};
}

TelemetryReport::NamedCounters countersOf(const LowResourceBuffer::Statistics& s) {
    return {{"arrays", s.arrays},
            {"packets", s.packets},
            {"lowResourceEntries", s.lowResourceEntries},
            {"recoveries", s.recoveries},
            {"packetsFlagged", s.packetsFlagged},
            {"flagsRemoved", s.flagsRemoved},
            {"packetsToHost", s.packetsToHost},
            {"packetsBuffered", s.packetsBuffered},
            {"packetsReleased", s.packetsReleased},
            {"drops", s.drops},
            {"reserveHighWater", s.reserveHighWater}};
}

std::string ipv4Of(const NetworkInterface& interface) {
    in_addr address = interface.address();
    if (address.s_addr == INADDR_ANY) return "";
    char text[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &address, text, sizeof text);
    return std::string(text) + "/" + std::to_string(std::popcount(ntohl(interface.netmask().s_addr)));
}

unsigned flagsOf(IONetwork& driver) {
    ifreq ifr{};
    if_ioctl_t call{SIOCGIFFLAGS, &ifr};
    if (driver.performCommand(IFCONTROL_UNIXIOCTL, &call) != 0) return driver.isRunning() ? IFF_UP | IFF_RUNNING : 0;
    return static_cast<unsigned short>(ifr.ifr_flags);
}

}  // namespace

int TelemetryRegistry::add(Entry entry) {
    std::lock_guard<std::mutex> lock(lock_);
    if (find(entry.name) != nullptr) return EEXIST;
    entries_.push_back(std::move(entry));
    return 0;
}

int TelemetryRegistry::remove(std::string_view name) {
    std::lock_guard<std::mutex> lock(lock_);
    auto it = std::find_if(entries_.begin(), entries_.end(), [name](const Entry& e) { return e.name == name; });
    if (it == entries_.end()) return ENOENT;
    entries_.erase(it);
    return 0;
}

const TelemetryRegistry::Entry* TelemetryRegistry::find(std::string_view name) const {
    for (auto& entry : entries_) {
        if (entry.name == name) return &entry;
    }
    return nullptr;
}

bool TelemetryRegistry::contains(std::string_view name) const {
    std::lock_guard<std::mutex> lock(lock_);
    return find(name) != nullptr;
}

NetworkInterface* TelemetryRegistry::interface(std::string_view name) const {
    const Entry* entry = find(name);  // control thread: the only writer, no lock needed to read
    return entry != nullptr ? entry->interface : nullptr;
}

std::vector<TelemetryReport::Interface> TelemetryRegistry::snapshot(std::string_view only) const {
    std::vector<TelemetryReport::Interface> list;
    for (auto& entry : entries_) {
        if (only.empty() || entry.name == only) list.push_back(describe(entry));
    }
    return list;
}

TelemetryReport::Interface TelemetryRegistry::describe(const Entry& entry) const {
    TelemetryReport::Interface report;
    IONetwork& driver = *entry.driver;
    report.name = entry.name;
    report.uri = entry.uri;
    report.mode = driver.modeDescription();
    report.link = linkName(driver.linkStatus());
    report.flags = entry.interface != nullptr ? entry.interface->flags() : flagsOf(driver);
    report.mtu = driver.mtu();
    if (auto* ethernet = dynamic_cast<IOEthernet*>(&driver))
        report.hardwareAddress = ethernet->hardwareAddress().toString();
    report.controllable = entry.interface != nullptr;
    if (entry.interface != nullptr) {
        report.ipv4 = ipv4Of(*entry.interface);
        report.outputQueued = entry.interface->outputQueued();
    }
    if (AppRing* ring = appRings_ != nullptr ? appRings_->ring(entry.name) : nullptr) {
        TelemetryReport::AppRings rings{
            modeName(ring->mode()), {}, ring->ring1Pending(), countersOf(ring->statistics())};
        for (auto& app : appRings_->applications()) {
            if (app.interface == entry.name) rings.applications.push_back({app.pid, app.uid});
        }
        report.appRings = std::move(rings);
    }
    if (entry.bridge != nullptr)
        report.bridge = TelemetryReport::Bridge{entry.bridge->hostName(), entry.bridge->statistics().toHost,
                                                entry.bridge->statistics().fromHost};
    if (const LowResourceBuffer* low = entry.lowResource) {
        report.lowResource =
            TelemetryReport::LowResource{low->isLowResource(), low->config().lowWater, low->config().highWater,
                                         low->held(),          low->reserveInUse(),    countersOf(low->statistics())};
    }
    return report;
}

void TelemetryRegistry::addCounters(std::vector<TelemetryReport::Interface>& interfaces) const {
    std::lock_guard<std::mutex> lock(lock_);
    for (auto& report : interfaces) {
        const Entry* entry = find(report.name);
        if (entry == nullptr) continue;
        const IONetwork& driver = *entry->driver;
        report.queues.clear();
        for (unsigned q = 0; q < driver.queueCount(); ++q)
            report.queues.push_back({q, driver.receiveStatistics(q), driver.transmitStatistics(q)});
        if (const NetbufPool* pool = driver.pool()) {
            report.pool = TelemetryReport::Pool{pool->capacity(),           pool->inUse(),
                                                pool->sharedAvailable(),    pool->highWaterMark(),
                                                pool->allocationFailures(), pool->isBelowLowWater(),
                                                pool->bufferSize(),         pool->dataRegion().pageSize()};
        }
    }
}

int TelemetryRegistry::perform(const Entry& entry, std::string_view command, void* data) const {
    // An interface also runs finishInitialization on up and empties its output queue on down.
    return entry.interface != nullptr ? entry.interface->performCommand(command, data)
                                      : entry.driver->performCommand(command, data);
}

Status TelemetryRegistry::set(std::string_view name, const TelemetrySetting& setting) {
    const Entry* entry = find(name);
    if (entry == nullptr) return Status(ENODEV, "no interface " + std::string(name));
    using Kind = TelemetrySetting::Kind;
    int error = 0;
    switch (setting.kind) {
    case Kind::up:
    case Kind::down: {
        ifreq ifr{};
        unsigned flags = entry->interface != nullptr ? entry->interface->flags() : flagsOf(*entry->driver);
        flags = setting.kind == Kind::up ? flags | IFF_UP : flags & ~unsigned(IFF_UP);
        ifr.ifr_flags = static_cast<short>(flags);
        error = perform(*entry, IFCONTROL_SETFLAGS, &ifr.ifr_ifru);
        break;
    }
    case Kind::promiscuous:
        error = perform(*entry, setting.on ? IFCONTROL_RCVPROMISCUOUS : IFCONTROL_RCVPROMISCOFF, nullptr);
        break;
    case Kind::mtu: {
        ifreq ifr{};
        ifr.ifr_mtu = static_cast<int>(setting.mtu);
        if_ioctl_t call{SIOCSIFMTU, &ifr};
        error = perform(*entry, IFCONTROL_UNIXIOCTL, &call);
        if (error == EINVAL)
            return Status(error,
                          "MTU " + std::to_string(setting.mtu) + " is outside 68-" +
                              std::to_string(entry->driver->maxMtu()) + " for " + entry->name);
        break;
    }
    case Kind::address: {
        EthernetAddress address = setting.address;
        error = perform(*entry, IFCONTROL_SETADDR, address.bytes.data());
        if (error == EINVAL)
            return Status(error, address.toString() + " is not a unicast address " + entry->name + " accepts");
        break;
    }
    }
    if (error != 0) return Status(error, entry->name + ": " + std::strerror(error));
    return Status();
}

}  // namespace nexnet
