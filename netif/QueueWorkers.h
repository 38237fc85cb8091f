#pragma once
/// @file QueueWorkers.h
/// @brief QueueWorkers: one thread per queue pair, each an event loop pinned to a CPU (DPDK's
/// lcores, netmap's per-ring threads).

#include "framework/EventLoop.h"
#include "netbuf/Result.h"
#include "netif/NetworkInterface.h"

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace nexnet {

/// Runs network interfaces with one worker thread per queue pair: worker w runs queue q of every
/// interface added, for each q with q % threads() == w, in an EventLoop of its own, pinned to a
/// CPU from the list given. In poll mode a worker spins on its queues' receive bursts (run to
/// completion: receive, the consumers' work, transmit, on the same thread); in interrupt mode it
/// sleeps in epoll on its queues' interrupt descriptors.
///
/// @verbatim
///   worker 0 (CPU 2)              worker 1 (CPU 3)
///   EventLoop                     EventLoop
///    wire  queue 0  <-> host q0    wire  queue 1  <-> host q1     nothing shared on the data
///    wire  queue 2  <-> host q2    wire  queue 3  <-> host q3     path but the pools' shared
///                                                                 stacks (thread caches first)
/// @endverbatim
///
/// Since queue q of every interface runs on the same worker, what an input consumer of one
/// interface sends out of another (a forwarder, HostStackBridge) stays on its thread. Control
/// calls on the interfaces (up, down, MTU, consumers) may be made from any thread while the
/// workers run: each driver's QueueGate stops its queues for the call.
///
/// Lifetime: make it, add() the interfaces, start(); stop() (or the destructor) stops and joins
/// every thread, after which the interfaces may be removed or added again. add() and remove()
/// only while stopped. The interfaces must outlive their membership (remove() or the destructor
/// detaches them).
///
/// Threading: every method on one control thread; loop(w) may be used only while stopped (or on
/// worker w's own thread, from a handler).
class QueueWorkers {
public:
    /// How the workers run.
    struct Options {
        unsigned threads = 1;           ///< Worker threads, 1 to IONetwork::kMaxQueues.
        std::vector<unsigned> cpus;     ///< Worker w runs on cpus[w % cpus.size()]; empty: not pinned.
        std::string name = "nexnet-q";  ///< Thread names: name + worker number ("nexnet-q0").
    };

    /// Makes the workers' event loops, no thread yet. Errors: EINVAL (threads out of range, a CPU
    /// this process may not run on: the message names it), the errno of EventLoop::create.
    static Result<std::unique_ptr<QueueWorkers>> create(const Options& options);
    /// Stops and joins the workers, then detaches every interface still added.
    ~QueueWorkers();
    QueueWorkers(const QueueWorkers&) = delete;
    QueueWorkers& operator=(const QueueWorkers&) = delete;

    /// Runs @p interface on the workers in @p mode (NetworkInterface::attach with the workers'
    /// loops): queue q on worker q % threads(). While stopped only. Interrupt mode falls back to
    /// poll mode for a driver without interrupts, and the result says so.
    /// @return the mode in use, EBUSY while running or when the interface runs elsewhere.
    Result<NetworkInterface::Mode> add(NetworkInterface& interface, NetworkInterface::Mode mode);
    /// Stops running @p interface on the workers (NetworkInterface::detach). While stopped only.
    /// @return 0, EBUSY while running, ENOENT when it was not added.
    int remove(NetworkInterface& interface);

    /// Starts one thread per worker, each pinned to its CPU, running its loop until stop().
    /// Returns once every thread runs its loop. @return 0, EBUSY when running, or the errno of
    /// pthread_setaffinity_np / thread creation with a message (no thread is left running).
    Status start();
    /// Stops every worker's loop and joins its thread. Harmless when not running. Blocks until
    /// every worker finished its current turn (bursts never block).
    void stop();
    /// True between a successful start() and stop().
    bool isRunning() const { return !threads_.empty(); }

    /// The number of workers.
    unsigned threads() const { return static_cast<unsigned>(loops_.size()); }
    /// Worker @p worker's event loop (add pollers, timers and descriptors to it while stopped).
    EventLoop& loop(unsigned worker) { return *loops_[worker]; }
    /// Every worker's loop, worker 0 first: what NetworkInterface::attach takes.
    std::span<EventLoop* const> loops() const { return loopPointers_; }
    /// The CPU worker @p worker runs on, or -1 when not pinned.
    int cpu(unsigned worker) const;

    /// Parses a CPU list as taskset and DPDK's -l take it ("2", "0-3", "1,3,5-7").
    /// Errors: EINVAL with a message naming what is wrong.
    static Result<std::vector<unsigned>> parseCpuList(std::string_view list);

private:
    QueueWorkers() = default;
    int runWorker(unsigned worker);

    Options options_;
    std::vector<std::unique_ptr<EventLoop>> loops_;
    std::vector<EventLoop*> loopPointers_;
    std::vector<NetworkInterface*> interfaces_;
    std::vector<std::thread> threads_;
};

}  // namespace nexnet
