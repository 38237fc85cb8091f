// Fuzz target: the used ring of a split virtqueue as a buggy or hostile device writes it (virtio 1.2
// section 2.7.8): any idx, any {id, len} elements, written at any time between the driver's bursts,
// read through VirtqueueUsedRing as VirtioNetDriver reads its receive and transmit queues. What
// must hold: the driver takes back only chains the device held, each once; an idx that ran past the
// ring is refused whole; a receive length it accepts leaves a frame inside the buffer; and what the
// ring says the device holds is what the driver made available and did not get back.
#include "FuzzFinding.h"
#include "FuzzInput.h"

#include "drivers/vfio/VirtqueueUsedRing.h"
#include "netbuf/VirtioNetHeader.h"

#include <vector>

using namespace nexnet;
using nexnet::fuzz::expect;
using nexnet::fuzz::FuzzInput;

namespace {
constexpr unsigned kBurst = 64;             // ReceiveRefill::kMaxBurst: most elements one burst reads
constexpr std::uint32_t kHeader = 12;       // the virtio-net header in front of each received frame
constexpr std::uint32_t kRoom = 2048 + 12;  // a receive buffer with its header
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput input(data, size);
    const unsigned queueSize = 1u << input.below(9);  // 1 to 256 descriptors
    const bool receive = input.choose(2) == 0;
    const std::uint16_t start = input.take<std::uint16_t>();  // where the indices begin (they wrap)
    std::vector<std::uint16_t> header(2, 0);                  // the device's flags and idx
    std::vector<virtio::UsedElement> elements(queueSize, virtio::UsedElement{0, 0});
    header[1] = start;
    VirtqueueUsedRing ring;
    ring.attach(header.data(), elements.data(), queueSize, start);
    // The driver's own view: which chains it gave the device. A receive queue gives them all at
    // start (fillReceiveQueue); a transmit queue one per frame sent.
    std::vector<std::uint8_t> given(queueSize, 0);
    if (receive) {
        for (unsigned id = 0; id < queueSize; ++id) {
            ring.posted(static_cast<std::uint16_t>(id));
            given[id] = 1;
        }
    }
    while (input.more()) {
        switch (input.choose(5)) {
        case 0: {  // the device writes an element anywhere in the ring
            virtio::UsedElement& e = elements[input.below(queueSize)];
            e.id = input.choose(4) == 0 ? input.take<std::uint32_t>() : input.below(queueSize + 2);
            e.length = input.choose(2) == 0 ? input.take<std::uint32_t>() : input.below(kRoom + 16);
            break;
        }
        case 1:  // the device moves idx by a little (what a working device does)
            header[1] = static_cast<std::uint16_t>(header[1] + input.below(queueSize + 2));
            break;
        case 2:  // the device writes any idx
            header[1] = input.take<std::uint16_t>();
            break;
        case 3:  // transmit: the driver makes a free chain available (a frame sent)
            if (!receive) {
                unsigned id = input.below(queueSize);
                if (given[id] == 0) {
                    ring.posted(static_cast<std::uint16_t>(id));
                    given[id] = 1;
                }
            }
            break;
        case 4: {  // a burst of the driver
            const std::uint16_t before = ring.lastUsed();
            const unsigned ready = ring.ready(ring.deviceIndex());
            if (ready == VirtqueueUsedRing::kOverrun) {
                expect(static_cast<std::uint16_t>(header[1] - before) > queueSize, "an idx within the ring refused");
                expect(ring.lastUsed() == before, "a refused idx moved the reading on");
                break;
            }
            expect(ready <= queueSize, "more elements ready than the ring holds");
            for (unsigned i = 0; i < ready && i < kBurst; ++i) {
                VirtqueueUsedRing::Element element;
                VirtqueueUsedRing::Verdict verdict = ring.next(element);
                if (verdict == VirtqueueUsedRing::Verdict::badId) {
                    expect(element.id >= queueSize, "an id inside the queue called bad");
                    continue;
                }
                expect(element.id < queueSize, "an id outside the queue let through");
                if (verdict == VirtqueueUsedRing::Verdict::notOutstanding) {
                    expect(given[element.id] == 0, "a chain the device held refused");
                    continue;
                }
                expect(given[element.id] == 1, "a chain taken back that the device did not hold");
                given[element.id] = 0;
                if (!receive) continue;  // transmit: the netbuf is freed, the chain free again
                if (VirtqueueUsedRing::judgeFrame(element.length, kHeader, kRoom) == VirtqueueUsedRing::Frame::fits) {
                    expect(element.length >= kHeader + 14 && element.length <= kRoom,
                           "an accepted frame outside its buffer");
                }
                ring.posted(static_cast<std::uint16_t>(element.id));  // the buffer goes back at once
                given[element.id] = 1;
            }
            break;
        }
        }
    }
    for (unsigned id = 0; id < queueSize; ++id)
        expect(ring.held(static_cast<std::uint16_t>(id)) == (given[id] != 0), "the ring and the driver disagree");
    return 0;
}
