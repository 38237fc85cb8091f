#pragma once
/// @file IONetworkClient.h
/// @brief IONetworkClient: what a driver talks to above it (received packets, link changes,
/// transmit room); implemented by netif/.

namespace nexnet {

class IONetwork;
class Netbuf;

/// Receives what a driver hands up. The framework knows only this interface; netif's
/// NetworkInterface implements it, as do tests and simple programs that consume packets
/// straight from a driver.
class IONetworkClient {
public:
    virtual ~IONetworkClient() = default;

    /// A burst of received packets from @p queue of @p driver, already counted. The client owns
    /// the netbufs from here on and must free each one (or pass it on). Called on the queue's
    /// thread; must not block.
    virtual void inputBurst(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) = 0;
    /// The link went up or down. Called on the thread that noticed (control or queue thread).
    /// Default: nothing.
    virtual void linkChanged(IONetwork& driver, bool up) {
        (void)driver;
        (void)up;
    }
    /// Transmit queue @p queue of @p driver has room again: output the client queued while the
    /// ring was full can be retried. Called on the queue's thread, never from inside a send.
    /// Default: nothing.
    virtual void outputRoomAvailable(IONetwork& driver, unsigned queue) {
        (void)driver;
        (void)queue;
    }
};

}  // namespace nexnet
