#pragma once
/// @file IODevice.h
/// @brief IODevice: the root of every nexnet driver (name, running state, event loop, timeouts).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace nexnet {

class EventLoop;

/// The root class of drivers, as DriverKit's IODevice: a name, whether the hardware is running,
/// the event loop the driver's interrupts and timeouts are delivered on, and one relative
/// timeout (NeXT's setRelativeTimeout / clearTimeout / timeoutOccurred).
///
/// Drivers do not subclass IODevice directly: they subclass IOEthernet (or IONetwork for a
/// non-Ethernet link).
///
/// The event loop: whoever runs the device (NetworkInterface::attach, or a program of its own)
/// attaches it to a loop with attachToEventLoop(loop) and detaches it with
/// attachToEventLoop(nullptr) before the loop goes away. A timeout belongs to the loop it was set
/// on: the framework cancels a pending one whenever the loop changes (also on detach) and when the
/// device is destroyed, so a driver never leaves a timer behind. A driver that wants to act on
/// attach or detach (start a link watchdog) overrides eventLoopChanged().
///
/// Threading: everything here runs on the thread of the device's event loop (its control thread),
/// but isRunning(), which the queue threads of a network driver read too.
class IODevice {
public:
    /// Cancels the pending timeout, if any. The event loop must still exist.
    virtual ~IODevice();
    IODevice(const IODevice&) = delete;
    IODevice& operator=(const IODevice&) = delete;

    /// The device's name ("tap0", "null0", "0000:00:03.0").
    const std::string& name() const { return name_; }
    /// Sets the device's name; drivers call it while initialising.
    void setName(std::string name) { name_ = std::move(name); }

    /// True while the hardware is enabled (NeXT's -isRunning). Drivers check it before touching
    /// the hardware in finishInitialization and their data path. Any thread (queue threads read
    /// it on every burst; it changes only in control calls).
    bool isRunning() const { return running_.load(std::memory_order_relaxed); }
    /// Records whether the hardware is enabled; drivers call it from resetAndEnable.
    void setRunning(bool running) { running_.store(running, std::memory_order_relaxed); }
    /// True once the hardware is gone for good (IOKit's isInactive): a PCI device hot-unplugged
    /// and released, say. Nothing will bring this driver back; a program may as well stop, and
    /// the samples do. Any thread.
    bool isInactive() const { return inactive_.load(std::memory_order_relaxed); }
    /// Marks the hardware gone for good (isInactive); a driver calls it, once, when it let go of
    /// its device, together with a faultDescription() saying why and the link down.
    void setInactive() { inactive_.store(true, std::memory_order_relaxed); }

    /// The event loop the driver's interrupts and timeouts are delivered on, or nullptr.
    EventLoop* eventLoop() const { return eventLoop_; }
    /// Attaches the device to @p loop, or detaches it with nullptr. A pending timeout is cancelled
    /// first (it belonged to the previous loop); then eventLoopChanged() runs. Called by whoever
    /// runs the device (NetworkInterface::attach and detach), on the loop's thread; never blocks.
    /// @return 0, or the error eventLoopChanged() returned (the device is attached all the same).
    int attachToEventLoop(EventLoop* loop);

    /// Calls timeoutOccurred() once after @p delay on the event loop, replacing any pending
    /// timeout. @return 0, ENXIO without an event loop, or the errno of the loop's timer.
    int setRelativeTimeout(std::chrono::milliseconds delay);
    /// Cancels the pending timeout, if any. Harmless when none is pending.
    void clearTimeout();
    /// True while a timeout is pending.
    bool hasPendingTimeout() const { return timeout_ != 0; }
    /// Called on the event loop's thread when the timeout set with setRelativeTimeout expires (a
    /// watchdog, a link poll); tests may call it to run the watchdog at once. An override may set
    /// the next timeout. Must not block. Base: nothing.
    virtual void timeoutOccurred();

protected:
    IODevice() = default;
    /// Called by attachToEventLoop after the loop changed (eventLoop() is the new one, or nullptr
    /// on detach) and the old timeout was cancelled: the place to start a watchdog with
    /// setRelativeTimeout. Must not block. @return 0 or an errno. Base: returns 0.
    virtual int eventLoopChanged();

private:
    std::string name_;
    EventLoop* eventLoop_ = nullptr;
    std::atomic<bool> running_{false};
    std::atomic<bool> inactive_{false};
    std::uint64_t timeout_ = 0;
};

}  // namespace nexnet
