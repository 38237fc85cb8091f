// Fuzz target: the receive descriptors an e1000e writes back (82574 datasheet section 7.1.4) as a
// buggy or hostile device writes them: any status, errors and length in any descriptor, the one the
// driver kept included, at any time between bursts; read through E1000eWriteBack as E1000eDriver's
// receive burst reads them. What must hold: the driver never reads a descriptor the device was not
// given (the one at the tail), never more than a burst, and a frame it accepts is a whole one of a
// length inside its buffer.
#include "FuzzFinding.h"
#include "FuzzInput.h"

#include "drivers/vfio/E1000eWriteBack.h"

#include <vector>

using namespace nexnet;
using nexnet::fuzz::expect;
using nexnet::fuzz::FuzzInput;

namespace {
constexpr unsigned kBurst = 64;              // ReceiveRefill::kMaxBurst
constexpr std::uint32_t kBufferSize = 2048;  // RCTL.BSIZE

struct Descriptor {  // the fields the device writes back (legacy receive descriptor, 7.1.4)
    std::uint16_t length = 0;
    std::uint8_t status = 0;
    std::uint8_t errors = 0;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput input(data, size);
    const unsigned ringSize = 8 * (1 + input.below(16));  // 8 to 128, a multiple of 8 as the driver wants
    std::vector<Descriptor> ring(ringSize);
    unsigned next = 0;             // the driver's next descriptor
    unsigned kept = ringSize - 1;  // the tail: the one descriptor the device was not given
    while (input.more()) {
        if (input.choose(3) != 0) {  // the device writes a descriptor back, any of them
            Descriptor& d = ring[input.below(ringSize)];
            d.status = input.choose(2) == 0 ? input.take<std::uint8_t>()
                                            : E1000eWriteBack::kDone | E1000eWriteBack::kEndOfPacket;
            d.errors = input.choose(4) == 0 ? input.take<std::uint8_t>() : 0;
            d.length = input.choose(2) == 0 ? input.take<std::uint16_t>()
                                            : static_cast<std::uint16_t>(input.below(kBufferSize + 64));
            continue;
        }
        // A burst, as E1000eDriver::receiveDone: count the done descriptors within reach, then
        // judge each and hand it back to the device.
        const unsigned reach = E1000eWriteBack::readable(ringSize, input.choose(2) == 0 ? kBurst : input.below(300));
        expect(reach < ringSize && reach <= 300, "a burst reaching past what the device holds");
        unsigned ready = 0;
        for (unsigned at = next; ready < reach && (ring[at].status & E1000eWriteBack::kDone) != 0;
             at = at + 1 == ringSize ? 0 : at + 1)
            ready++;
        for (unsigned i = 0; i < ready; ++i) {
            expect(next != kept, "a descriptor read that the device was never given");
            Descriptor& d = ring[next];
            E1000eWriteBack::Verdict verdict = E1000eWriteBack::judge(d.status, d.errors, d.length, kBufferSize);
            expect(verdict != E1000eWriteBack::Verdict::notDone, "a descriptor counted done is not");
            if (verdict == E1000eWriteBack::Verdict::accepted) {
                expect(d.length >= E1000eWriteBack::kMinFrame && d.length <= kBufferSize,
                       "an accepted frame outside its buffer");
                expect(d.errors == 0 && (d.status & E1000eWriteBack::kEndOfPacket) != 0,
                       "an accepted frame the device said was bad or cut");
            }
            d.status = 0;  // 7.1.8: not filled yet
            kept = next;   // the tail moves to the last one handed back, which stays the driver's
            next = next + 1 == ringSize ? 0 : next + 1;
        }
    }
    return 0;
}
