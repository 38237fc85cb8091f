#pragma once
/// @file DaemonConfig.h
/// @brief DaemonConfig: what nexnetd runs, read from its configuration file and command line.

#include "framework/EthernetAddress.h"
#include "netbuf/Result.h"

#include <netinet/in.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nexnet {

/// nexnetd's configuration. The file and the command line say the same things the same way: a
/// line `KEY VALUE` in the file is `--KEY VALUE` on the command line. `interface URI` starts an
/// interface; the keys after it, up to the next `interface`, are that interface's. `#` starts a
/// comment. Every value is checked as it is read; the first bad one is reported with its place
/// ("nexnetd.conf:7: mtu: \"15x0\" is not a number from 68 to 65535") and nothing runs.
///
/// @verbatim
///  # process-wide
///  group nexnet                 # may read telemetry and map app rings (default: root only)
///  appring-socket /run/nexnet/appring.sock
///  telemetry-socket /run/nexnet/nexnetd.sock   # default: /run/nexnet/PID.sock
///  plugin /usr/lib/nexnet/drivers/vxlan.so
///
///  interface tap:nx0            # a driver URI (nexnetctl drivers lists them)
///    queues 2                   # appended to the URI as ,queues=2
///    mode interrupt             # or poll
///    mac 02:00:00:00:00:01      # IFCONTROL_SETADDR
///    mtu 1500
///    promiscuous off
///    address 10.0.0.1/24        # the interface's own IPv4 address
///    state up                   # or down
///    appring on                 # offer its app rings (default on)
///    bridge nxk0                # a HostStackBridge: the kernel's interface nxk0 (off: none)
///    bridge-address 10.0.0.2/24 # given to nxk0
///    bridge-up on               # bring nxk0 up (default on)
/// @endverbatim
struct DaemonConfig {
    /// One interface to run.
    struct Interface {
        std::string uri;                                           ///< The driver URI (queues appended).
        std::string where;                                         ///< Where it was declared ("FILE:LINE").
        bool poll = false;                                         ///< Poll mode instead of interrupt mode.
        std::optional<EthernetAddress> mac;                        ///< Hardware address to set.
        std::optional<unsigned> mtu;                               ///< MTU to set.
        bool promiscuous = false;                                  ///< Promiscuous mode.
        std::optional<std::pair<in_addr, in_addr>> address;        ///< IPv4 address and netmask.
        bool up = true;                                            ///< Bring it up.
        bool appRings = true;                                      ///< Offer its app rings.
        std::optional<std::string> bridge;                         ///< Kernel interface name of a HostStackBridge.
        std::optional<std::pair<in_addr, in_addr>> bridgeAddress;  ///< Address of the kernel's end.
        bool bridgeUp = true;                                      ///< Bring the kernel's end up.
    };

    std::string group;                  ///< Group allowed to read telemetry and map app rings ("" none).
    std::string appRingSocket;          ///< App-ring socket ("" : the runtime directory's appring.sock).
    std::string telemetrySocket;        ///< Telemetry socket ("" : the runtime directory's PID.sock).
    std::vector<std::string> plugins;   ///< Driver plug-ins to load.
    std::vector<Interface> interfaces;  ///< Interfaces, in the order given.

    /// Reads the file at @p path and adds what it says. Errors: the file's errno, or EINVAL with
    /// "PATH:LINE: KEY: problem".
    Status readFile(const std::string& path);
    /// Adds the text @p text of a file named @p name (what readFile does once it has the text).
    Status readText(std::string_view text, const std::string& name);
    /// Adds the command-line options @p arguments (`--KEY VALUE`, without the program name and
    /// without -c/--config, which the caller handles). Errors: EINVAL with "argument N: ...".
    Status readArguments(const std::vector<std::string>& arguments);
    /// Checks what needs the whole configuration (at least one interface, unique bridge names).
    Status validate() const;

    /// Applies one `KEY VALUE` setting at @p where ("FILE:LINE"). Errors: EINVAL naming it.
    Status apply(std::string_view key, std::string_view value, const std::string& where);
};

}  // namespace nexnet
