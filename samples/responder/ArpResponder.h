#pragma once
/// @file ArpResponder.h
/// @brief ArpResponder: answers ARP requests for one IPv4 address (RFC 826).

#include "framework/EthernetAddress.h"
#include "netbuf/Netbuf.h"
#include "samples/responder/Verdict.h"

#include <netinet/in.h>

namespace nexnet {

/// Turns an ARP request for our IPv4 address into the reply, in the same netbuf.
///
/// Checks, in order: the frame holds a whole Ethernet+ARP packet (else arpTruncated), the ARP
/// packet is Ethernet/IPv4 with 6- and 4-byte addresses (else arpFormat), it is a request for
/// @p ip (else ignored: replies, gratuitous ARP and other hosts' requests are none of our business).
class ArpResponder {
public:
    /// Bytes of an Ethernet/IPv4 ARP packet after the Ethernet header.
    static constexpr unsigned kArpSize = 28;

    /// Examines the Ethernet frame in @p frame (EtherType ARP). On Verdict::reply(), @p frame
    /// holds the complete reply frame (Ethernet header from @p mac to the requester, padding
    /// removed) and the caller sends it. Other verdicts leave the frame to the caller to free.
    /// Ownership of @p frame stays with the caller. Never reads outside the frame.
    static Verdict respond(Netbuf& frame, const EthernetAddress& mac, in_addr ip);
};

}  // namespace nexnet
