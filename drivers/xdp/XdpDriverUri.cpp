// The "xdp:" URI: its options (XdpDriver.h) and its registration.
#include "drivers/xdp/XdpDriver.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <netinet/in.h>
#include <string>

namespace nexnet {

namespace {

constexpr const char* kOptionNames[] = {"queue", "queues", "mode", "zerocopy", "busypoll", "filter", "ring", "pool"};

// "udp:53+tcp:8080" into rules. @return false when malformed.
bool parseFilter(const std::string& text, std::vector<XdpFilterRule>& rules) {
    std::size_t at = 0;
    while (at <= text.size()) {
        std::size_t end = text.find('+', at);
        std::string rule = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
        auto colon = rule.find(':');
        if (colon == std::string::npos) return false;
        std::string protocol = rule.substr(0, colon), port = rule.substr(colon + 1);
        if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
        unsigned long number = std::stoul(port);
        if (number == 0 || number > 65535) return false;
        if (protocol != "udp" && protocol != "tcp") return false;
        rules.push_back({static_cast<std::uint8_t>(protocol == "udp" ? IPPROTO_UDP : IPPROTO_TCP),
                         static_cast<std::uint16_t>(number)});
        if (end == std::string::npos) break;
        at = end + 1;
    }
    return !rules.empty();
}

}  // namespace

Status XdpDriver::parseUri(const DriverUri& uri, Options& options) {
    std::string message;
    for (const auto& [key, value] : uri.options) {
        if (std::find(std::begin(kOptionNames), std::end(kOptionNames), key) == std::end(kOptionNames)) {
            return Status(EINVAL, "xdp: has no option '" + key + "'");
        }
    }
    options.interface = uri.target;
    auto queue = uri.number("queue", 0, 65535);
    auto queues = uri.number("queues", 1, kMaxQueues);
    auto busyPoll = uri.number("busypoll", 0, 1000000);
    auto ring = uri.number("ring", 2048, 16384);
    auto pool = uri.number("pool", kDefaultPoolSize, 1u << 24);
    if (!queue || !queues || *queues == 0)
        message = "queue must be 0 to 65535, queues 1 to " + std::to_string(kMaxQueues);
    else if (!busyPoll) message = "busypoll must be 0 to 1000000 microseconds";
    else if (!ring || *ring < 64 || !std::has_single_bit(*ring))
        message = "ring must be a power of two from 64 to 16384";
    else if (!pool || *pool < 1024) message = "pool must be 1024 to 16777216 netbufs";
    if (!message.empty()) return Status(EINVAL, message);
    options.firstQueue = static_cast<unsigned>(*queue);
    options.queues = static_cast<unsigned>(*queues);
    options.busyPollMicroseconds = static_cast<unsigned>(*busyPoll);
    options.ringSize = static_cast<unsigned>(*ring);
    options.poolSize = static_cast<std::uint32_t>(*pool);

    std::string mode = uri.option("mode").value_or("");
    if (mode == "native") options.mode = ModeChoice::native;
    else if (mode == "generic") options.mode = ModeChoice::generic;
    else if (!mode.empty()) message = "mode must be native or generic (absent: native when the interface has it)";
    std::string copy = uri.option("zerocopy").value_or("auto");
    if (copy == "on") options.copyMode = XdpSocket::CopyMode::zeroCopy;
    else if (copy == "off") options.copyMode = XdpSocket::CopyMode::copy;
    else if (copy != "auto") message = "zerocopy must be auto, on or off";
    if (auto filter = uri.option("filter"); filter && !parseFilter(*filter, options.filter))
        message = "filter must be PROTOCOL:PORT[+PROTOCOL:PORT...] with udp or tcp and ports 1 to 65535";
    else if (options.filter.size() > XdpProgram::kMaxFilterRules)
        message = "filter takes at most " + std::to_string(XdpProgram::kMaxFilterRules) + " rules";
    return message.empty() ? Status() : Status(EINVAL, message);
}

int XdpDriver::registerWith(DriverRegistry& registry) {
    return registry.registerDriver(
        "xdp",
        "xdp:IFNAME[,queue=N][,queues=N][,mode=native|generic][,zerocopy=auto|on|off][,busypoll=USECS]"
        "[,filter=udp:PORT[+tcp:PORT...]][,ring=N][,pool=N]",
        "queues (or UDP/TCP ports) of a Linux interface through AF_XDP; the kernel keeps the rest",
        std::vector<std::string>(std::begin(kOptionNames), std::end(kOptionNames)), [](const DriverUri& uri) {
            using R = Result<std::unique_ptr<IONetwork>>;
            Options options;
            if (Status parsed = parseUri(uri, options); !parsed) return R::failure(parsed.error(), parsed.message());
            auto driver = create(options);
            if (!driver) return R::failure(driver);
            return R(std::unique_ptr<IONetwork>(std::move(driver.value())));
        });
}

}  // namespace nexnet
