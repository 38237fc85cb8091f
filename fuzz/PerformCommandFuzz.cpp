// Fuzz target: performCommand and ioctl on a NetworkInterface over the null driver, with any
// command (the IFCONTROL_* strings, SIOC* requests, others) and any data (an ifreq of any bytes, a
// 6-byte address, no data at all), between bursts of traffic in and out. Every call must return 0
// or an errno; the interface must stay consistent (an MTU in range, the flags the driver's state,
// every netbuf accounted for); nothing may crash.
#include "FuzzFinding.h"
#include "FuzzInput.h"

#include "drivers/null/NullDriver.h"
#include "netif/NetworkInterface.h"
#include "netif/netif.h"

#include <net/if.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <cstring>
#include <string>

using namespace nexnet;
using nexnet::fuzz::expect;
using nexnet::fuzz::FuzzInput;

namespace {

constexpr unsigned kOperations = 64;

const char* const kCommands[] = {IFCONTROL_SETFLAGS,      IFCONTROL_SETADDR,      IFCONTROL_GETADDR,
                                 IFCONTROL_AUTOADDR,      IFCONTROL_UNIXIOCTL,    IFCONTROL_RCVPROMISCUOUS,
                                 IFCONTROL_RCVPROMISCOFF, IFCONTROL_ADDMULTICAST, IFCONTROL_RMVMULTICAST};
const unsigned long kRequests[] = {SIOCGIFFLAGS,   SIOCSIFFLAGS,   SIOCGIFHWADDR, SIOCSIFHWADDR, SIOCGIFMTU,
                                   SIOCSIFMTU,     SIOCADDMULTI,   SIOCDELMULTI,  SIOCGIFADDR,   SIOCSIFADDR,
                                   SIOCGIFNETMASK, SIOCSIFNETMASK, SIOCGIFINDEX,  SIOCGIFNAME,   SIOCETHTOOL};

// Memory a command may be given: at least an ifreq, filled from the input.
union Argument {
    ifreq ifr;
    std::uint8_t bytes[64];
};

void expectErrno(int result) { expect(result >= 0 && result < 4096, "a result that is neither 0 nor an errno"); }

std::string command(FuzzInput& input) {
    unsigned choice = input.choose(std::size(kCommands) + 1);
    if (choice < std::size(kCommands)) return kCommands[choice];
    std::string text(input.choose(24), '\0');  // any other string, driver-defined or not
    for (char& c : text) c = static_cast<char>(input.take<std::uint8_t>());
    return text;
}

unsigned long request(FuzzInput& input) {
    unsigned choice = input.choose(std::size(kRequests) + 1);
    return choice < std::size(kRequests) ? kRequests[choice] : input.take<std::uint32_t>();
}

void fill(Argument& argument, FuzzInput& input) {
    for (std::uint8_t& byte : argument.bytes) byte = input.take<std::uint8_t>();
}

void operate(NetworkInterface& interface, FuzzInput& input) {
    Argument argument{};
    fill(argument, input);
    switch (input.choose(5)) {
    case 0: {  // a command with data, or none
        std::string name = command(input);
        if (name == IFCONTROL_UNIXIOCTL) {
            if_ioctl_t call{request(input), input.choose(4) == 0 ? nullptr : &argument.ifr};
            expectErrno(interface.performCommand(name, input.choose(8) == 0 ? nullptr : &call));
        } else {
            expectErrno(interface.performCommand(name, input.choose(4) == 0 ? nullptr : argument.bytes));
        }
        break;
    }
    case 1:
        expectErrno(interface.ioctl(request(input), input.choose(8) == 0 ? nullptr : &argument.ifr));
        break;
    case 2:  // traffic in: a burst from the null driver, nobody takes it
        interface.poll();
        break;
    case 3: {  // traffic out: frames of any size the pool holds
        Netbuf* burst[8];
        unsigned n = 0;
        for (unsigned count = 1 + input.choose(8); n < count; ++n) {
            burst[n] = interface.driver().allocateNetbuf();
            if (burst[n] == nullptr) break;
            std::uint32_t size = input.below(2049);
            if (burst[n]->setSize(size) != 0) burst[n]->setSize(0);
            if (burst[n]->size() >= sizeof argument.bytes)
                std::memcpy(burst[n]->data(), argument.bytes, sizeof argument.bytes);
        }
        interface.outputBurst(burst, n);
        break;
    }
    default:
        interface.flushOutput();
        break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput input(data, size);
    NullDriver::Options options;
    options.frameSize = 60 + input.below(1000);
    options.fill = true;
    options.limit = 1000;
    auto driver = NullDriver::create(options, 64);
    expect(driver.ok(), "a null driver");
    NullDriver* null = driver.value().get();
    NetworkInterface interface(std::move(driver.value()), 16);
    for (unsigned i = 0; i < kOperations && input.more(); ++i) {
        operate(interface, input);
        expect(interface.mtu() >= 68 && interface.mtu() <= null->maxMtu(), "an MTU out of range");
        expect(((interface.flags() & IFF_UP) != 0) == null->isRunning(), "IFF_UP is not the driver's state");
        expect(null->pool()->inUse() == interface.outputQueued(), "netbufs neither free nor queued");
    }
    return 0;
}
