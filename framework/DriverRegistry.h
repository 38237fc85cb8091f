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
/// Drivers register a factory under their scheme with the options it takes; DriverRegistry::open
/// parses the URI, refuses options the driver did not register (naming them), finds the factory,
/// and returns the driver, initialised but not yet running (bring it up with IFCONTROL_SETFLAGS
/// IFF_UP, or NetworkInterface::setUp). Every failure carries a message for the person who typed
/// the URI. The built-in drivers are registered by builtinDrivers() (drivers/BuiltinDrivers.h),
/// which is what programs normally call; drivers built outside nexnet come in as plug-ins
/// (loadPlugin, framework/DriverPlugin.h).
///
/// Threading: register and load on one thread before opening from others; open() itself only
/// reads the table.
class DriverRegistry {
public:
    /// Makes a driver from a parsed URI; returns it or an errno.
    using Factory = std::function<Result<std::unique_ptr<IONetwork>>(const DriverUri& uri)>;

    /// One registered driver.
    struct Entry {
        std::string scheme;                ///< "tap"
        std::string usage;                 ///< "tap:NAME[,queues=N,vnet=0|1]"
        std::string description;           ///< One line for --help.
        std::vector<std::string> options;  ///< The option names the driver takes ("queues", "vnet").
        Factory factory;                   ///< Makes the driver.
        std::string plugin;                ///< The plug-in it came from, "" when built in.
    };

    /// Registers @p factory under @p scheme, taking the options named in @p options (any other
    /// option is refused by open). @return 0, EEXIST when the scheme is taken, EINVAL for an empty
    /// scheme or factory.
    int registerDriver(std::string scheme, std::string usage, std::string description, std::vector<std::string> options,
                       Factory factory);

    /// Opens the driver @p uri names. Errors, each with a message: EINVAL (malformed URI, an
    /// option the driver does not take, a bad value), EPROTONOSUPPORT (no driver for the scheme;
    /// the message lists the known ones), or whatever the driver's factory returns (ENODEV,
    /// EPERM, ...), its message prefixed with the URI.
    Result<std::unique_ptr<IONetwork>> open(std::string_view uri) const;

    /// Loads the driver plug-in at @p path (a shared object defining nexnet_register_drivers, see
    /// framework/DriverPlugin.h) and lets it register its drivers here. Loading the same file twice
    /// is harmless. @return the schemes it registered; errors with a message: ENOENT (no file),
    /// ENOEXEC (not a loadable object, or no entry point), EPROTO (built for another plug-in ABI),
    /// or the entry point's errno.
    Result<std::vector<std::string>> loadPlugin(const std::string& path);
    /// Loads every plug-in named in @p paths (colon-separated files or directories, as the
    /// NEXNET_DRIVER_PATH environment variable holds; a directory contributes its *.so files).
    /// Stops at the first failure. @return the schemes registered.
    Result<std::vector<std::string>> loadPlugins(std::string_view paths);

    /// Registered drivers, sorted by scheme.
    std::vector<const Entry*> drivers() const;
    /// The entry for @p scheme, or nullptr.
    const Entry* find(std::string_view scheme) const;

private:
    std::map<std::string, Entry, std::less<>> entries_;
    std::vector<std::string> loadedPlugins_;
    std::string loadingPlugin_;
};

}  // namespace nexnet
