#pragma once
/// @file DriverRegistry.h
/// @brief DriverRegistry: opens drivers by URI ("tap:nx0", "vfio:0000:00:03.0", "null:").

#include "framework/DriverUri.h"
#include "framework/IONetwork.h"
#include "netbuf/Result.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nexnet {

/// A table from URI scheme to driver factory, so any program opens any driver by name.
///
/// Drivers register a factory under their scheme; DriverRegistry::open parses the URI, finds
/// the factory, and returns the driver, initialised but not yet running (bring it up with
/// IFCONTROL_SETFLAGS IFF_UP, or NetworkInterface::setUp). The built-in drivers are registered
/// by builtinDrivers() (drivers/BuiltinDrivers.h), which is what programs normally call.
class DriverRegistry {
public:
    /// Makes a driver from a parsed URI; returns it or an errno.
    using Factory = std::function<Result<std::unique_ptr<IONetwork>>(const DriverUri& uri)>;

    /// One registered driver.
    struct Entry {
        std::string scheme;       ///< "tap"
        std::string usage;        ///< "tap:NAME[,queues=N,vnet=0|1]"
        std::string description;  ///< One line for --help.
        Factory factory;          ///< Makes the driver.
    };

    /// Registers @p factory under @p scheme. @return 0, EEXIST when the scheme is taken,
    /// EINVAL for an empty scheme or factory.
    int registerDriver(std::string scheme, std::string usage, std::string description, Factory factory);

    /// Opens the driver @p uri names. Errors: EINVAL (malformed URI or options), ENOENT (no
    /// driver for the scheme), or whatever the driver's factory returns (ENODEV, EPERM, ...).
    Result<std::unique_ptr<IONetwork>> open(std::string_view uri) const;

    /// Registered drivers, sorted by scheme.
    std::vector<const Entry*> drivers() const;
    /// The entry for @p scheme, or nullptr.
    const Entry* find(std::string_view scheme) const;

private:
    std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace nexnet
