#pragma once
/// @file TcpSegmentOutput.h
/// @brief TcpSegmentOutput: builds the TCP offload engine's segments and sends them in bursts.

#include "inet/TcpBuilder.h"

#include <cstdint>
#include <netinet/in.h>

namespace nexnet {

class InetStack;
class Netbuf;
class TcpSendQueue;

/// The engine's transmit side: each segment (data from a TcpSendQueue, or header-only: ACKs,
/// window updates, probes, FIN, RST) is built in a netbuf of the interface's pool (payload copied
/// from the application's buffer, then TcpBuilder and Ipv4Builder; the TCP checksum left to the
/// device when the stack sends with ChecksumMode::offload) and collected, and flush() hands the
/// collection to InetStack::sendIpv4 in one burst, so the segments of one receive burst or one
/// transmit round leave in one outputBurst. Used on the interface's thread only.
class TcpSegmentOutput {
public:
    /// Sends through @p stack (its routing, ARP and interface).
    explicit TcpSegmentOutput(InetStack& stack) : stack_(stack) {}
    /// Sends whatever is still collected.
    ~TcpSegmentOutput() { flush(); }
    TcpSegmentOutput(const TcpSegmentOutput&) = delete;
    TcpSegmentOutput& operator=(const TcpSegmentOutput&) = delete;

    /// Builds @p segment from @p source to @p destination (no payload) and collects it; a full
    /// collection is flushed first. @return 0, or ENOBUFS when no netbuf is free (the segment is
    /// not sent: TCP recovers a lost ACK with the next one).
    int send(const TcpBuilder::Segment& segment, in_addr source, in_addr destination);
    /// As send(), with @p length bytes of payload copied from @p payload at segment.sequence.
    /// @return 0, ENOBUFS (no netbuf: the caller tries again later) or TcpBuilder's error.
    int send(const TcpBuilder::Segment& segment, in_addr source, in_addr destination, const TcpSendQueue& payload,
             std::uint32_t length);
    /// Segments collected and not yet flushed.
    unsigned pending() const { return count_; }
    /// Sends the collected segments in one burst.
    void flush();

private:
    static constexpr unsigned kBurst = 32;
    InetStack& stack_;
    Netbuf* pending_[kBurst] = {};
    unsigned count_ = 0;
    std::uint16_t identification_ = 1;
};

}  // namespace nexnet
