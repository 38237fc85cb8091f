#pragma once
/// @file NetworkInterface.h
/// @brief NetworkInterface: a driver seen as an interface (flags, addresses, MTU, statistics, ioctls).

#include "framework/IONetbufQueue.h"
#include "framework/IONetwork.h"
#include "netbuf/Result.h"
#include "netif/InputConsumer.h"
#include "netif/OutputInterceptor.h"
#include "netif/OutputObserver.h"
#include "netif/netif.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <netinet/in.h>
#include <string_view>
#include <vector>

namespace nexnet {

class EventLoop;

/// Counters of one direction of an interface, as `ip -s link` shows them: the driver's queue
/// counters summed, with the drops and errors of the interface's own layers (frames nobody took,
/// runts, output the queue could not hold), which report to the same counters.
using InterfaceStatistics = QueueStatistics;

/// A network interface over a driver: what struct ifnet is to a BSD driver.
///
/// It owns the driver, receives its bursts (it is the driver's IONetworkClient) and offers them to
/// its input consumers, queues and transmits output, keeps the interface's flags, protocol
/// addresses and statistics, and answers IFCONTROL_* commands and Linux SIOC* ioctls: the
/// hardware ones (flags, hardware address, MTU, multicast) through the driver's performCommand,
/// the protocol ones (SIOCGIFADDR / SIOCSIFADDR, SIOCGIFNETMASK / SIOCSIFNETMASK) itself; with no
/// address assigned the two gets fail with EADDRNOTAVAIL, as on Linux.
///
/// Run it in interrupt mode (attach with Mode::interrupt: the event loop sleeps until a queue's
/// eventfd fires) or poll mode (Mode::poll: the loop spins on receive bursts), or call poll()
/// from your own loop.
class NetworkInterface : public IONetworkClient {
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

    /// Sends a burst of complete frames, in order: what protocols and applications call. The
    /// output interceptor (a tx-intercept app ring) sees it first and may take frames; observers
    /// see the rest, then the driver; what its ring cannot take now is queued, what the queue
    /// cannot hold is freed and counted as a transmit drop (as is everything while the interface
    /// is down). The interface owns the netbufs from the call on. @return the number the
    /// interceptor took, the driver accepted or the queue holds.
    unsigned outputBurst(Netbuf** packets, unsigned count);
    /// As outputBurst, but the interceptor does not see the frames: what the interceptor itself
    /// hands on (an app ring's ring 2 in tx-intercept or bypass mode), which must not be
    /// intercepted twice. @return the number accepted or queued.
    unsigned outputInterceptedBurst(Netbuf** packets, unsigned count);
    /// NeXT's single-packet path: the driver fills in the link addresses (@p address, or the
    /// frame's destination when nullptr) and pads (IONetwork::outputPacket). Not intercepted,
    /// observed or queued: a full ring drops the packet. @return 0 or the driver's errno.
    int outputPacket(Netbuf* packet, const void* address);
    /// Sends queued output until the driver refuses or the queue is empty. poll() and the
    /// interrupt handlers call it; a program running its own loop may too.
    /// @return the number the driver accepted.
    unsigned flushOutput();
    /// Makes @p interceptor see (and take what it wants of) every burst given to outputBurst;
    /// nullptr removes it. The interface does not own it.
    /// @return 0, or EBUSY when another interceptor is set.
    int setOutputInterceptor(OutputInterceptor* interceptor);
    /// Adds @p observer, called with every burst sent through outputBurst or
    /// outputInterceptedBurst while the interface is up, before the driver takes it (see
    /// OutputObserver). The interface does not own it; remove it before destroying it.
    void addOutputObserver(OutputObserver* observer);
    /// Removes @p observer. @return 0 or ENOENT.
    int removeOutputObserver(OutputObserver* observer);
    /// Packets waiting in the output queue.
    unsigned outputQueued() const { return outputQueue_.count(); }

    // ---- link and statistics ---------------------------------------------------------------

    /// Calls @p handler(up) on the thread that noticed whenever the driver's link goes up or down
    /// (an empty function removes it). Queued output is retried when the link comes up.
    void setLinkHandler(std::function<void(bool up)> handler) { linkHandler_ = std::move(handler); }
    /// Receive counters: the driver's, summed over its queues, with the interface's own drops
    /// (frames no consumer took) and errors (runts). Any thread.
    InterfaceStatistics receiveStatistics() const { return driver_->receiveTotals(); }
    /// Transmit counters: the driver's, summed over its queues, with the interface's own drops
    /// (output while down, output the queue could not hold). Any thread.
    InterfaceStatistics transmitStatistics() const { return driver_->transmitTotals(); }

    // IONetworkClient
    /// Offers a received burst to the input consumers (the driver counted it); frees and counts
    /// what nobody took, and counts runts (shorter than an Ethernet header) as receive errors.
    void inputBurst(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) override;
    /// Calls the link handler; on link up, retries queued output.
    void linkChanged(IONetwork& driver, bool up) override;
    /// Retries queued output.
    void outputRoomAvailable(IONetwork& driver, unsigned queue) override;

private:
    /// Frees the packets no consumer took and counts them as receive drops on @p queue.
    void dropUntaken(unsigned queue, Netbuf** packets, unsigned count);
    int performProtocolIoctl(unsigned long request, ifreq* ifr, bool& handled);
    void afterInterrupt();

    std::unique_ptr<IONetwork> driver_;
    std::vector<std::pair<int, InputConsumer*>> consumers_;
    std::vector<OutputObserver*> outputObservers_;
    OutputInterceptor* interceptor_ = nullptr;
    IONetbufQueue outputQueue_;
    std::function<void(bool)> linkHandler_;
    in_addr address_{};
    in_addr netmask_{};
    unsigned softFlags_ = 0;
    EventLoop* loop_ = nullptr;
    std::vector<int> watchedFds_;
    std::uint64_t poller_ = 0;
    std::uint64_t retryTimer_ = 0;  // interrupt mode: retries queued output while it waits
    bool flushing_ = false;         // flushOutput is running: room reports from the driver wait
};

}  // namespace nexnet
