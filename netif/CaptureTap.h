#pragma once
/// @file CaptureTap.h
/// @brief CaptureTap: captures an interface's received and sent frames to a pcap file or another
/// CaptureWriter (a pcapng stream).

#include "netbuf/Result.h"
#include "netif/CaptureTapRing.h"
#include "netif/CaptureWriter.h"
#include "netif/InputConsumer.h"
#include "netif/OutputObserver.h"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace nexnet {

/// tcpdump for a nexnet interface: copies what a NetworkInterface receives and/or sends into a
/// pcap file (libpcap's dump API, nanosecond timestamps) or any CaptureWriter (PcapngWriter: a
/// pcapng stream with directions, as dumpcap writes), keeping only frames that match a BPF filter
/// (tcpdump's expression language: pcap_compile, pcap_offline_filter).
///
/// The data path never waits for the disk: each frame that passes the filter is copied into a
/// preallocated ring (CaptureTapRing), one per queue and direction, and a writer thread of the
/// tap's own drains the rings into the writer, oldest timestamp first. When a ring is full the frame is not
/// captured and drops() counts it; the interface's traffic is never delayed or changed. A tap
/// costs the interface nothing until it is attached: nothing of it is on the data path before.
///
/// Per queue: each of the interface's queues has its own rings and counters
/// (its thread is the ring's only producer), so queues on different threads share nothing on the
/// data path: no lock, no shared cache line written. The writer merges the rings into the file
/// oldest record first.
///
/// Receive is seen as an InputConsumer that only looks (it runs before the other consumers and
/// takes nothing); transmit through the interface's OutputObserver hook (frames given to
/// NetworkInterface::output / outputBurst). Filter, directions and on/off may be switched at any
/// time from any thread while traffic flows (setFilter, setReceiveEnabled, setTransmitEnabled).
///
/// Threads: the hooks run on the interface's thread (one thread, as NetworkInterface requires);
/// the control methods may be called from any other thread.
class CaptureTap : public InputConsumer, public OutputObserver {
public:
    /// Input-consumer priority of a tap: before app-ring intercepts (0) and protocols (100), so it
    /// sees every frame the driver received.
    static constexpr int kPriority = -1000;

    /// Where and what to capture.
    struct Options {
        std::string path;      ///< The pcap file (created or truncated), unless a writer is given.
        bool receive = true;   ///< Capture received frames.
        bool transmit = true;  ///< Capture sent frames.
        std::string filter;    ///< BPF expression; empty captures everything.
        std::size_t queueBytes =
            4u << 20;  ///< Bytes of each ring (one per queue and direction) between data path and writer.
        std::uint32_t snaplen = 65535;  ///< Bytes kept of each frame.
        std::uint64_t count = 0;        ///< Frames to capture, then stop (complete()); 0: no limit.
    };

    /// Opens the file, compiles the filter and starts the writer thread. Errors: EINVAL (a filter
    /// that does not compile, snaplen 0, a queue too small for one snaplen frame), the file's
    /// errno. @p message, when not null, receives libpcap's explanation.
    static Result<std::unique_ptr<CaptureTap>> create(const Options& options, std::string* message = nullptr);
    /// As create(options, message), but the frames go to @p writer (Options::path is ignored).
    /// Errors: EINVAL as above.
    static Result<std::unique_ptr<CaptureTap>> create(const Options& options, std::unique_ptr<CaptureWriter> writer,
                                                      std::string* message = nullptr);
    /// Detaches, writes what is queued, finishes the writer (CaptureWriter::finish) and closes it.
    ~CaptureTap() override;
    CaptureTap(const CaptureTap&) = delete;
    CaptureTap& operator=(const CaptureTap&) = delete;

    /// Starts capturing @p interface (an input consumer at kPriority and an output observer),
    /// with a ring for each of its queues. @return 0, EBUSY when already attached, or ENOMEM.
    /// A control call: any thread, also while the interface's queues run.
    int attach(NetworkInterface& interface);
    /// Stops capturing the interface it was attached to (a control call, as attach).
    void detach();

