#pragma once
/// @file IcmpResponder.h
/// @brief IcmpResponder: answers ICMP echo requests (ping, RFC 792).

#include "samples/responder/Ipv4Packet.h"

namespace nexnet {

/// Turns an ICMP echo request into the echo reply, in the same netbuf.
///
/// Checks: an 8-byte ICMP header (icmpTruncated) and the ICMP checksum over the whole message
/// (icmpChecksum); messages other than echo requests are ignored.
class IcmpResponder {
public:
    /// Examines @p packet, already validated and for us (Ipv4Packet::validate). On
    /// Verdict::reply(), the frame holds the echo reply, same identifier, sequence and data,
    /// addressed from @p mac back to the sender; the caller sends it. Ownership stays with the caller.
    static Verdict respond(Ipv4Packet& packet, const EthernetAddress& mac);
};

}  // namespace nexnet
