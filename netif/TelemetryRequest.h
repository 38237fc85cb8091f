#pragma once
/// @file TelemetryRequest.h
/// @brief TelemetryRequest: one request to a telemetry socket (describe, set, capture) and the
/// JSON lines that carry requests and plain replies.

#include "framework/EthernetAddress.h"
#include "netbuf/Result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace nexnet {

/// A change `nexnetctl set` asks of an interface, carried out through performCommand.
struct TelemetrySetting {
    /// What to change.
    enum class Kind {
        up,           ///< IFCONTROL_SETFLAGS with IFF_UP.
        down,         ///< IFCONTROL_SETFLAGS without IFF_UP.
        promiscuous,  ///< IFCONTROL_RCVPROMISCUOUS / RCVPROMISCOFF (on).
        mtu,          ///< IFCONTROL_UNIXIOCTL with SIOCSIFMTU (mtu).
        address,      ///< IFCONTROL_SETADDR (address).
    };
    Kind kind = Kind::up;     ///< What to change.
    bool on = false;          ///< promiscuous: on or off.
    unsigned mtu = 0;         ///< mtu: the new MTU.
    EthernetAddress address;  ///< address: the new hardware address.
};

/// One request line of the telemetry protocol (docs/telemetry.md), as a client builds it
/// (toJson) and the server reads it (parse), and the two plain replies (success, error).
///
/// @verbatim
///  {"command":"describe"}                                   every interface
///  {"command":"describe","interface":"tap0"}
///  {"command":"set","interface":"tap0","state":"up"}        or "down"
///  {"command":"set","interface":"tap0","promiscuous":true}
///  {"command":"set","interface":"tap0","mtu":1400}
///  {"command":"set","interface":"tap0","address":"02:00:00:00:00:09"}
///  {"command":"capture","interface":"tap0","filter":"icmp","count":10,"snaplen":65535}
///  replies: {"ok":true,...}   {"ok":false,"error":"ENODEV","errno":19,"message":"..."}
/// @endverbatim
struct TelemetryRequest {
    /// The request's `command`.
    enum class Command { describe, set, capture };
    /// Longest snap length a capture may ask for (libpcap's MAXIMUM_SNAPLEN).
    static constexpr std::uint32_t kMaxSnaplen = 262144;

    Command command = Command::describe;  ///< What is asked.
    std::string interface;                ///< The interface; "" for every one (describe only).
    TelemetrySetting setting;             ///< set: the change.
    std::string filter;                   ///< capture: a BPF expression ("" for everything).
    std::uint64_t count = 0;              ///< capture: frames to capture, 0 until the client leaves.
    std::uint32_t snaplen = 65535;        ///< capture: bytes kept of each frame.

    /// The request as one line of JSON (no newline).
    std::string toJson() const;
    /// Reads a request line. Errors: EBADMSG (not JSON, not an object), EINVAL (unknown command,
    /// a missing or wrong member: the message names it).
    static Result<TelemetryRequest> parse(std::string_view line);

    /// The reply {"ok":true}.
    static std::string success();
    /// An error reply: the errno's name, its number and @p message.
    static std::string error(int error, const std::string& message);
    /// Reads a reply line: success, or the errno and message of an error reply (EBADMSG for a
    /// line that is neither).
    static Status status(std::string_view reply);
};

}  // namespace nexnet