    /// Replaces the filter (empty: everything). @return 0, or EINVAL when @p expression does not
    /// compile (the old filter stays; @p message gets libpcap's reason).
    int setFilter(std::string_view expression, std::string* message = nullptr);
    /// The current filter expression.
    std::string filter() const;
    /// Turns capture of received frames on or off.
    void setReceiveEnabled(bool enabled) { receive_.store(enabled, std::memory_order_relaxed); }
    /// Turns capture of sent frames on or off.
    void setTransmitEnabled(bool enabled) { transmit_.store(enabled, std::memory_order_relaxed); }
    /// True while received frames are captured.
    bool receiveEnabled() const { return receive_.load(std::memory_order_relaxed); }
    /// True while sent frames are captured.
    bool transmitEnabled() const { return transmit_.load(std::memory_order_relaxed); }

    /// Waits until every frame queued before the call is in the file (written and flushed).
    /// @return 0, ETIMEDOUT after @p timeout, or the errno of the write.
    int flush(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /// Frames queued for the file (all queues). Any thread.
    std::uint64_t captured() const { return sumOf(&Queue::captured); }
    /// Frames written to the file. Any thread.
    std::uint64_t written() const { return sumOf(&Queue::written); }
    /// Frames lost because a ring was full. Any thread.
    std::uint64_t drops() const { return sumOf(&Queue::drops); }
    /// Frames the filter rejected. Any thread.
    std::uint64_t filtered() const { return sumOf(&Queue::filtered); }
    /// True once Options::count frames were captured and written: the capture is over. Any thread.
    bool complete() const;
    /// The first error the writer returned (0: none): the file or the stream is gone. Any thread.
    int writeError() const;

    /// Looks at the burst of @p queue, takes nothing. On the queue's thread.
    void consumeInput(NetworkInterface& interface, unsigned queue, Netbuf** packets, unsigned count) override;
    /// Looks at the output burst of @p queue. On the queue's thread.
    void observeOutput(NetworkInterface& interface, unsigned queue, Netbuf* const* packets, unsigned count) override;

private:
    struct Filter;
    using Counter = std::atomic<std::uint64_t>;
    static constexpr unsigned kMaxQueues = 16;  // IONetwork::kMaxQueues
    // One queue's side of the tap: its ring (the queue's thread produces, the writer consumes)
    // and its counters, each written by one thread only.
    struct alignas(64) Queue {
        explicit Queue(std::size_t bytes) : rings{CaptureTapRing(bytes), CaptureTapRing(bytes)} {}
        CaptureTapRing rings[2];  // by CaptureDirection
        alignas(64) Counter captured{0}, drops{0}, filtered{0};
        // The writer's: records taken from the rings (written, or past Options::count and
        // released unwritten), and of those the ones in the file.
        alignas(64) Counter taken{0}, written{0};
        std::uint64_t flushedUpTo = 0;  // records taken and flushed, under writerLock_
    };

    explicit CaptureTap(const Options& options);
    void capture(Queue& queue, Netbuf* const* packets, unsigned count, CaptureDirection direction);
    void writerLoop();
    bool writeOldest();
    std::unique_ptr<Filter> compile(std::string_view expression, std::string* message) const;
    std::uint64_t sumOf(Counter Queue::*counter) const;
    unsigned rings() const { return rings_.load(std::memory_order_acquire); }

    Options options_;
    std::array<std::unique_ptr<Queue>, kMaxQueues> queues_;
    std::atomic<unsigned> rings_{0};  // queues_[0, rings_) exist; grows only, in attach
    std::unique_ptr<CaptureWriter> writer_;
    std::uint64_t started_ = 0;
    NetworkInterface* interface_ = nullptr;

    // The filter in use; a replaced one is freed once no burst can still be using it.
    std::atomic<Filter*> filter_{nullptr};
    mutable std::mutex filterLock_;  // serialises setFilter callers, never taken by the data path
    std::atomic<bool> receive_;
    std::atomic<bool> transmit_;

    mutable std::mutex writerLock_;  // writer thread <-> flush / stop / writeError only
    std::condition_variable writerWake_;
    std::condition_variable flushed_;
    bool stop_ = false;
    std::uint64_t flushRequests_ = 0;  // flush() calls waiting
    int writeError_ = 0;
    std::thread writerThread_;
};

}  // namespace nexnet
