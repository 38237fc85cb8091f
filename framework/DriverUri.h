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
/// "1", a key given twice keeps the later value, empty items are skipped). Options every
/// driver understands: `pool` (netbufs in the driver's own pool).
struct DriverUri {
    std::string scheme;                          ///< "tap", "vfio", ...
    std::string target;                          ///< What to open: device name, file, PCI address.
    std::map<std::string, std::string> options;  ///< key=value options.

    /// Parses @p text. Errors: EINVAL when there is no "scheme:" or an option has an empty key.
    static Result<DriverUri> parse(std::string_view text);

    /// The option @p key, or nullopt.
    std::optional<std::string> option(const std::string& key) const;
    /// The option @p key as an unsigned number, @p fallback when absent. EINVAL when it is not a
    /// number within [0, @p max].
    Result<std::uint64_t> number(const std::string& key, std::uint64_t fallback,
                                 std::uint64_t max = UINT64_MAX) const;
    /// The option @p key as a boolean (1/0, true/false, yes/no, on/off), @p fallback when absent.
    Result<bool> flag(const std::string& key, bool fallback) const;
    /// The URI written back as text.
    std::string toString() const;
};

}  // namespace nexnet
