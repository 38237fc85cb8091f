#pragma once
/// @file LinkWatch.h
/// @brief LinkWatch: what a sample program prints when a driver's link or health changes, and the
/// exit status it ends with.

#include "framework/IONetwork.h"

#include <optional>
#include <string>

namespace nexnet {

/// Follows one driver's link state and fault (IONetwork::faultDescription) for a program that
/// tells its user about them, so that no failure goes unheard: a tap deleted under the program, a
/// transmit file that cannot be written. The program calls change() from its loop (the samples:
/// once a second) and prints what it returns; at the end it prints finalMessage() and exits with
/// exitStatus().
///
/// What a program does while the fault lasts is its own choice; nexnet-sample and nexnet-fwd keep
/// running (a tap that is recreated is taken again, see TapDriver) and exit with status 1 if the
/// fault is still there when they stop; when the hardware is gone for good (deviceGone: a NIC
/// hot-unplugged) they stop at once, with status 1.
///
/// Reads the driver on the calling thread: the driver's own thread (the samples run one).
class LinkWatch {
public:
    /// Watches @p driver, whose lines start with @p label (the URI, "tap:nx0"). The state at
    /// construction is the starting point: nothing is reported for it.
    LinkWatch(const IONetwork& driver, std::string label);

    /// A line when the link went up or down or the fault changed since the last call ("tap:nx0:
    /// link down: interface nx0 was deleted; waiting for it to come back", "tap:nx0: link up"),
    /// nullopt otherwise. The first "link up" after a fault cleared says "link up again", also
    /// when the link came up only after the fault had cleared (a recreated tap brought up later).
    std::optional<std::string> change();
    /// The line to print when the program stops with a fault, nullopt without one.
    std::optional<std::string> finalMessage() const;
    /// 1 while the driver reports a fault, else 0: the program's exit status.
    int exitStatus() const;
    /// True once the driver's hardware is gone for good (IODevice::isInactive: a NIC hot-unplugged
    /// and released): the samples print change()'s line and stop, since nothing will come back.
    bool deviceGone() const { return driver_.isInactive(); }

private:
    const IONetwork& driver_;
    std::string label_;
    LinkStatus link_;
    std::string fault_;
    bool recovering_ = false;  // a fault cleared and the link has not been up since
};

}  // namespace nexnet
