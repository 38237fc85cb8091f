#pragma once
/// @file BuiltinDrivers.h
/// @brief builtinDrivers(): the DriverRegistry with every driver nexnet ships.

#include "framework/DriverRegistry.h"

namespace nexnet {

/// The process-wide registry holding nexnet's own drivers (null, tap, pcap, vfio, ...), made on
/// first use. Programs open drivers with `builtinDrivers().open("tap:nx0")` and may register
/// their own drivers in it.
DriverRegistry& builtinDrivers();

}  // namespace nexnet
