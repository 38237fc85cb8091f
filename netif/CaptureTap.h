#pragma once
/// @file CaptureTap.h
/// @brief CaptureTap: captures an interface's received and sent frames to a pcap file or another
/// CaptureWriter (a pcapng stream).

#include "netbuf/Result.h"
#include "netif/CaptureTapRing.h"
#include "netif/CaptureWriter.h"
#include "netif/InputConsumer.h"
#include "netif/OutputObserver.h"

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
/// preallocated ring (CaptureTapRing), one per direction, and a writer thread of the tap's own
/// drains both rings into the writer, oldest timestamp first. When a ring is full the frame is not
/// captured and drops() counts it; the interface's traffic is never delayed or changed. A tap
/// costs the interface nothing until it is attached: nothing of it is on the data path before.
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
        std::string path;                         ///< The pcap file (created or truncated), unless a writer is given.
        bool receive = true;                      ///< Capture received frames.
        bool transmit = true;                     ///< Capture sent frames.
        std::string filter;                       ///< BPF expression; empty captures everything.
        std::size_t queueBytes = 4u << 20;        ///< Bytes of each direction's ring between data path and writer.
        std::uint32_t snaplen = 65535;            ///< Bytes kept of each frame.
        std::uint64_t count = 0;                  ///< Frames to capture, then stop (complete()); 0: no limit.
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

    /// Starts capturing @p interface (an input consumer at kPriority and an output observer).
    /// @return 0, or EBUSY when already attached. Call on the interface's thread, or before it runs.
    int attach(NetworkInterface& interface);
    /// Stops capturing the interface it was attached to. Same thread rule as attach.
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

    /// Frames queued for the file.
    std::uint64_t captured() const { return captured_.load(std::memory_order_relaxed); }
    /// Frames written to the file.
    std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
    /// Frames lost because the ring was full.
    std::uint64_t drops() const { return drops_.load(std::memory_order_relaxed); }
    /// Frames the filter rejected.
    std::uint64_t filtered() const { return filtered_.load(std::memory_order_relaxed); }
    /// True once Options::count frames were captured and written: the capture is over.
    bool complete() const;
    /// The first error the writer returned (0: none): the file or the stream is gone.
    int writeError() const;

    // InputConsumer: looks at the burst, takes nothing.
    void consumeInput(NetworkInterface& interface, unsigned queue, Netbuf** packets, unsigned count) override;
    // OutputObserver
    void observeOutput(NetworkInterface& interface, Netbuf* const* packets, unsigned count) override;

private:
    struct Filter;
    explicit CaptureTap(const Options& options);
    void capture(Netbuf* const* packets, unsigned count, CaptureDirection direction);
    void writerLoop();
    unsigned drain();
    std::unique_ptr<Filter> compile(std::string_view expression, std::string* message) const;

    Options options_;
    CaptureTapRing rings_[2];  // by CaptureDirection: one producer each
    std::unique_ptr<CaptureWriter> writer_;
    std::uint64_t started_ = 0;
    NetworkInterface* interface_ = nullptr;

    // The filter in use; a replaced one is freed once no burst can still be using it (busy_ odd
    // means the data path is inside a burst; setFilter waits for it to move on).
    std::atomic<Filter*> filter_{nullptr};
    std::atomic<std::uint64_t> busy_{0};
    mutable std::mutex filterLock_;  // serialises setFilter callers, never taken by the data path
    std::atomic<bool> receive_;
    std::atomic<bool> transmit_;

    std::atomic<std::uint64_t> captured_{0};
    std::atomic<std::uint64_t> written_{0};
    std::atomic<std::uint64_t> drops_{0};
    std::atomic<std::uint64_t> filtered_{0};

    mutable std::mutex writerLock_;  // writer thread <-> flush / stop / writeError only
    std::condition_variable writerWake_;
    std::condition_variable flushed_;
    bool stop_ = false;
    std::uint64_t flushWanted_ = 0;
    std::uint64_t flushedUpTo_ = 0;
    int writeError_ = 0;
    std::thread writerThread_;
};

}  // namespace nexnet
