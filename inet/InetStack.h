#pragma once
/// @file InetStack.h
/// @brief InetStack: ARP, IPv4, ICMP and UDP on one NetworkInterface (the protocol layer).

#include "framework/EthernetAddress.h"
#include "inet/ArpCache.h"
#include "inet/InetStatistics.h"
#include "inet/Ipv4Reassembly.h"
#include "inet/TransportChecksum.h"
#include "netbuf/Result.h"
#include "netif/InputConsumer.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <vector>

namespace nexnet {

class EventLoop;
class HostStackBridge;
class IOEthernet;
class Ipv4Protocol;
class Ipv4View;
class NetworkInterface;
class UdpEndpoint;

/// The protocol layer of one Ethernet NetworkInterface: a small IPv4 host in the process.
///
/// It sits on the interface as an input consumer (InputConsumer, priority 50: before a
/// HostStackBridge at 100) and uses the interface's outputBurst to send. Received frames are
/// parsed with the views of inet/ (each refusal counted under its HeaderError), then:
/// - ARP (RFC 826): neighbours learned into the ArpCache, requests for our address answered in
///   the same netbuf; requests from a broadcast/multicast/zero sender or from our own address are
///   not answered (InetDrop::arpSender, arpConflict). A gratuitous ARP goes out when the
///   interface's address is set (seen on the next burst or tick).
/// - IPv4: version, lengths, options (Ipv4View), header checksum unless the device verified it,
///   TTL, source address (never broadcast, multicast, loopback or ours); fragments reassembled
///   (Ipv4Reassembly) or dropped; every drop counted by InetDrop.
/// - ICMP: echo requests to our address answered in place (never from or to a broadcast,
///   multicast, zero, loopback or own address); echo replies reported to the echo handler;
///   port unreachable passed to the endpoint that sent the datagram (ECONNREFUSED).
/// - UDP: checksum checked unless verified or partial (TransportChecksum), then the netbuf itself
///   handed to the UdpEndpoint bound to the port; for a closed port, ICMP port unreachable
///   (unicast only), built in front of the quoted datagram in the same netbuf.
/// Frames with a broadcast, multicast, zero or own Ethernet source are dropped
/// (InetDrop::ethernetSource): the layer never sends a reply to such an address.
///
/// Output (UdpEndpoint::send, sendEchoRequest) is routed to the subnet or the default gateway,
/// resolved through the ArpCache (packets wait in its bounded queues meanwhile), cut into
/// fragments when larger than the MTU, and sent in bursts with NetworkInterface::outputBurst.
///
/// **Beside a HostStackBridge** (Options::bridge; or Options::kernelInterface), the Linux
/// kernel owns the address: the stack takes only UDP datagrams for its endpoints' ports and
/// leaves every other frame, ARP included, in its slot for the bridge. It learns neighbours from
/// the ARP frames it sees and from the kernel's neighbour table (netlink RTM_GETNEIGH on the
/// bridge's host interface, or on the kernel interface), and
/// never answers ARP, ICMP or closed ports in competition with the kernel.
///
/// Threads: everything runs on the interface's thread (consumeInput, tick, output); a
/// UdpEndpoint's receive side may be used from one other thread. No allocation, lock or syscall
/// per packet; the clock is read once per burst. The interface must therefore run on one thread:
/// create() fails with EBUSY (and a message) on an interface whose queues run on several
/// (QueueWorkers, NetworkInterface::attach with several loops), and while the stack exists
/// attach refuses several (NetworkInterface::claimSingleThread). With several cores, give each
/// thread an interface of its own (as DPDK gives a non-thread-safe stack one port or queue per
/// lcore).
class InetStack : public InputConsumer {
public:
    /// How the layer behaves.
    struct Options {
        in_addr gateway{};                  ///< Default gateway, INADDR_ANY for none.
        HostStackBridge* bridge = nullptr;  ///< The bridge beside which the stack runs, if any.
        /// Without a bridge, the Linux interface that owns the address beside the stack (an
        /// `xdp:` driver with a filter: the kernel keeps ARP and ICMP, the stack gets only the
        /// filtered frames): the stack behaves as beside a bridge and reads this interface's
        /// neighbour table. Empty: the stack owns its address.
        std::string kernelInterface;
        ArpCache::Options arp;                                   ///< Neighbour table sizes and times.
        Ipv4Reassembly::Options reassembly;                      ///< Fragment reassembly bounds (or off).
        ChecksumMode transmitChecksum = ChecksumMode::software;  ///< offload: the driver/device finishes UDP checksums.
        std::uint8_t ttl = 64;                                   ///< TTL of what the stack sends.
        int priority = 50;                                       ///< Input consumer priority (before the bridge's 100).
        /// Monotonic clock in nanoseconds; empty: CLOCK_MONOTONIC. Tests drive ageing with their own.
        std::function<std::uint64_t()> clock;
    };
    /// Called with each ICMP echo reply received: the sender, identifier and sequence.
    using EchoReplyHandler = std::function<void(in_addr source, std::uint16_t identifier, std::uint16_t sequence)>;
    /// Input consumer priority of the stack by default.
    static constexpr int kPriority = 50;
    /// Largest UDP port number.
    static constexpr unsigned kPorts = 65536;

