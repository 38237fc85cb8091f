#pragma once
/// @file OutputObserver.h
/// @brief OutputObserver: a layer that sees every burst a NetworkInterface sends (a capture tap).

namespace nexnet {

class NetworkInterface;
class Netbuf;

/// Something that looks at an interface's output without taking it: the transmit side of a
/// capture tap, a monitor. The receive side's counterpart is InputConsumer.
///
/// NetworkInterface calls every observer with each burst it sends (output, outputBurst, and
/// outputInterceptedBurst, which also carries what an app ring or an output interceptor hands on), once,
/// before the driver or the output queue takes it: the frames are complete and
/// still owned by the caller, so an observer may read them but must not keep, change or free
/// them. Frames sent through NeXT's outputPacket path are not observed (the driver inserts their
/// addresses itself). Called on the interface's thread; must not block.
class OutputObserver {
public:
    virtual ~OutputObserver() = default;
    /// Sees @p count frames about to be sent on @p interface.
    virtual void observeOutput(NetworkInterface& interface, unsigned queue, Netbuf* const* packets, unsigned count) = 0;
};

}  // namespace nexnet
