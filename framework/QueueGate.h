#pragma once
/// @file QueueGate.h
/// @brief QueueGate: keeps control calls and the per-queue data path of one driver apart, with
/// no lock and no locked instruction on the data path.

#include <atomic>
#include <cstdint>
#include <mutex>

namespace nexnet {

/// The threading contract of one IONetwork, enforced: queue q's bursts run on one thread at a
/// time (each queue may have its own), and control calls (up, down, MTU, filters) run while no
/// burst runs. IONetwork owns one; its receive() and send() pass through it, and so does
/// whatever services a queue as a whole (NetworkInterface, QueueWorkers, nexnet-fwd).
///
/// A quiescent-state scheme, as userspace RCU's memb flavour:
///
/// @verbatim
///   queue thread (enter)                      control thread (close)
///   slot[q].owner = me         (own line)     closer = me
///   compiler barrier                          membarrier(PRIVATE_EXPEDITED)   <- full fence on
///   if closer != 0 && != me: leave, refuse    wait until every slot[q].owner     every thread
///   ... the burst ...                           is 0 (or me)                      of the process
///   slot[q].owner = 0          (release)      ... control ...; closer = 0 (release) in open()
/// @endverbatim
///
/// Either the queue thread's owner store came before the barrier (control sees it and waits for
/// the burst to end) or its read of closer came after it (it sees the gate closed and does not
/// enter): Dekker's pattern with the store-load fence paid once per control call, by the kernel,
/// instead of once per burst. A burst costs two stores to the queue's own cache line and one load
/// of a line that only control calls write. Without membarrier (seccomp, an old kernel) both
/// sides use sequentially consistent operations instead (one locked instruction per burst).
///
/// Entering again on the thread that holds a queue is free (a counter), so a worker may hold its
/// queue for a whole turn while receive() and send() inside enter again. A control call made on
/// a thread that holds a queue (a link handler inside a burst) does not wait for itself, and the
/// thread that closed the gate may still enter (a driver's control code may send).
///
/// Debug builds (NDEBUG undefined, as the ASan build) check the contract: a queue entered while
/// another thread holds it calls the misuse handler, which by default writes one line to stderr
/// and aborts (as assert does). Release builds compile the check out.
///
/// Threading: enter/leave on the queue's thread; close/open on any thread (control calls from
/// several threads are serialised by a mutex that the data path never takes).
class QueueGate {
public:
    /// Queues a gate keeps apart (IONetwork::kMaxQueues).
    static constexpr unsigned kMaxQueues = 16;
    /// True when this build checks that a queue is used from one thread at a time.
#ifdef NDEBUG
    static constexpr bool kChecksQueueOwners = false;
#else
    static constexpr bool kChecksQueueOwners = true;
#endif

    /// Called when two threads hold @p queue of @p gate at once (debug builds only).
    using MisuseHandler = void (*)(const QueueGate& gate, unsigned queue);

    QueueGate();
    QueueGate(const QueueGate&) = delete;
    QueueGate& operator=(const QueueGate&) = delete;

    /// Enters queue @p queue (below kMaxQueues) on the calling thread. Never blocks.
    /// @return true: the caller holds the queue until the matching leave(); false: a control call
    /// holds the gate, the caller must not touch the queue (and must not call leave()).
    bool enter(unsigned queue) {
        Slot& slot = slots_[queue];
        const std::uintptr_t me = threadToken();
        if (slot.owner.load(std::memory_order_acquire) == me) [[unlikely]] {
            ++slot.nested;
            return true;
        }
        if constexpr (kChecksQueueOwners) {
            claimChecked(slot, queue, me);
        } else if (asymmetricFence()) [[likely]] {
            slot.owner.store(me, std::memory_order_relaxed);
            std::atomic_signal_fence(std::memory_order_seq_cst);  // the other half is membarrier
        } else {
            slot.owner.store(me, std::memory_order_seq_cst);
        }
        std::uintptr_t closer = closer_.load(asymmetricFence() ? std::memory_order_acquire : std::memory_order_seq_cst);
        if (closer != 0 && closer != me) [[unlikely]] {
            slot.owner.store(0, std::memory_order_release);
            return false;
        }
        return true;
    }
    /// Leaves queue @p queue, entered with enter() on this thread.
    void leave(unsigned queue) {
        Slot& slot = slots_[queue];
        if (slot.nested != 0) [[unlikely]] {
            --slot.nested;
            return;
        }
        // Release: a control call that sees the queue free sees everything the burst did.
        slot.owner.store(0, std::memory_order_release);
    }
    /// True when the calling thread holds @p queue (inside enter/leave).
    bool isHeldByThisThread(unsigned queue) const {
        return queue < kMaxQueues && slots_[queue].owner.load(std::memory_order_relaxed) == threadToken();
    }

    /// Stops the data path: returns once no other thread holds any queue, and until open() none
    /// enters. Nests on the thread that closed it. May block for as long as the longest burst
    /// under way (bursts never block) and a membarrier system call.
    void close();
    /// Lets the data path run again (the matching call to close()).
    void open();
    /// True while a control call holds the gate.
    bool isClosed() const { return closer_.load(std::memory_order_acquire) != 0; }

    /// Replaces the misuse handler (nullptr restores the default: a line on stderr, abort).
    /// For tests of the check itself. Any thread.
    static void setMisuseHandler(MisuseHandler handler);

    /// Holds a queue for a scope: `QueueGate::Pass pass(gate, q); if (!pass) return 0;`.
    class Pass {
    public:
        /// Enters @p queue of @p gate.
        Pass(QueueGate& gate, unsigned queue) : gate_(gate), queue_(queue), held_(gate.enter(queue)) {}
        /// Leaves the queue if it was entered.
        ~Pass() {
            if (held_) gate_.leave(queue_);
        }
        Pass(const Pass&) = delete;
        Pass& operator=(const Pass&) = delete;
        /// True when the queue was entered (the data path may run).
        explicit operator bool() const { return held_; }

    private:
        QueueGate& gate_;
        unsigned queue_;
        bool held_;
    };

    /// Holds the gate closed for a scope: what every control call runs inside.
    class Control {
    public:
        /// Closes @p gate (see close()).
        explicit Control(QueueGate& gate) : gate_(gate) { gate_.close(); }
        /// Opens it again.
        ~Control() { gate_.open(); }
        Control(const Control&) = delete;
        Control& operator=(const Control&) = delete;

    private:
        QueueGate& gate_;
    };

private:
    // One queue's state, on its own cache line: only its thread writes it (control only reads).
    struct alignas(64) Slot {
        std::atomic<std::uintptr_t> owner{0};  // token of the thread inside, 0 when none
        std::uint32_t nested = 0;              // further enters by the owner
    };

    // A number unique to each live thread: its thread pointer (one instruction, %fs:0 on x86-64).
    static std::uintptr_t threadToken() {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__aarch64__))
        return reinterpret_cast<std::uintptr_t>(__builtin_thread_pointer());
#else
        static thread_local char token;
        return reinterpret_cast<std::uintptr_t>(&token);
#endif
    }
    bool asymmetricFence() const { return asymmetric_; }
    void claimChecked(Slot& slot, unsigned queue, std::uintptr_t me);

    Slot slots_[kMaxQueues];
    // Read by every burst, written only by control calls: one line of its own.
    alignas(64) std::atomic<std::uintptr_t> closer_{0};  // the thread holding the gate closed, 0: open
    bool asymmetric_ = false;                            // membarrier registered: the data path has no fence
    unsigned closeDepth_ = 0;                            // nested closes by the closer
    std::mutex controlLock_;                             // control threads, one at a time
};

}  // namespace nexnet