    /// Puts the layer on @p interface (an Ethernet driver's), as its input consumer.
    /// Errors: EPROTONOSUPPORT for a driver that is not an IOEthernet; EBUSY when the interface's
    /// queues run on several threads; the reassembly pool's.
    static Result<std::unique_ptr<InetStack>> create(NetworkInterface& interface, const Options& options);
    /// Removes the layer from the interface. Endpoints must be closed first.
    ~InetStack() override;
    InetStack(const InetStack&) = delete;
    InetStack& operator=(const InetStack&) = delete;

    // ---- configuration -----------------------------------------------------------------------

    /// Sets the interface's address and netmask (NetworkInterface::setAddress) and announces it
    /// with a gratuitous ARP (not beside a bridge: the kernel does). @return 0 or EINVAL.
    int setAddress(in_addr address, in_addr netmask);
    /// Sets the default gateway (INADDR_ANY: none). @return 0, or EINVAL off the subnet.
    int setGateway(in_addr gateway);
    /// Our IPv4 address (the interface's).
    in_addr address() const;
    /// Our Ethernet address (the driver's current one).
    const EthernetAddress& ethernetAddress() const;
    /// Sets the function called with each echo reply (empty: none).
    void setEchoReplyHandler(EchoReplyHandler handler) { echoHandler_ = std::move(handler); }
    /// Hands IPv4 protocol @p protocol (Ipv4View::kTcp, ...) to @p handler (nullptr removes it):
    /// checked packets for our address go to Ipv4Protocol::input instead of being dropped as
    /// ip-protocol, and beside a bridge the ones it claims are taken before the kernel sees them.
    /// The stack does not own the handler. @return 0, or EINVAL for ICMP and UDP (the stack's).
    int setProtocol(std::uint8_t protocol, Ipv4Protocol* handler);

    // ---- running -----------------------------------------------------------------------------

    /// Runs the timers (ARP retries and ageing, reassembly timeouts, address announcements) on
    /// @p loop every 100 ms. Without it they run when bursts arrive and when tick() is called.
    /// @return 0 or the timer's errno.
    int attach(EventLoop& loop);
    /// Stops the timer set by attach.
    void detach();
    /// Runs the timers now (on the interface's thread).
    void tick();
    /// The clock: nanoseconds, monotonic (Options::clock).
    std::uint64_t now() const;

    // ---- output ------------------------------------------------------------------------------

    /// Sends IPv4 packets whose header is built (data() at the IPv4 header): routes each,
    /// resolves its next hop, cuts it into fragments when larger than the MTU, adds the Ethernet
    /// header and hands the ready frames to the interface in one burst. Takes every packet:
    /// sent, waiting for ARP, or dropped and counted. @return the packets sent or waiting.
    unsigned sendIpv4(Netbuf** packets, unsigned count);
    /// sendIpv4 for one packet. @return 0 (sent or waiting for ARP), ENETUNREACH (no route) or
    /// ENOBUFS (no netbuf for a fragment or the Ethernet header, ARP queue full); dropped ones
    /// are counted.
    int sendIpv4(Netbuf* packet);
    /// Builds and sends an ICMP echo request to @p destination with @p payloadBytes of pattern.
    /// @return 0, ENOBUFS (no netbuf), EMSGSIZE, or ENETUNREACH (no route).
    int sendEchoRequest(in_addr destination, std::uint16_t identifier, std::uint16_t sequence,
                        unsigned payloadBytes = 56);
    /// A netbuf for @p payloadBytes of payload with room for every header in front: from the
    /// driver's pool when it fits there, else from the large pool (datagrams up to 65507 bytes).
    /// nullptr when none is free.
    Netbuf* allocate(std::uint32_t payloadBytes);
    /// The ChecksumMode of UDP checksums sent.
    ChecksumMode transmitChecksum() const { return options_.transmitChecksum; }
    /// The TTL of what the stack sends.
    std::uint8_t ttl() const { return options_.ttl; }

    // ---- reading -----------------------------------------------------------------------------

