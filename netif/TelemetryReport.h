#pragma once
/// @file TelemetryReport.h
/// @brief TelemetryReport: what a process's telemetry socket says about it and its interfaces,
/// as C++ values and as the JSON of docs/telemetry.schema.json.

#include "framework/QueueCounters.h"
#include "netbuf/Result.h"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nexnet {

/// The answer to a telemetry `describe` request: the process and each of its interfaces. Telemetry
/// fills it and sends toJson(); nexnetctl (or any client) reads it back with fromJson().
/// Counters are monotonic since the interface was opened; a client takes rates from two reports
/// and their `nanoseconds`.
struct TelemetryReport {
    /// Counters that a layer names itself (app rings, low-resource buffering): "name": value.
    using NamedCounters = std::vector<std::pair<std::string, std::uint64_t>>;

    /// One queue pair's counters.
    struct Queue {
        unsigned index = 0;        ///< The queue number.
        QueueStatistics receive;   ///< Receive counters (IONetwork::receiveStatistics).
        QueueStatistics transmit;  ///< Transmit counters (IONetwork::transmitStatistics).
    };
    /// The netbuf pool a driver receives into.
    struct Pool {
        std::uint32_t capacity = 0;            ///< Netbufs in the pool: the cap.
        std::uint32_t inUse = 0;               ///< Netbufs taken.
        std::uint32_t sharedAvailable = 0;     ///< Free in the shared stack (what water marks compare).
        std::uint32_t highWaterMark = 0;       ///< Most netbufs ever out at once.
        std::uint64_t allocationFailures = 0;  ///< Requests refused because the pool was empty.
        bool belowLowWater = false;            ///< Between a low-water crossing and the recovery.
        std::uint32_t bufferSize = 0;          ///< Bytes per buffer (headroom + data room).
        std::uint64_t pageSize = 0;            ///< Page size of the buffers' memory (2 MiB: hugepages).
    };
    /// An application that has the interface's app rings mapped.
    struct Application {
        pid_t pid = 0;  ///< Its process.
        uid_t uid = 0;  ///< Its user.
    };
    /// The interface's app rings (present while an application has them mapped).
    struct AppRings {
        std::string mode;                       ///< rx-intercept, tx-intercept, bypass, non-network.
        std::vector<Application> applications;  ///< Who has them mapped.
        std::uint32_t ring1Pending = 0;         ///< Entries in ring 1 not yet removed.
        NamedCounters counters;                 ///< AppRing::Statistics by name.
    };
    /// The exception path to the kernel's IP stack (HostStackBridge).
    struct Bridge {
        std::string hostInterface;   ///< The kernel's interface.
        std::uint64_t toHost = 0;    ///< Frames given to the kernel.
        std::uint64_t fromHost = 0;  ///< Frames the kernel sent out through the interface.
    };
    /// Low-resource buffering (LowResourceBuffer).
    struct LowResource {
        bool lowResource = false;        ///< The pool is under its low-water mark now.
        std::uint32_t lowWater = 0;      ///< The mark.
        std::uint32_t highWater = 0;     ///< Recovered at this many free netbufs.
        std::uint64_t held = 0;          ///< Reserve copies held for release.
        std::uint32_t reserveInUse = 0;  ///< Reserve netbufs in use.
        NamedCounters counters;          ///< LowResourceBuffer::Statistics by name.
    };
    /// One interface (or a driver a program runs without a NetworkInterface).
    struct Interface {
        std::string name;                        ///< Its name (the driver's).
        std::string uri;                         ///< The driver URI it was opened with.
        std::string mode;                        ///< IONetwork::modeDescription: how the driver runs.
        std::string link;                        ///< "up", "down" or "unknown".
        unsigned flags = 0;                      ///< IFF_* flags (JSON: their names).
        unsigned mtu = 0;                        ///< The MTU.
        std::string hardwareAddress;             ///< "aa:bb:cc:dd:ee:ff", or "" for a link without one.
        std::string ipv4;                        ///< "A.B.C.D/N" (NetworkInterface::address), or "".
        unsigned outputQueued = 0;               ///< Packets waiting for room in the transmit ring.
        unsigned captures = 0;                   ///< Captures running on it.
        bool controllable = false;               ///< A NetworkInterface: capture works (else a bare driver).
        std::vector<Queue> queues;               ///< Per-queue counters.
        std::optional<Pool> pool;                ///< The driver's pool.
        std::optional<AppRings> appRings;        ///< Its app rings while mapped.
        std::optional<Bridge> bridge;            ///< Its exception path to the kernel.
        std::optional<LowResource> lowResource;  ///< Its low-resource layer.

        /// The receive counters summed over the queues.
        QueueStatistics receiveTotals() const;
        /// The transmit counters summed over the queues.
        QueueStatistics transmitTotals() const;
    };

    pid_t pid = 0;                         ///< The process.
    std::string process;                   ///< Its name.
    uid_t uid = 0;                         ///< Its user.
    std::string version;                   ///< nexnet's version.
    std::uint64_t startedNanoseconds = 0;  ///< When the telemetry opened, since the epoch.
    std::uint64_t nanoseconds = 0;         ///< When this report was made (CLOCK_REALTIME).
    std::vector<Interface> interfaces;     ///< Its interfaces.

    /// The interface named @p name, or nullptr.
    const Interface* find(std::string_view name) const;
    /// The report as one line of JSON (docs/telemetry.schema.json, "describe" reply), with
    /// "ok": true.
    std::string toJson() const;
    /// Reads a "describe" reply. Unknown members are ignored (newer servers may add some).
    /// Errors: EBADMSG with a message saying what is malformed or missing.
    static Result<TelemetryReport> fromJson(std::string_view json);

    /// The IFF_* flag names in @p flags ("UP", "BROADCAST", "RUNNING", "PROMISC", ...).
    static std::vector<std::string> flagNames(unsigned flags);
};

}  // namespace nexnet
