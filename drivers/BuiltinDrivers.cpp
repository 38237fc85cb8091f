#include "drivers/BuiltinDrivers.h"

#include "drivers/null/NullDriver.h"
#include "drivers/pcap/PcapDriver.h"
#include "drivers/pcap/PcapLiveDriver.h"
#include "drivers/tap/TapDriver.h"
#include "drivers/vfio/VfioDriver.h"

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

}  // namespace nexnet
