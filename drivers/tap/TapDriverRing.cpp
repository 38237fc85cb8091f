// TapDriver's receive through TapReceiveRing (rx=uring): choosing it when the queues open, and the
// burst that takes its frames through the same checks as the readv path (acceptFrame).
#include "drivers/tap/TapDriver.h"

#include <algorithm>
#include <cstring>

namespace nexnet {

int TapDriver::openReceiveRings(const Options& options, const std::string& transmitMode) {
    std::string receiveMode;
    int error = 0;
    // The ring only when asked (rx=uring). Its wake-ups are right since the queue's own thread arms
    // the read, but its fault handling is not yet the readv path's: a deleted tap is not noticed
    // (no fault, the link stays up) and a dry pool makes the loop spin (TapFaultTest and
    // SampleFaultTest fail with it as the default).
    if (!options.receiveRing.value_or(false)) {
        receiveMode = options.receiveRing ? "receive: one readv per frame (rx=readv)"
                                          : "receive: one readv per frame (io_uring multishot read only with rx=uring)";
    } else {
        for (Queue& queue : queues()) {
            queue.rxRing = std::make_unique<TapReceiveRing>();
            if ((error = queue.rxRing->setUp(queue.fd, *pool(), receiveRingLimit(), kVnetHeaderSize)) != 0) break;
        }
        if (error == 0) {
            receiveMode = "receive: io_uring multishot read into " + std::to_string(queues_[0].rxRing->capacity()) +
                " posted netbufs per queue";
        } else {
            for (Queue& queue : queues()) queue.rxRing.reset();
            if (options.receiveRing) return ENOTSUP;  // forced: never a silent slower path
            receiveMode = std::string("receive: one readv per frame (io_uring multishot read unavailable: ") +
                std::strerror(error) + ")";
        }
    }
    setModeDescription(receiveMode + "; " + transmitMode);
    return 0;
}

unsigned TapDriver::receiveRingLimit() const {
    // A quarter of the pool posted over all queues: the rest serves what the layers above hold.
    return std::max(1u, pool()->capacity() / (4 * queueCount()));
}

unsigned TapDriver::receiveFromRing(unsigned queue, Queue& rq, Netbuf** out, unsigned max) {
    if (rq.dead) {  // perhaps found by transmit: the ring's last completions must not wake anyone
        rq.rxRing->stop();
        return 0;
    }
    Netbuf* frames[kBurst];
    std::uint32_t bytes[kBurst];
    TapReceiveRing::Harvest harvest = rq.rxRing->harvest(frames, bytes, std::min(max, kBurst));
    Netbuf* malformed[kBurst];
    unsigned got = 0, bad = 0;
    for (unsigned i = 0; i < harvest.frames; ++i) {
        Netbuf* netbuf = frames[i];
        // The ring had the kernel write the virtio-net header into the headroom, before data().
        VirtioNetHeader header;
        std::memcpy(static_cast<void*>(&header), netbuf->data() - kVnetHeaderSize, kVnetHeaderSize);
        if (takeFrame(rq, netbuf, header, bytes[i], netbuf->tailroom())) out[got++] = netbuf;
        else malformed[bad++] = netbuf;  // its reason counted by acceptFrame
    }
    if (bad != 0) {
        pool()->freeBulk(malformed, bad);
        report(QueueEvent::receiveError, queue, bad);
    }
    if (harvest.error == EBADFD || harvest.error == ENXIO) {
        rq.rxRing->stop();
        queueDied(rq);
    }
    if (got != 0 && linkStatus() != LinkStatus::up) setLinkStatus(LinkStatus::up);
    return got;
}

}  // namespace nexnet
