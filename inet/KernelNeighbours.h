#pragma once
/// @file KernelNeighbours.h
/// @brief KernelNeighbours: the Linux kernel's IPv4 neighbour table of one interface (netlink).

#include "framework/EthernetAddress.h"
#include "netbuf/Result.h"

#include <netinet/in.h>
#include <string>
#include <vector>

namespace nexnet {

/// Reads the kernel's ARP table for one interface with an rtnetlink RTM_GETNEIGH dump
/// (rtnetlink(7)): what InetStack learns from when a HostStackBridge's kernel interface owns ARP.
class KernelNeighbours {
public:
    /// One neighbour the kernel knows.
    struct Neighbour {
        in_addr address{};    ///< IPv4 address, network order.
        EthernetAddress mac;  ///< Its link-layer address.
    };
    /// The reachable, stale, delayed, probing and permanent IPv4 neighbours of interface
    /// @p interfaceName (incomplete and failed ones have no usable address). Blocks for the
    /// netlink round trip: a control-path call, not for every packet.
    /// Errors: ENODEV (no such interface), the socket's errno.
    static Result<std::vector<Neighbour>> read(const std::string& interfaceName);
};

}  // namespace nexnet
