#pragma once
/// @file DeviceRestart.h
/// @brief DeviceRestart: how a VFIO NIC driver's watchdog stops a device that failed under it and
/// brings it up again on its next tick.

#include "framework/IOEthernet.h"
#include "framework/QueueGate.h"

#include <cstring>
#include <string>

namespace nexnet {

/// What E1000eDriver and VirtioNetDriver do the same way when their watchdog finds the device
/// reset under them or in an error it cannot leave (virtio's DEVICE_NEEDS_RESET): stop() resets it
/// properly and takes back the netbufs of its rings (the driver's resetAndEnable(false)), with the
/// link down and faultDescription() saying why; on the next tick restart() brings it up again
/// (resetAndEnable(true), which clears the fault), or adds why that failed and tries again on the
/// tick after. Both run as control calls: the queue gate is closed meanwhile, so no burst runs on
/// any queue's thread.
///
/// Threading: the driver's event loop thread (the watchdog's). Holds one flag; allocates only the
/// fault's text.
class DeviceRestart {
public:
    /// True between stop() and a restart that worked (or a reset the program asked for).
    bool pending() const { return pending_; }
    /// Forgets a pending restart; the driver's resetAndEnable calls it, since any reset starts the
    /// device afresh. @return true when one was pending (its fault is the driver's to clear).
    bool clear() {
        const bool was = pending_;
        pending_ = false;
        return was;
    }
    /// Stops @p driver's device after the fault @p why ("e1000e 0000:01:00.0: the device was reset
    /// under the driver"): resetAndEnable(false), then the fault "@p why; restarting it".
    void stop(IOEthernet& driver, const std::string& why) {
        QueueGate::Control control(driver.queueGate());
        driver.resetAndEnable(false);
        pending_ = true;
        driver.setFaultDescription(why + "; restarting it");
    }
    /// Brings @p driver's device up again: resetAndEnable(true), which clears the fault; when that
    /// fails the fault says so and the restart stays pending.
    void restart(IOEthernet& driver) {
        const std::string fault = driver.faultDescription();
        QueueGate::Control control(driver.queueGate());
        if (int error = driver.resetAndEnable(true); error != 0) {
            pending_ = true;
            driver.setFaultDescription(fault + " (restart failed: " + std::strerror(error) + ")");
        }
    }

private:
    bool pending_ = false;
};

}  // namespace nexnet
