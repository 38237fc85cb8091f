#pragma once
/// @file TelemetryRegistry.h
/// @brief TelemetryRegistry: the interfaces a process shows through its telemetry socket, read
/// from the control thread (their state) and the telemetry thread (their counters).

#include "netbuf/Result.h"
#include "netif/TelemetryReport.h"
#include "netif/TelemetryRequest.h"

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace nexnet {

class AppRingServer;
class HostStackBridge;
class IONetwork;
class LowResourceBuffer;
class NetworkInterface;

/// The registered interfaces of a Telemetry. Entries are added and removed on the control thread
/// under a lock that the telemetry thread holds while it reads counters, so a driver is never read
/// after its removal; the data path never takes it.
class TelemetryRegistry {
public:
    /// One registered interface or bare driver.
    struct Entry {
        std::string name;                          ///< Its name (the driver's).
        std::string uri;                           ///< The URI it was opened with.
        NetworkInterface* interface = nullptr;     ///< The interface, or nullptr for a bare driver.
        IONetwork* driver = nullptr;               ///< The driver (the interface's, for an interface).
        HostStackBridge* bridge = nullptr;         ///< Its exception path, if any.
        LowResourceBuffer* lowResource = nullptr;  ///< Its low-resource layer, if any.
    };

    /// Registers @p entry. Control thread. @return 0, or EEXIST for a name already there.
    int add(Entry entry);
    /// Unregisters @p name. Control thread. @return 0 or ENOENT.
    int remove(std::string_view name);
    /// Shows the app rings of @p server (nullptr: none). Control thread.
    void setAppRingServer(AppRingServer* server) { appRings_ = server; }

    /// The state of the interface named @p only (every interface when empty) that only the
    /// control thread may read: flags, MTU, addresses, link, app rings, bridge, low-resource.
    /// Counters are left empty. Control thread.
    std::vector<TelemetryReport::Interface> snapshot(std::string_view only) const;
    /// Fills in the queues' counters and the pools of @p interfaces (matched by name; one removed
    /// since the snapshot is left as it is). Any thread: reads only what is safe from another.
    void addCounters(std::vector<TelemetryReport::Interface>& interfaces) const;
    /// Applies @p setting to the interface @p name through performCommand. Control thread.
    /// @return 0, or the errno with a message (ENODEV: no such interface).
    Status set(std::string_view name, const TelemetrySetting& setting);
    /// The NetworkInterface named @p name, or nullptr (none, or a bare driver). Control thread.
    NetworkInterface* interface(std::string_view name) const;
    /// True when @p name is registered. Any thread.
    bool contains(std::string_view name) const;

private:
    const Entry* find(std::string_view name) const;
    TelemetryReport::Interface describe(const Entry& entry) const;
    int perform(const Entry& entry, std::string_view command, void* data) const;

    mutable std::mutex lock_;  // control thread writing entries_ <-> telemetry thread reading counters
    std::vector<Entry> entries_;
    AppRingServer* appRings_ = nullptr;
};

}  // namespace nexnet
