#include "netif/OutputQueue.h"

namespace nexnet {

namespace {
constexpr unsigned kBurst = 32;
}  // namespace

unsigned OutputQueue::send(IONetwork& driver, unsigned queue, Netbuf** packets, unsigned count) {
    // Behind queued output, in order; otherwise straight to the driver.
    unsigned sent = pending_.empty() ? driver.send(queue, packets, count) : 0;
    unsigned accepted = sent, dropped = 0;
    for (unsigned i = sent; i < count; ++i) {
        if (pending_.enqueue(packets[i]) == 0) {
            ++accepted;
        } else {
            packets[i]->free();
            ++dropped;
        }
    }
    if (dropped != 0) driver.report(QueueEvent::transmitDrop, queue, dropped);
    return accepted;
}

unsigned OutputQueue::flush(IONetwork& driver, unsigned queue) {
    if (flushing_ || pending_.empty()) return 0;
    flushing_ = true;  // a driver reporting room from inside its send must not re-enter
    unsigned total = 0;
    Netbuf* burst[kBurst];
    while (!pending_.empty() && driver.isRunning()) {
        unsigned n = pending_.dequeueBurst(burst, kBurst);
        unsigned sent = driver.send(queue, burst, n);
        total += sent;
        if (sent < n) {
            pending_.requeue(burst + sent, n - sent);  // refused: back to the head, in order
            break;
        }
    }
    flushing_ = false;
    return total;
}

void OutputQueue::drop(IONetwork& driver, unsigned queue) {
    if (pending_.empty()) return;
    driver.report(QueueEvent::transmitDrop, queue, pending_.count());
    pending_.freeAll();
}

}  // namespace nexnet
