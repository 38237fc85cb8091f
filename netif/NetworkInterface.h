#pragma once
/// @file NetworkInterface.h
/// @brief NetworkInterface: a driver seen as an interface (flags, addresses, MTU, statistics, ioctls).

#include "framework/IONetwork.h"
#include "netbuf/NetbufQueue.h"
#include "netbuf/Result.h"
#include "netif/InputConsumer.h"
#include "netif/OutputInterceptor.h"
#include "netif/OutputObserver.h"
#include "netif/netif.h"

#include <cstdint>
#include <memory>
#include <netinet/in.h>
#include <string_view>
#include <vector>

namespace nexnet {

class EventLoop;

/// Counters of one direction of an interface, as `ip -s link` shows them.
struct InterfaceStatistics {
    std::uint64_t packets = 0;  ///< Packets that went through.
    std::uint64_t bytes = 0;    ///< Their bytes, link header included.
    std::uint64_t errors = 0;   ///< Malformed packets, or errors from the driver.
    std::uint64_t drops = 0;    ///< Packets dropped: no consumer took them, or no room to queue.
};

/// A network interface over a driver: what struct ifnet is to a BSD driver.
///
/// It owns the driver, receives its bursts (it is the driver's IOInputSink) and offers them to
/// its input consumers, queues and transmits output, keeps the interface's flags, protocol
/// addresses and statistics, and answers IFCONTROL_* commands and Linux SIOC* ioctls: the
/// hardware ones (flags, hardware address, MTU, multicast) through the driver's performCommand,
/// the protocol ones (SIOCGIFADDR / SIOCSIFADDR, SIOCGIFNETMASK / SIOCSIFNETMASK) itself; with no
/// address assigned the two gets fail with EADDRNOTAVAIL, as on Linux.
///
/// Run it in interrupt mode (attach with Mode::interrupt: the event loop sleeps until a queue's
/// eventfd fires) or poll mode (Mode::poll: the loop spins on receive bursts), or call poll()
/// from your own loop.
class NetworkInterface : public IOInputSink {
public:
    /// How the event loop drives the interface.
    enum class Mode { interrupt, poll };
    /// Packets received or sent per burst.
    static constexpr unsigned kBurst = 32;

    /// Wraps @p driver; the interface owns it from here on. @p outputQueueLimit bounds the
    /// packets waiting for room in the driver's transmit ring.
    explicit NetworkInterface(std::unique_ptr<IONetwork> driver, unsigned outputQueueLimit = 1024);
    ~NetworkInterface() override;
    NetworkInterface(const NetworkInterface&) = delete;
    NetworkInterface& operator=(const NetworkInterface&) = delete;

    /// The driver.
    IONetwork& driver() { return *driver_; }
    /// The interface name (the driver's name).
    const std::string& name() const { return driver_->name(); }

    // ---- configuration ---------------------------------------------------------------------

    /// Performs a control command: the IFCONTROL_* set of netif.h (see IOEthernet::performCommand),
    /// with IFCONTROL_UNIXIOCTL extended by the protocol-address ioctls, or a driver's own.
    /// @return 0 or an errno (EINVAL for unknown commands and bad data).
    int performCommand(std::string_view command, void* data);
    /// Performs the SIOC* @p request with @p ifr, as ioctl(2) on a socket would.
    /// @return 0 or an errno (EOPNOTSUPP for requests nexnet does not implement).
    int ioctl(unsigned long request, ifreq* ifr);

    /// Interface flags (IFF_UP, IFF_RUNNING, IFF_PROMISC, IFF_ALLMULTI, ...).
    unsigned flags();
    /// Sets the flags through IFCONTROL_SETFLAGS: IFF_UP brings the driver up (then calls its
    /// finishInitialization), its absence down; IFF_PROMISC and IFF_ALLMULTI switch the filters.
    int setFlags(unsigned flags);
    /// setFlags(flags() | IFF_UP).
    int setUp() { return setFlags(flags() | IFF_UP); }
    /// The IPv4 address, INADDR_ANY when none (network order).
    in_addr address() const { return address_; }
    /// The IPv4 netmask (network order).
    in_addr netmask() const { return netmask_; }
    /// Sets the IPv4 address and netmask. @return 0, or EINVAL for a non-contiguous netmask.
    int setAddress(in_addr address, in_addr netmask);
    /// The MTU.
    unsigned mtu() const { return driver_->mtu(); }

