#pragma once
/// @file IODevice.h
/// @brief IODevice: the root of every nexnet driver (name, event loop, running state).

#include <string>

namespace nexnet {

class EventLoop;

/// The root class of drivers, as DriverKit's IODevice: a name, the event loop the driver runs
/// in, and whether the hardware is running.
///
/// Drivers do not subclass IODevice directly: they subclass IOEthernet (or IONetwork for a
/// non-Ethernet link).
class IODevice {
public:
    virtual ~IODevice();
    IODevice(const IODevice&) = delete;
    IODevice& operator=(const IODevice&) = delete;

    /// The device's name ("tap0", "null0", "0000:00:03.0").
    const std::string& name() const { return name_; }
    /// Sets the device's name; drivers call it while initialising.
    void setName(std::string name) { name_ = std::move(name); }

    /// True while the hardware is enabled (NeXT's -isRunning). Drivers check it before touching
    /// the hardware in finishInitialization and outputPacket.
    bool isRunning() const { return running_; }
    /// Records whether the hardware is enabled; drivers call it from resetAndEnable.
    void setRunning(bool running) { running_ = running; }

    /// The event loop the driver's interrupts and timeouts are delivered on, or nullptr before
    /// attachToEventLoop.
    EventLoop* eventLoop() const { return eventLoop_; }
    /// Attaches the device to @p loop (interrupt mode and timeouts need one). Called by whoever
    /// runs the device, usually NetworkInterface; a subclass that overrides it calls the base.
    virtual int attachToEventLoop(EventLoop* loop);

protected:
    IODevice() = default;

private:
    std::string name_;
    EventLoop* eventLoop_ = nullptr;
    bool running_ = false;
};

}  // namespace nexnet
