#pragma once
/// @file BuiltinDrivers.h
/// @brief builtinDrivers(): the DriverRegistry with every driver nexnet ships.

#include "framework/DriverRegistry.h"

#include <string>
#include <vector>

namespace nexnet {

/// The process-wide registry holding nexnet's own drivers (null, tap, pcap, vfio, ...), made on
/// first use. Programs open drivers with `builtinDrivers().open("tap:nx0")` and may register
/// their own drivers in it.
DriverRegistry& builtinDrivers();

/// Loads into builtinDrivers() the driver plug-ins named by the NEXNET_DRIVER_PATH environment
/// variable, then those in @p paths (a program's `-d PATH` options): files or directories of *.so
/// files (framework/DriverPlugin.h). Call it once, before opening URIs.
/// @return the schemes added, or the first failure with a message naming the plug-in.
Result<std::vector<std::string>> loadDriverPlugins(const std::vector<std::string>& paths);

}  // namespace nexnet
