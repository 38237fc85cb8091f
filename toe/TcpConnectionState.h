#pragma once
/// @file TcpConnectionState.h
/// @brief TcpConnectionState: everything the Linux kernel knows about an established TCP
/// connection that another TCP implementation needs to carry it on (TCP_REPAIR's view).

#include <cstdint>
#include <netinet/in.h>
#include <vector>

namespace nexnet {

/// The state of an established TCP connection, as TCP_REPAIR reads it from a kernel socket
/// (TcpRepair::capture) and writes it into a new one (TcpRepair::restore): the connection control
/// block the TCP-offload seed passes between the stack and the device (claims 16, 20: control of
/// the connection moves, the device then does all TCP processing for it).
///
/// Sequence numbers, as the kernel's queues hold them (net/ipv4/tcp.c, TCP_QUEUE_SEQ):
/// @verbatim
///   send side:     [ acknowledged | unacknowledged (sent) | unsent ]
///                                 ^ sendUnacknowledged    ^           ^ sendNext (write_seq)
///                                 |<------------- sendQueue --------->|
///                                                          |<unsent->|
///   receive side:  [ read by the application | unread  ]
///                                            ^ readSequence ^ receiveNext (rcv_nxt)
///                                            |<receiveQueue>|
/// @endverbatim
struct TcpConnectionState {
    sockaddr_in local{};   ///< This end's address and port.
    sockaddr_in remote{};  ///< The peer's address and port.

    std::uint32_t sendNext = 0;            ///< The sequence number after the last byte queued for sending (write_seq).
    std::uint32_t sendUnacknowledged = 0;  ///< The oldest byte the peer has not acknowledged (snd_una).
    std::uint32_t receiveNext = 0;         ///< The next byte expected from the peer (rcv_nxt).
    std::uint32_t readSequence = 0;        ///< The next byte the application will read (copied_seq).

    /// Bytes sent or queued and not yet acknowledged, from sendUnacknowledged: what the new owner
    /// must (re)transmit.
    std::vector<std::uint8_t> sendQueue;
    /// How many bytes at the end of sendQueue were never sent (SIOCOUTQNSD).
    std::uint32_t unsentBytes = 0;
    /// Bytes received and acknowledged but not yet read by the application, from readSequence:
    /// delivered before anything that arrives later.
    std::vector<std::uint8_t> receiveQueue;

    std::uint16_t mss = 536;              ///< The maximum segment size in use (TCP_MAXSEG).
    bool sackPermitted = false;           ///< Both ends negotiated SACK (RFC 2018).
    bool timestamps = false;              ///< Both ends negotiated timestamps (RFC 7323).
    bool windowScaling = false;           ///< Both ends negotiated window scaling (RFC 7323).
    std::uint8_t sendWindowScale = 0;     ///< The peer's shift: its advertised windows are << this.
    std::uint8_t receiveWindowScale = 0;  ///< Our shift: the windows we advertise are >> this.
    /// Our current timestamp clock (TCP_TIMESTAMP, milliseconds), so timestamps stay continuous
    /// for the peer across the hand-off (RFC 7323 section 5.5: PAWS drops segments whose
    /// timestamp goes backwards).
    std::uint32_t timestampClock = 0;

    /// SO_KEEPALIVE was set: the new owner sends keepalives (RFC 9293 section 3.8.4).
    bool keepalive = false;
    std::uint32_t keepaliveIdle = 7200;    ///< TCP_KEEPIDLE: seconds of silence before the first probe.
    std::uint32_t keepaliveInterval = 75;  ///< TCP_KEEPINTVL: seconds between probes.
    std::uint32_t keepaliveCount = 9;      ///< TCP_KEEPCNT: unanswered probes before the connection is dropped.

    /// The kernel's round-trip estimate (tcp_info: tcpi_rtt, tcpi_rttvar), microseconds; 0: none.
    std::uint32_t smoothedRtt = 0;
    std::uint32_t rttVariance = 0;  ///< The kernel's RTTVAR, microseconds.
    /// The kernel's congestion window and slow-start threshold (tcpi_snd_cwnd, tcpi_snd_ssthresh),
    /// in segments; 0: none (the threshold also when unlimited).
    std::uint32_t congestionWindow = 0;
    std::uint32_t slowStartThreshold = 0;  ///< See congestionWindow.

    bool hasWindow = false;                      ///< The window fields below were read (TCP_REPAIR_WINDOW, Linux 4.8+).
    std::uint32_t sendWindowUpdateSequence = 0;  ///< snd_wl1: the segment that last updated sendWindow.
    std::uint32_t sendWindow = 0;                ///< The peer's window, in bytes (scaled).
    std::uint32_t maxSendWindow = 0;             ///< The largest window the peer offered.
    std::uint32_t receiveWindow = 0;             ///< The window we advertised, in bytes.
    std::uint32_t receiveWindowUpdate = 0;       ///< rcv_wup: receiveNext when receiveWindow was advertised.
};

}  // namespace nexnet
