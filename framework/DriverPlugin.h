#pragma once
/// @file DriverPlugin.h
/// @brief The entry point of a driver plug-in: a shared object that registers drivers built
/// outside nexnet, loaded by DriverRegistry::loadPlugin (as DPDK's EAL loads PMDs with -d).
///
/// A plug-in is a shared object linked against libnexnet that defines, with C linkage:
///
/// @code
/// #include <framework/DriverPlugin.h>
///
/// extern "C" unsigned nexnet_driver_plugin_abi() { return nexnet::kDriverPluginAbi; }
/// extern "C" int nexnet_register_drivers(nexnet::DriverRegistry* registry) {
///     return MyEthernet::registerWith(*registry);  // 0 or an errno
/// }
/// @endcode
///
/// Programs load plug-ins named on their command line (`-d PATH`, for nexnet-sample, nexnet-fwd
/// and nexnetctl) and in the NEXNET_DRIVER_PATH environment variable (colon-separated files or
/// directories of *.so files). The ABI number changes whenever IONetwork's virtual methods or
/// layout change; a plug-in built for another one is refused (EPROTO) instead of crashing.

namespace nexnet {

class DriverRegistry;

/// The plug-in ABI of this nexnet: what nexnet_driver_plugin_abi() must return.
inline constexpr unsigned kDriverPluginAbi = 1;

/// The environment variable naming plug-ins to load (colon-separated files or directories).
inline constexpr const char* kDriverPathVariable = "NEXNET_DRIVER_PATH";

}  // namespace nexnet

extern "C" {
/// Defined by the plug-in: the ABI it was built for (kDriverPluginAbi at its build).
unsigned nexnet_driver_plugin_abi();
/// Defined by the plug-in: registers its drivers in @p registry. @return 0 or an errno.
int nexnet_register_drivers(nexnet::DriverRegistry* registry);
}
