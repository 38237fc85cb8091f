#include "drivers/null/NullDriver.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace nexnet {

namespace {
constexpr std::uint16_t kLocalExperimentalEtherType = 0x88b5;            // IEEE 802 local experimental
constexpr std::uint32_t kUdpHeaders = IOEthernet::kHeaderSize + 20 + 8;  // Ethernet, IPv4, UDP
}  // namespace

NullDriver::NullDriver(const Options& options) : options_(options), template_(options.frameSize, 0) {
    setName("null");
    EthernetAddress address = EthernetAddress::randomLocal();
    attachToNetworkWithAddress(address);
    std::memset(template_.data(), 0xff, 6);
    std::memcpy(template_.data() + 6, address.bytes.data(), 6);
    template_[12] = kLocalExperimentalEtherType >> 8;
    template_[13] = kLocalExperimentalEtherType & 0xff;
    if (options.udpPort != 0) writeUdpTemplate();
    setLinkStatus(LinkStatus::up);
}

void NullDriver::writeUdpTemplate() {
    // To this driver's own address (so an interface takes it as unicast to itself) from another
    // one (its own with the last bit flipped: a frame from ourselves would be dropped), IPv4
    // (RFC 791) from 192.0.2.1 (TEST-NET-1, RFC 5737) to the configured address, UDP (RFC 768)
    // from port 9.
    std::uint8_t* f = template_.data();
    std::memcpy(f, f + 6, 6);
    f[11] ^= 1;
    f[12] = 0x08;
    f[13] = 0x00;
    std::uint8_t* ip = f + kHeaderSize;
    const std::uint32_t ipLength = options_.frameSize - kHeaderSize;
    ip[0] = 0x45;
    ip[2] = static_cast<std::uint8_t>(ipLength >> 8);
    ip[3] = static_cast<std::uint8_t>(ipLength);
    ip[8] = 64;
    ip[9] = 17;
    const std::uint8_t source[4] = {192, 0, 2, 1};
    std::memcpy(ip + 12, source, 4);
    std::memcpy(ip + 16, &options_.udpAddress, 4);
    std::uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = static_cast<std::uint8_t>(~sum >> 8);
    ip[11] = static_cast<std::uint8_t>(~sum);
    std::uint8_t* udp = ip + 20;
    const std::uint32_t udpLength = ipLength - 20;
    udp[1] = 9;
    udp[2] = static_cast<std::uint8_t>(options_.udpPort >> 8);
    udp[3] = static_cast<std::uint8_t>(options_.udpPort);
    udp[4] = static_cast<std::uint8_t>(udpLength >> 8);
    udp[5] = static_cast<std::uint8_t>(udpLength);
    sequenceAt_ = kUdpHeaders;
}

Result<std::unique_ptr<NullDriver>> NullDriver::create(const Options& options, std::uint32_t poolSize) {
    using R = Result<std::unique_ptr<NullDriver>>;
    NetbufPool::Options poolOptions;
    poolOptions.count = poolSize;
    poolOptions.name = "nexnet-null";
    if (options.queues == 0 || options.queues > kMaxQueues)
        return R::failure(EINVAL, "queues=" + std::to_string(options.queues) + ": 1 to " + std::to_string(kMaxQueues));
    const std::uint32_t smallest = options.udpPort != 0 ? kUdpHeaders : IOEthernet::kHeaderSize;
    if (options.frameSize < smallest || options.frameSize > poolOptions.dataRoom)
        return R::failure(EINVAL,
                          "size=" + std::to_string(options.frameSize) + ": frames are " + std::to_string(smallest) +
                              " to " + std::to_string(poolOptions.dataRoom) + " bytes (a netbuf's data room)");
    auto pool = NetbufPool::create(poolOptions);
    if (!pool)
        return R::failure(
            pool.error(),
            pool.message().empty() ? "cannot make a pool of " + std::to_string(poolSize) + " netbufs" : pool.message());
    std::unique_ptr<NullDriver> driver(new NullDriver(options));
    driver->setPool(std::shared_ptr<NetbufPool>(std::move(pool.value())));
    return R(std::move(driver));
}

