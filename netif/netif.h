#pragma once
/// @file netif.h
/// @brief The interface control commands (IFCONTROL_*) and if_ioctl_t, as NeXT's net/netif.h.
///
/// Usable from C and C++. The strings are NeXT's: IFCONTROL_SETFLAGS is "setflags", and so on;
/// pass them to IONetwork::performCommand or NetworkInterface::performCommand.

#include "framework/IOCommands.h"

#include <net/if.h>
