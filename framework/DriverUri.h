#pragma once
/// @file DriverUri.h
/// @brief DriverUri: "scheme:target,key=value,..." naming a driver instance.

#include "netbuf/Result.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace nexnet {

/// A parsed driver URI, as DriverRegistry::open takes it: `scheme:target[,key=value...]`.
///
/// Examples: `null:`, `null:,size=64`, `tap:nx0,queues=2`, `vfio:0000:00:03.0`,
/// `pcap:in.pcap,tx=out.pcap`, `packet:eth0`. The target runs up to the first comma (a PCI
/// address keeps its colons); options are comma-separated key=value pairs (a bare key means
/// "1", a key given twice keeps the later value, empty items are skipped). Which options a
/// scheme takes is registered with its driver (DriverRegistry): the registry refuses the others
/// before the driver sees them.
struct DriverUri {
    std::string scheme;                          ///< "tap", "vfio", ...
    std::string target;                          ///< What to open: device name, file, PCI address.
    std::map<std::string, std::string> options;  ///< key=value options.

    /// Parses @p text. Errors: EINVAL when there is no "scheme:" or an option has an empty key
    /// (the message says which).
    static Result<DriverUri> parse(std::string_view text);

    /// The option @p key, or nullopt.
    std::optional<std::string> option(const std::string& key) const;
    /// The option @p key as an unsigned decimal number, @p fallback when absent. EINVAL, with a
    /// message naming the option and the range, when it is not a number within [@p min, @p max]
    /// (a sign, a space or an empty value is not a number).
    Result<std::uint64_t> number(const std::string& key, std::uint64_t fallback, std::uint64_t max = UINT64_MAX,
                                 std::uint64_t min = 0) const;
    /// The option "pool", the netbufs in a driver's own pool, @p fallback when absent. EINVAL with
    /// a message for a value that is not a number, is below @p minimum (a driver's receive burst,
    /// per queue: a smaller pool never fills one and the driver would receive nothing, silently)
    /// or above 2^32 - 2. Whether the machine has the memory is NetbufPool::create's to say.
    Result<std::uint32_t> poolSize(std::uint32_t fallback, std::uint32_t minimum) const;
    /// The option @p key as a boolean (1/0, true/false, yes/no, on/off), @p fallback when absent;
    /// EINVAL with a message for anything else.
    Result<bool> flag(const std::string& key, bool fallback) const;
    /// The URI written back as text.
    std::string toString() const;
};

}  // namespace nexnet
