#include "drivers/null/NullDriver.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace nexnet {

namespace {
constexpr std::uint16_t kLocalExperimentalEtherType = 0x88b5;  // IEEE 802 local experimental
}

NullDriver::NullDriver(const Options& options) : options_(options), template_(options.frameSize, 0) {
    setName("null");
    EthernetAddress address = EthernetAddress::randomLocal();
    attachToNetworkWithAddress(address);
    std::memset(template_.data(), 0xff, 6);
    std::memcpy(template_.data() + 6, address.bytes.data(), 6);
    template_[12] = kLocalExperimentalEtherType >> 8;
    template_[13] = kLocalExperimentalEtherType & 0xff;
    setLinkStatus(LinkStatus::up);
}

Result<std::unique_ptr<NullDriver>> NullDriver::create(const Options& options, std::uint32_t poolSize) {
    using R = Result<std::unique_ptr<NullDriver>>;
    NetbufPool::Options poolOptions;
    poolOptions.count = poolSize;
    poolOptions.name = "nexnet-null";
    if (options.frameSize < IOEthernet::kHeaderSize || options.frameSize > poolOptions.dataRoom)
        return R::failure(EINVAL, "size=" + std::to_string(options.frameSize) + ": frames are " +
                                      std::to_string(IOEthernet::kHeaderSize) + " to " +
                                      std::to_string(poolOptions.dataRoom) + " bytes (a netbuf's data room)");
    auto pool = NetbufPool::create(poolOptions);
    if (!pool) return R::failure(pool.error(), "cannot make a pool of " + std::to_string(poolSize) + " netbufs");
    std::unique_ptr<NullDriver> driver(new NullDriver(options));
    driver->setPool(std::shared_ptr<NetbufPool>(std::move(pool.value())));
    return R(std::move(driver));
}

int NullDriver::registerWith(DriverRegistry& registry) {
    return registry.registerDriver(
        "null", "null:[,size=BYTES][,fill=0|1][,pool=N][,limit=FRAMES]",
        "endless source and sink of frames, for tests and benchmarks", {"size", "fill", "pool", "limit"},
        [](const DriverUri& uri) {
            using R = Result<std::unique_ptr<IONetwork>>;
            Options options;
            auto size = uri.number("size", 64, 65535, IOEthernet::kHeaderSize);
            auto fill = uri.flag("fill", false);
            auto pool = uri.number("pool", 8192, UINT32_MAX - 1, 1);
            auto limit = uri.number("limit", UINT64_MAX);
            if (!size) return R::failure(size);
            if (!fill) return R::failure(fill);
            if (!pool) return R::failure(pool);
            if (!limit) return R::failure(limit);
            options.frameSize = static_cast<std::uint32_t>(size.value());
            options.fill = fill.value();
            options.limit = limit.value();
            auto driver = create(options, static_cast<std::uint32_t>(pool.value()));
            if (!driver) return R::failure(driver);
            return R(std::unique_ptr<IONetwork>(std::move(driver.value())));
        });
}

int NullDriver::resetAndEnable(bool enable) {
    setRunning(enable);
    return 0;
}

unsigned NullDriver::maxMtu() const { return pool()->bufferSize() - pool()->headroom() - kHeaderSize; }

unsigned NullDriver::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    if (!isRunning() || produced_ >= options_.limit) return 0;
    unsigned n = static_cast<unsigned>(std::min<std::uint64_t>(max, options_.limit - produced_));
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
            std::memcpy(out[i]->data(), template_.data(), size);
            std::uint64_t sequence = produced_ + i;
            if (size >= 22) std::memcpy(out[i]->data() + 14, &sequence, sizeof sequence);
        }
    }
    produced_ += n;
    return n;
}

unsigned NullDriver::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    (void)queue;
    NetbufPool::freeToOwners(packets, count);
    return count;
}

}  // namespace nexnet
