#include "drivers/null/NullDriver.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace nexnet {

namespace {
constexpr std::uint16_t kLocalExperimentalEtherType = 0x88b5;        // IEEE 802 local experimental
constexpr std::uint32_t kSequenceEnd = IOEthernet::kHeaderSize + 8;  // the sequence, then the queue
}  // namespace

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
    if (options.queues == 0 || options.queues > kMaxQueues)
        return R::failure(EINVAL, "queues=" + std::to_string(options.queues) + ": 1 to " + std::to_string(kMaxQueues));
    if (options.frameSize < IOEthernet::kHeaderSize || options.frameSize > poolOptions.dataRoom)
        return R::failure(EINVAL,
                          "size=" + std::to_string(options.frameSize) + ": frames are " +
                              std::to_string(IOEthernet::kHeaderSize) + " to " + std::to_string(poolOptions.dataRoom) +
                              " bytes (a netbuf's data room)");
    auto pool = NetbufPool::create(poolOptions);
    if (!pool) return R::failure(pool.error(), "cannot make a pool of " + std::to_string(poolSize) + " netbufs");
    std::unique_ptr<NullDriver> driver(new NullDriver(options));
    driver->setPool(std::shared_ptr<NetbufPool>(std::move(pool.value())));
    return R(std::move(driver));
}

int NullDriver::registerWith(DriverRegistry& registry) {
    return registry.registerDriver("null", "null:[,size=BYTES][,fill=0|1][,pool=N][,limit=FRAMES][,queues=N]",
                                   "endless source and sink of frames, for tests and benchmarks",
                                   {"size", "fill", "pool", "limit", "queues"}, [](const DriverUri& uri) {
                                       using R = Result<std::unique_ptr<IONetwork>>;
                                       Options options;
                                       auto size = uri.number("size", 64, 65535, IOEthernet::kHeaderSize);
                                       auto fill = uri.flag("fill", false);
                                       auto pool = uri.number("pool", 8192, UINT32_MAX - 1, 1);
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
            if (size >= kSequenceEnd) std::memcpy(frame + kHeaderSize, &sequence, sizeof sequence);
            if (size > kSequenceEnd) frame[kSequenceEnd] = static_cast<std::uint8_t>(queue);
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
