// Fuzz target: the low-resource buffering layer (LowResourceBuffer) under any sequence of receive
// arrays, pool pressure, slow consumers, drains and flushes, with any configuration. The
// descriptors it hands the driver (seed claim 3) must number every packet in receive order, the
// layers above must see packets in receive order without duplicates, every drop must be counted,
// and once everything is given back both pools must be whole.
#include "FuzzFinding.h"
#include "FuzzInput.h"

#include "netif/LowResourceBuffer.h"
#include "tests/support/LowResourceHarness.h"

using namespace nexnet;
using namespace nexnet::test;
using nexnet::fuzz::expect;
using nexnet::fuzz::FuzzInput;

namespace {

constexpr unsigned kSteps = 200;

// Checks each array's descriptors as they come: consecutive sequence numbers, whole arrays.
struct CheckingClient final : LowResourceClient {
    std::uint64_t next = 0;
    std::uint64_t dropped = 0;
    void packetsDescribed(const LowResourceDescriptor* descriptors, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            expect(descriptors[i].sequence == next++, "descriptors out of receive order or with a gap");
            if (descriptors[i].location == LowResourceDescriptor::Location::dropped) {
                expect(descriptors[i].flagged, "a packet dropped without being flagged");
                ++dropped;
            }
        }
    }
    void arrayProcessed(const ArrayReport& report) override {
        expect(report.toHost + report.toReserve + report.dropped == report.count, "an array not wholly accounted for");
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput input(data, size);
    const std::uint32_t poolSize = 32 + input.below(480);
    LowResourceBuffer::Config config;
    config.lowWater = input.below(poolSize);
    config.highWater = config.lowWater + input.below(poolSize / 2 + 1);
    config.reserveCount = input.below(129);
    config.release =
        input.choose(2) == 0 ? LowResourceBuffer::Release::immediately : LowResourceBuffer::Release::onRecovery;
    auto driver = makeNullDriver(poolSize);
    expect(driver != nullptr, "a null driver");
    auto made = LowResourceBuffer::create(driver->sharedPool(), config);
    if (!made) return 0;  // a configuration the layer refuses (EINVAL) is fine
    LowResourceBuffer& layer = *made.value();
    RecordingSink sink;
    CheckingClient client;
    layer.setDownstream(&sink);
    layer.setClient(&client);
    driver->setClient(&layer);
    sink.hold = true;
    {
        PoolPressure pressure(*driver->pool());
        for (unsigned step = 0; step < kSteps && input.more(); ++step) {
            switch (input.choose(6)) {
            case 0:
            case 1:
                receiveArray(*driver, 1 + input.below(LowResourceBuffer::kMaxArray));
                break;
            case 2:
                sink.releaseOldest(input.below(256));
                break;
            case 3:
                pressure.take(input.below(poolSize));
                break;
            case 4:
                pressure.release(input.below(poolSize));
                break;
            default:
                input.choose(2) == 0 ? layer.drain() : layer.flush();
                break;
            }
        }
    }
    layer.flush();
    sink.releaseAll();
    driver->setClient(nullptr);
    for (std::size_t i = 1; i < sink.seen.size(); ++i)
        expect(sink.seen[i].sequence > sink.seen[i - 1].sequence, "packets went up out of order or twice");
    LowResourceBuffer::Statistics stats = layer.statistics();
    expect(stats.packets == client.next, "packets received and described differ");
    expect(stats.drops == client.dropped, "drops described and counted differ");
    expect(sink.seen.size() + stats.drops == stats.packets, "a packet neither delivered nor counted as dropped");
    expect(driver->pool()->inUse() == 0, "shared pool netbufs leaked");
    expect(layer.reserveInUse() == 0, "reserve netbufs leaked");
    return 0;
}
