#include "drivers/BuiltinDrivers.h"

#include "drivers/null/NullDriver.h"
#include "drivers/pcap/PcapDriver.h"
#include "drivers/pcap/PcapLiveDriver.h"
#include "drivers/tap/TapDriver.h"
#include "drivers/vfio/VfioDriver.h"
#include "framework/DriverPlugin.h"

#include <cstdlib>

namespace nexnet {

DriverRegistry& builtinDrivers() {
    static DriverRegistry* registry = [] {
        auto* r = new DriverRegistry();  // never destroyed: drivers may outlive static destructors
        NullDriver::registerWith(*r);
        PcapDriver::registerWith(*r);
        PcapLiveDriver::registerWith(*r);
        TapDriver::registerWith(*r);
        VfioDriver::registerWith(*r);
        return r;
    }();
    return *registry;
}

Result<std::vector<std::string>> loadDriverPlugins(const std::vector<std::string>& paths) {
    std::vector<std::string> added;
    std::string all;
    if (const char* fromEnvironment = std::getenv(kDriverPathVariable)) all = fromEnvironment;
    for (const std::string& path : paths) all += (all.empty() ? "" : ":") + path;
    return builtinDrivers().loadPlugins(all);
}

}  // namespace nexnet
