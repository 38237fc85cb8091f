#include "framework/QueueGate.h"

#include <cstdio>
#include <cstdlib>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nexnet {

namespace {

int membarrier(int command) { return static_cast<int>(syscall(SYS_membarrier, command, 0, 0)); }

// MEMBARRIER_CMD_PRIVATE_EXPEDITED (Linux 4.14) interrupts every CPU running a thread of this
// process and makes it execute a full memory barrier: the store-load fence the data path leaves
// out. It needs a registration per process, made once here, before any gate is used.
bool registerExpeditedBarrier() {
    int supported = membarrier(MEMBARRIER_CMD_QUERY);
    if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
    return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

void reportMisuse(const QueueGate& gate, unsigned queue) {
    // Debug builds only, as a failed assert(): the contract is broken and the data would be.
    std::fprintf(stderr, "nexnet: queue %u of the driver at %p used from two threads at once\n", queue,
                 static_cast<const void*>(&gate));
    std::abort();
}

std::atomic<QueueGate::MisuseHandler> gMisuseHandler{&reportMisuse};

}  // namespace

QueueGate::QueueGate() {
    // Once per process, before this gate's driver runs (a static's initialisation is thread-safe).
    static const bool registered = registerExpeditedBarrier();
    asymmetric_ = registered;
}

void QueueGate::setMisuseHandler(MisuseHandler handler) {
    gMisuseHandler.store(handler != nullptr ? handler : &reportMisuse, std::memory_order_relaxed);
}

void QueueGate::claimChecked(Slot& slot, unsigned queue, std::uintptr_t me) {
    // A locked compare-and-swap (a full fence as well): only in debug builds.
    std::uintptr_t expected = 0;
    if (slot.owner.compare_exchange_strong(expected, me, std::memory_order_seq_cst)) return;
    gMisuseHandler.load(std::memory_order_relaxed)(*this, queue);
    slot.owner.store(me, std::memory_order_seq_cst);  // a test's handler returned: carry on
}

void QueueGate::close() {
    const std::uintptr_t me = threadToken();
    if (closer_.load(std::memory_order_relaxed) == me) {
        ++closeDepth_;
        return;
    }
    controlLock_.lock();
    closer_.store(me, asymmetricFence() ? std::memory_order_relaxed : std::memory_order_seq_cst);
    // Every queue thread either made its owner store visible before this point, or reads closer_
    // after it (see the picture in the header).
    if (asymmetricFence()) membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
    for (Slot& slot : slots_) {
        for (;;) {
            std::uintptr_t owner =
                slot.owner.load(asymmetricFence() ? std::memory_order_acquire : std::memory_order_seq_cst);
            if (owner == 0 || owner == me) break;  // free, or held by this thread further up its stack
            sched_yield();                         // a burst under way: it never blocks
        }
    }
}

void QueueGate::open() {
    if (closeDepth_ != 0) {
        --closeDepth_;
        return;
    }
    // Release: a queue thread that enters next sees everything the control call changed.
    closer_.store(0, std::memory_order_release);
    controlLock_.unlock();
}

}  // namespace nexnet
