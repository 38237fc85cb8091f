#pragma once
/// @file IOInputSink.h
/// @brief IOInputSink: where a driver's received packets go (implemented by netif/).

#include <cstdint>

namespace nexnet {

class IONetwork;
class Netbuf;

/// Receives what a driver hands up. The framework knows only this interface; netif's
/// NetworkInterface implements it, as do tests and simple programs that consume packets
/// straight from a driver.
class IOInputSink {
public:
    virtual ~IOInputSink() = default;

    /// A burst of received packets from @p queue of @p driver. The sink owns the netbufs from
    /// here on and must free each one (or pass it on). Called on the driver's event-loop thread.
    virtual void inputBurst(IONetwork& driver, unsigned queue, Netbuf** netbufs, unsigned count) = 0;
    /// The link went up or down. Default: nothing.
    virtual void linkChanged(IONetwork& driver, bool up) {
        (void)driver;
        (void)up;
    }
};

}  // namespace nexnet
