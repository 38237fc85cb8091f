#pragma once
/// @file OutputInterceptor.h
/// @brief OutputInterceptor: a layer that may take what a NetworkInterface is about to send
/// (tx intercept of the app-rings seed, claim 17).

namespace nexnet {

class NetworkInterface;
class Netbuf;

/// Something that takes output before the driver sends it: an app ring in tx-intercept or bypass
/// mode. The receive side's counterpart is an InputConsumer at priority 0.
///
/// NetworkInterface::output and outputBurst call the interface's interceptor (at most one) with
/// every burst while the interface is up, before observers and the driver see it. The
/// interceptor takes a frame by setting its slot to nullptr: it then owns the netbuf and must
/// free or pass it on. Frames it leaves are sent as usual. What the interceptor itself wants sent
/// goes through NetworkInterface::outputInterceptedBurst, which is not intercepted. Called on the interface's
/// thread; must not block.
class OutputInterceptor {
public:
    virtual ~OutputInterceptor() = default;
    /// Sees @p count frames about to be sent on @p interface; may take any of them.
    virtual void interceptOutput(NetworkInterface& interface, Netbuf** packets, unsigned count) = 0;
};

}  // namespace nexnet