    /// The counters.
    const InetStatistics& statistics() const { return statistics_; }
    /// The neighbour table (read it on the interface's thread; entries() for a copy).
    ArpCache& neighbours() { return arp_; }
    /// Reads the kernel's neighbour table for the bridge's host interface (or
    /// Options::kernelInterface) into ours (netlink RTM_GETNEIGH). @return the entries learned,
    /// or an errno (ENXIO without either).
    Result<unsigned> loadKernelNeighbours();
    /// The interface.
    NetworkInterface& interface() { return interface_; }
    /// True for our own address (the interface's, when set).
    bool isOurAddress(in_addr address) const;
    /// True for 255.255.255.255 and the subnet's broadcast address.
    bool isBroadcast(in_addr address) const;
    /// True when @p address may be answered: not 0/8, loopback, multicast, class E, a broadcast
    /// or our own address (RFC 1122 sections 3.2.1.3 and 3.2.2). What the stack checks before any
    /// reply, and what a service checks before answering a datagram.
    bool isUnicastPeer(in_addr address) const;
    /// True when running beside the kernel's own stack: a HostStackBridge, or
    /// Options::kernelInterface.
    bool besideBridge() const { return options_.bridge != nullptr || !options_.kernelInterface.empty(); }

    /// InputConsumer: takes the frames that are the layer's (see the class comment).
    void consumeInput(NetworkInterface& interface, unsigned queue, Netbuf** packets, unsigned count) override;

private:
    friend class UdpEndpoint;
    // loadKernelNeighbours with the entries learned at @p time (the caller's burst time).
    Result<unsigned> loadKernelNeighbours(std::uint64_t time);
    // What one burst (or one output call) collects: frames to send in one outputBurst, and the
    // endpoints that received, to signal once each.
    struct Burst {
        static constexpr unsigned kMax = 64;
        Netbuf* out[kMax];
        unsigned count = 0;
        UdpEndpoint* touched[kMax];
        unsigned touchedCount = 0;
        Ipv4Protocol* handlers[4];  // protocol handlers given packets, told when the burst ends
        unsigned handlerCount = 0;
        std::uint64_t now = 0;
    };
    InetStack(NetworkInterface& interface, IOEthernet& ethernet, const Options& options);

    // input (InetStack.cpp)
    bool input(Netbuf* frame, Burst& burst);
    bool arpInput(Netbuf* frame, std::span<std::uint8_t> bytes, Burst& burst);
    void ipInput(Netbuf* frame, unsigned linkHeader, Burst& burst);
    void deliver(Netbuf* packet, const Ipv4View& ip, bool broadcast, Burst& burst);
    void icmpInput(Netbuf* packet, const Ipv4View& ip, bool broadcast, Burst& burst);
    void udpInput(Netbuf* packet, const Ipv4View& ip, bool broadcast, Burst& burst);
    void sendPortUnreachable(Netbuf* packet, const Ipv4View& ip, Burst& burst);
    void icmpErrorInput(std::span<std::uint8_t> quote);
    bool claims(Netbuf* frame) const;
    void drop(Netbuf* packet, InetDrop why);
    void drop(Netbuf* packet, HeaderError why);
    void finishBurst(Burst& burst);
    void runTimers(std::uint64_t now);

    // output (InetStackOutput.cpp)
    int route(in_addr destination, in_addr& nextHop, bool& broadcast) const;
    int output(Netbuf* packet, Burst& burst);
    int resolveAndQueue(Netbuf* packet, in_addr nextHop, bool broadcast, Burst& burst);
    void queue(Netbuf* frame, Burst& burst);
    unsigned fragment(Netbuf* datagram, Netbuf** out, unsigned max);
    void sendArpRequest(in_addr target, Burst* burst);
    void announceAddress();
    void flush(Burst& burst);
    void turnAround(Netbuf* frame, const EthernetAddress& to);

    // endpoints
    int bind(UdpEndpoint* endpoint, std::uint16_t port);
    void unbind(std::uint16_t port);
    std::uint16_t ephemeralPort();

    NetworkInterface& interface_;
    IOEthernet& ethernet_;
    Options options_;
    ArpCache arp_;
    std::unique_ptr<Ipv4Reassembly> reassembly_;
    std::vector<UdpEndpoint*> ports_;    // by port: kPorts slots
    Ipv4Protocol* protocols_[256] = {};  // other protocols' handlers, by protocol number
    InetStatistics statistics_;
    EchoReplyHandler echoHandler_;
    in_addr announced_{};  // the address last announced with gratuitous ARP
    std::uint64_t lastTick_ = 0;
    std::uint16_t nextIdentification_ = 1;
    std::uint16_t nextEphemeral_ = 49152;  // RFC 6335 dynamic ports
    std::uint64_t lastKernelRead_ = 0;     // beside a bridge: when the kernel's table was last read
    EventLoop* loop_ = nullptr;
    std::uint64_t timer_ = 0;
};

}  // namespace nexnet