namespace {
// "10.0.0.2:9000" into options.udpAddress and udpPort. @return false when malformed.
bool parseUdp(const std::string& text, NullDriver::Options& options) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    in_addr address{};
    if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &address) != 1) return false;
    char* end = nullptr;
    unsigned long port = std::strtoul(text.c_str() + colon + 1, &end, 10);
    if (*end != '\0' || end == text.c_str() + colon + 1 || port == 0 || port > 65535) return false;
    options.udpAddress = address.s_addr;
    options.udpPort = static_cast<std::uint16_t>(port);
    return true;
}
}  // namespace

int NullDriver::registerWith(DriverRegistry& registry) {
    return registry.registerDriver(
        "null", "null:[,size=BYTES][,fill=0|1][,pool=N][,limit=FRAMES][,queues=N][,udp=IPV4:PORT]",
        "endless source and sink of frames, for tests and benchmarks",
        {"size", "fill", "pool", "limit", "queues", "udp"}, [](const DriverUri& uri) {
            using R = Result<std::unique_ptr<IONetwork>>;
            Options options;
            auto size = uri.number("size", 64, 65535, IOEthernet::kHeaderSize);
            auto fill = uri.flag("fill", false);
            auto pool = uri.poolSize(8192, kBurst);
            auto limit = uri.number("limit", UINT64_MAX);
            auto queues = uri.number("queues", 1, kMaxQueues, 1);
            if (!queues) return R::failure(queues);
            if (!size) return R::failure(size);
            if (!fill) return R::failure(fill);
            if (!pool) return R::failure(pool);
            if (!limit) return R::failure(limit);
            options.frameSize = static_cast<std::uint32_t>(size.value());
            options.fill = fill.value();
            options.limit = limit.value();
            options.queues = static_cast<unsigned>(queues.value());
            if (auto udp = uri.option("udp")) {
                if (!parseUdp(*udp, options)) {
                    return R::failure(EINVAL, "udp=" + *udp + ": IPV4:PORT, PORT 1 to 65535");
                }
                options.fill = true;
            }
            auto driver = create(options, pool.value());
            if (!driver) return R::failure(driver);
            return R(std::unique_ptr<IONetwork>(std::move(driver.value())));
        });
}

int NullDriver::resetAndEnable(bool enable) {
    setRunning(enable);
    return 0;
}

unsigned NullDriver::maxMtu() const { return pool()->bufferSize() - pool()->headroom() - kHeaderSize; }

unsigned NullDriver::queueCount() const { return options_.queues; }

std::uint64_t NullDriver::produced() const {
    std::uint64_t total = 0;
    for (unsigned q = 0; q < options_.queues; ++q) total += produced(q);
    return total;
}

std::uint64_t NullDriver::produced(unsigned queue) const {
    return queue < kMaxQueues ? queues_[queue].produced.load(std::memory_order_relaxed) : 0;
}

unsigned NullDriver::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    if (!isRunning() || queue >= options_.queues) return 0;
    Queue& rq = queues_[queue];
    const std::uint64_t produced = rq.produced.load(std::memory_order_relaxed);
    if (produced >= options_.limit) return 0;
    unsigned n = static_cast<unsigned>(std::min<std::uint64_t>(max, options_.limit - produced));
    // The raw bulk get, then one pass that sets every field: what a NIC's receive loop does with
    // the descriptors it takes (no separate pass to zero what is about to be set).
    if (pool()->getBulk(out, n) != 0) {
        report(QueueEvent::receiveDrop, queue, n);  // the "wire" had frames, the pool no room
        return 0;
    }
    const std::uint32_t size = options_.frameSize;
    const std::uint32_t headroom = pool()->headroom();
    for (unsigned i = 0; i < n; ++i) {
        out[i]->resetForReceive(headroom);
        out[i]->setSize(size);
        if (options_.fill) {
            std::uint8_t* frame = out[i]->data();
            std::memcpy(frame, template_.data(), size);
            std::uint64_t sequence = produced + i;
            if (size >= sequenceAt_ + 8) std::memcpy(frame + sequenceAt_, &sequence, sizeof sequence);
            if (size > sequenceAt_ + 8) frame[sequenceAt_ + 8] = static_cast<std::uint8_t>(queue);
        }
    }
    rq.produced.store(produced + n, std::memory_order_relaxed);  // single writer: the queue's thread
    return n;
}

unsigned NullDriver::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    (void)queue;
    NetbufPool::freeToOwners(packets, count);
    return count;
}

}  // namespace nexnet
