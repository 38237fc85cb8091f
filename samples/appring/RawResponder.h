#pragma once
/// @file RawResponder.h
/// @brief RawResponder: answers ARP and ICMP echo requests in place, on raw frame bytes.

#include <cstdint>
#include <netinet/in.h>

namespace nexnet {

/// The smallest host an app-ring application needs in bypass mode: ARP replies for one IPv4
/// address and ICMP echo replies, written into the received buffer itself (no copy, no
/// allocation). Works on bytes in shared memory, so it checks every length before reading.
class RawResponder {
public:
    /// A responder for @p ip (network order) with Ethernet address @p mac.
    RawResponder(in_addr ip, const std::uint8_t mac[6]);
    /// Rewrites the @p length -byte frame at @p frame into its reply.
    /// @return true when @p frame now holds a reply to send, false when it needs none.
    bool answer(std::uint8_t* frame, std::uint32_t length);
    /// True when the frame is an IPv4 ICMP echo request (type 8).
    static bool isEchoRequest(const std::uint8_t* frame, std::uint32_t length);
    /// True when the frame is an IPv4 ICMP echo reply (type 0).
    static bool isEchoReply(const std::uint8_t* frame, std::uint32_t length);

private:
    bool answerArp(std::uint8_t* frame, std::uint32_t length);
    bool answerEcho(std::uint8_t* frame, std::uint32_t length);

    in_addr ip_;
    std::uint8_t mac_[6];
};

}  // namespace nexnet
