#pragma once
/// @file SampleResponder.h
/// @brief SampleResponder: nexnet-sample's protocol layer, answering ARP, ICMP echo and UDP echo.

#include "framework/EthernetAddress.h"
#include "netbuf/Netbuf.h"
#include "netif/InputConsumer.h"
#include "samples/responder/ResponderStatistics.h"
#include "samples/responder/UdpEchoResponder.h"

#include <cstdint>
#include <netinet/in.h>

namespace nexnet {

/// A tiny host on a NetworkInterface: it answers ARP requests for its IPv4 address, ICMP echo
/// requests and UDP echo datagrams, and counts everything else.
///
/// Each frame is classified by EtherType and handed to ArpResponder, or validated by
/// Ipv4Packet and handed to IcmpResponder or UdpEchoResponder. A reply is made in the received
/// netbuf itself (addresses swapped, one checksum updated), so answering allocates and copies
/// nothing. Malformed frames are freed and counted by DropReason; none can make it read outside
/// the frame.
///
/// Add it to an interface with NetworkInterface::addInputConsumer: it takes every frame.
class SampleResponder : public InputConsumer {
public:
    /// Who the responder is.
    struct Options {
        EthernetAddress mac;                                ///< Our Ethernet address.
        in_addr ip{};                                       ///< Our IPv4 address (network order).
        std::uint16_t udpPort = UdpEchoResponder::kEchoPort; ///< UDP echo port (host order).
    };

    /// A responder with @p options.
    explicit SampleResponder(const Options& options);

    /// Answers a burst: takes ownership of the @p count netbufs in @p packets (none may be
    /// nullptr), frees those that get no answer, and puts the replies (the same netbufs,
    /// rewritten) in @p replies, which has room for @p count. The caller owns and sends them.
    /// @return the number of replies.
    unsigned respond(Netbuf* const* packets, unsigned count, Netbuf** replies);

    /// InputConsumer: takes every frame of the burst, answers with respond(), and sends the
    /// replies with NetworkInterface::outputBurst.
    void consumeInput(NetworkInterface& interface, unsigned queue, Netbuf** packets, unsigned count) override;

    /// The counters.
    const ResponderStatistics& statistics() const { return statistics_; }
    /// Our Ethernet address.
    const EthernetAddress& ethernetAddress() const { return options_.mac; }
    /// Changes our Ethernet address (after IFCONTROL_SETADDR).
    void setEthernetAddress(const EthernetAddress& mac) { options_.mac = mac; }

private:
    Verdict classify(Netbuf& frame);
    void answer(NetworkInterface& interface, Netbuf* const* frames, unsigned count);

    Options options_;
    UdpEchoResponder udp_;
    ResponderStatistics statistics_;
};

}  // namespace nexnet
