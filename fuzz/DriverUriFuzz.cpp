// Fuzz target: driver URIs as a user types them (`-d`, `--driver`, nexnet-fwd's operands): parsing,
// every option read as a number, a flag and a pool size, writing the URI back, and opening it with
// the built-in drivers that touch nothing outside the process (null:, and pcap: on a seed capture).
// Every refusal must be an errno with a message; nothing may crash, hang or take unbounded memory.
#include "FuzzFinding.h"

#include "drivers/BuiltinDrivers.h"
#include "framework/DriverUri.h"

#include <net/if.h>

#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <string_view>

using namespace nexnet;
using nexnet::fuzz::expect;

namespace {

// A capture of one frame that pcap: URIs are pointed at, whatever file they name: the fuzzer must
// not read or write the machine's files (tx= is dropped for the same reason).
std::string seedCapture() {
    static const std::string path = [] {
        static const std::uint8_t file[] = {0x4d, 0x3c, 0xb2, 0xa1, 2,    0,    4, 0, 0,  0, 0, 0, 0,    0,
                                            0,    0,    0xff, 0xff, 0,    0,    1, 0, 0,  0,  // nanosecond pcap
                                            0,    0,    0,    0,    0,    0,    0, 0, 14, 0, 0, 0, 14,   0,
                                            0,    0,  // one record
                                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0,  0, 0, 1, 0x88, 0xb5};
        int fd = memfd_create("nexnet-fuzz-seed", 0);
        expect(fd >= 0 && write(fd, file, sizeof file) == static_cast<ssize_t>(sizeof file), "seed capture");
        return "/proc/self/fd/" + std::to_string(fd);
    }();
    return path;
}

void expectExplained(int error, const std::string& message, const char* what) {
    expect(error > 0, what);
    expect(!message.empty(), what);
}

// Opens the URI when it can only make a small pool and touch nothing outside the process.
void openSafely(DriverUri uri) {
    if (uri.scheme != "null" && uri.scheme != "pcap") return;
    auto pool = uri.number("pool", 0);
    if (pool && pool.value() > 1024) return;  // memory, not logic: the size check is tested apart
    uri.options.emplace("pool", "64");        // not the default 8192: a small pool per run
    if (uri.scheme == "pcap") {
        uri.options.erase("tx");
        uri.target = seedCapture();
    }
    auto driver = builtinDrivers().open(uri.toString());
    if (!driver) {
        expectExplained(driver.error(), driver.message(), "a refused URI without an errno and a message");
        return;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    expect(driver.value()->performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru) == 0,
           "a driver that opened does not come up");
    Netbuf* burst[32];
    unsigned n = driver.value()->receive(0, burst, 32);
    NetbufPool::freeToOwners(burst, n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto uri = DriverUri::parse(text);
    if (!uri) {
        expectExplained(uri.error(), uri.message(), "a malformed URI without an errno and a message");
        return 0;
    }
    for (const auto& [key, value] : uri->options) {
        auto number = uri->number(key, 0, 1u << 20, 1);
        if (!number) expectExplained(number.error(), number.message(), "a bad number without a message");
        else expect(number.value() >= 1 && number.value() <= (1u << 20), "a number out of its range");
        auto flag = uri->flag(key, false);
        if (!flag) expectExplained(flag.error(), flag.message(), "a bad flag without a message");
    }
    auto pool = uri->poolSize(64, 32);
    if (!pool) expectExplained(pool.error(), pool.message(), "a bad pool size without a message");
    else expect(pool.value() >= 32, "a pool below its minimum");
    // Written back and read again, a URI means the same.
    auto again = DriverUri::parse(uri->toString());
    expect(again.ok(), "a URI written back does not parse");
    expect(again->scheme == uri->scheme && again->options == uri->options, "a URI written back means something else");
    openSafely(uri.value());
    return 0;
}