    // ---- input -----------------------------------------------------------------------------

    /// Adds @p consumer; lower @p priority runs first (app-ring intercepts use 0, protocols 100).
    /// The interface does not own it; remove it before destroying it.
    void addInputConsumer(InputConsumer* consumer, int priority = 100);
    /// Removes @p consumer. @return 0 or ENOENT.
    int removeInputConsumer(InputConsumer* consumer);

    /// Offers @p count received frames to the consumers whose priority is above @p afterPriority,
    /// as if just received on @p queue (not counted again): how an rx-intercept app ring
    /// re-injects what the network layer should process as received. The interface owns the
    /// netbufs from here on; frames nobody takes are freed and counted as drops.
    void injectInput(unsigned queue, Netbuf** packets, unsigned count, int afterPriority);

    /// Receives one burst from every queue and dispatches it, then transmits queued output.
    /// @return the number of packets received.
    unsigned poll();

    /// Runs the interface on @p loop in @p mode. Interrupt mode needs driver eventfds; for a
    /// driver without them it falls back to poll mode and says so in the result.
    /// @return the mode in use, or an errno (EBUSY when already attached).
    Result<Mode> attach(EventLoop& loop, Mode mode);
    /// Stops running on the event loop.
    void detach();

    // ---- output ----------------------------------------------------------------------------

    /// Sends @p packet (a complete frame). Transmits at once when the driver has room, queues it
    /// otherwise. @return 0, or ENOBUFS when the queue is full (packet freed, drop counted),
    /// ENETDOWN when the interface is down (packet freed).
    int output(Netbuf* packet);
    /// Sends a burst of complete frames, in order; what the driver cannot take now is queued,
    /// what the queue cannot hold is freed and counted. @return the number accepted or queued.
    unsigned outputBurst(Netbuf** packets, unsigned count);
    /// As outputBurst, but the output interceptor does not see the frames: what an app ring sends
    /// from its ring 2 (tx intercept, bypass). @return the number accepted or queued.
    unsigned sendBurst(Netbuf** packets, unsigned count);
    /// Makes @p interceptor see (and take what it wants of) every burst given to output and
    /// outputBurst; nullptr removes it. The interface does not own it.
    /// @return 0, or EBUSY when another interceptor is set.
    int setOutputInterceptor(OutputInterceptor* interceptor);
    /// NeXT's path: the driver inserts the addresses and pads (IONetwork::outputPacket).
    int outputPacket(Netbuf* packet, const void* address);
    /// Transmits queued output until the driver refuses or the queue is empty.
    /// @return the number transmitted.
    unsigned flushOutput();
    /// Adds @p observer, called with every burst sent (output, outputBurst, sendBurst) while the
    /// interface is up, before the driver takes it (see OutputObserver). The interface does not
    /// own it; remove it before destroying it.
    void addOutputObserver(OutputObserver* observer);
    /// Removes @p observer. @return 0 or ENOENT.
    int removeOutputObserver(OutputObserver* observer);
    /// Packets waiting in the output queue.
    unsigned outputQueued() const { return static_cast<unsigned>(outputQueue_.count()); }

    // ---- statistics ------------------------------------------------------------------------

    /// Receive counters.
    const InterfaceStatistics& receiveStatistics() const { return rx_; }
    /// Transmit counters.
    const InterfaceStatistics& transmitStatistics() const { return tx_; }

    // IOInputSink
    void inputBurst(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) override;
    void linkChanged(IONetwork& driver, bool up) override;

private:
    /// Frees the packets no consumer took and counts them as receive drops.
    void dropUntaken(Netbuf** packets, unsigned count);
    int performProtocolIoctl(unsigned long request, ifreq* ifr, bool& handled);

    std::unique_ptr<IONetwork> driver_;
    std::vector<std::pair<int, InputConsumer*>> consumers_;
    std::vector<OutputObserver*> outputObservers_;
    OutputInterceptor* interceptor_ = nullptr;
    NetbufQueue outputQueue_;
    unsigned outputQueueLimit_;
    InterfaceStatistics rx_;
    InterfaceStatistics tx_;
    in_addr address_{};
    in_addr netmask_{};
    unsigned softFlags_ = 0;
    EventLoop* loop_ = nullptr;
    std::vector<int> watchedFds_;
    std::uint64_t poller_ = 0;
};

}  // namespace nexnet
