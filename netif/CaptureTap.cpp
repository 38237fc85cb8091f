#include "netif/CaptureTap.h"

#include "drivers/pcap/PcapDumpFile.h"
#include "netbuf/Netbuf.h"
#include "netif/NetworkInterface.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <new>

namespace nexnet {

namespace {

// The classic pcap file of Options::path: no directions in that format.
class PcapFileWriter final : public CaptureWriter {
public:
    explicit PcapFileWriter(std::unique_ptr<PcapDumpFile> file) : file_(std::move(file)) {}
    int write(const CaptureFrame& frame) override {
        file_->write(frame.data, frame.captured, frame.length, frame.nanoseconds);
        return 0;
    }
    int flush() override { return file_->flush(); }

private:
    std::unique_ptr<PcapDumpFile> file_;
};

// Adds @p n to a counter only its thread writes: a load and a store, no locked instruction.
void addOwn(std::atomic<std::uint64_t>& counter, std::uint64_t n, std::memory_order order = std::memory_order_relaxed) {
    if (n != 0) counter.store(counter.load(std::memory_order_relaxed) + n, order);
}

}  // namespace

/// A compiled BPF program and the expression it came from.
struct CaptureTap::Filter {
    bpf_program program{};
    std::string expression;
    ~Filter() { pcap_freecode(&program); }
};

CaptureTap::CaptureTap(const Options& options)
    : options_(options), receive_(options.receive), transmit_(options.transmit) {
    queues_[0] = std::make_unique<Queue>(options.queueBytes);
    rings_.store(1, std::memory_order_release);
}

Result<std::unique_ptr<CaptureTap>> CaptureTap::create(const Options& options, std::string* message) {
    using R = Result<std::unique_ptr<CaptureTap>>;
    if (options.snaplen == 0) return R::failure(EINVAL);
    auto file = PcapDumpFile::open(options.path, options.snaplen, message);
    if (!file) return R::failure(file.error());
    return create(options, std::make_unique<PcapFileWriter>(std::move(file.value())), message);
}

Result<std::unique_ptr<CaptureTap>> CaptureTap::create(const Options& options, std::unique_ptr<CaptureWriter> writer,
                                                       std::string* message) {
    using R = Result<std::unique_ptr<CaptureTap>>;
    if (options.snaplen == 0 || writer == nullptr) return R::failure(EINVAL);
    std::unique_ptr<CaptureTap> tap(new CaptureTap(options));
    if (tap->queues_[0]->rings[0].largestRecord() < options.snaplen) {
        if (message != nullptr) *message = "queueBytes must hold at least two frames of snaplen bytes";
        return R::failure(EINVAL);
    }
    auto filter = tap->compile(options.filter, message);
    if (filter == nullptr) return R::failure(EINVAL);
    tap->filter_.store(filter.release());
    tap->writer_ = std::move(writer);
    tap->started_ = PcapDumpFile::now();
    tap->writerThread_ = std::thread([t = tap.get()] { t->writerLoop(); });
    return R(std::move(tap));
}

CaptureTap::~CaptureTap() {
    detach();
    if (writerThread_.joinable()) {
        {
            std::lock_guard<std::mutex> lock(writerLock_);
            stop_ = true;
        }
        writerWake_.notify_one();
        writerThread_.join();
    }
    delete filter_.load();
}

int CaptureTap::attach(NetworkInterface& interface) {
    std::lock_guard<std::mutex> lock(filterLock_);
    if (interface_ != nullptr) return EBUSY;
    // A ring per queue before any queue thread can produce into it: the consumer is added with
    // the interface's queues stopped (a control call), which publishes the rings to them.
    unsigned queues = std::min(interface.driver().queueCount(), kMaxQueues);
    for (unsigned q = rings(); q < queues; ++q) {
        queues_[q].reset(new (std::nothrow) Queue(options_.queueBytes));
        if (!queues_[q]) return ENOMEM;
        rings_.store(q + 1, std::memory_order_release);
    }
    interface_ = &interface;
    interface.addInputConsumer(this, kPriority);
    interface.addOutputObserver(this);
    return 0;
}

void CaptureTap::detach() {
    std::lock_guard<std::mutex> lock(filterLock_);
    if (interface_ == nullptr) return;
    interface_->removeInputConsumer(this);  // once they return, no queue thread is inside
    interface_->removeOutputObserver(this);
    interface_ = nullptr;
}

std::unique_ptr<CaptureTap::Filter> CaptureTap::compile(std::string_view expression, std::string* message) const {
    auto filter = std::make_unique<Filter>();
    filter->expression = std::string(expression);
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, static_cast<int>(options_.snaplen));
    if (dead == nullptr) return nullptr;
    int result = pcap_compile(dead, &filter->program, filter->expression.c_str(), 1, PCAP_NETMASK_UNKNOWN);
    if (result != 0 && message != nullptr) *message = "filter \"" + filter->expression + "\": " + pcap_geterr(dead);
    pcap_close(dead);
    return result == 0 ? std::move(filter) : nullptr;
}

int CaptureTap::setFilter(std::string_view expression, std::string* message) {
    std::lock_guard<std::mutex> lock(filterLock_);
    auto fresh = compile(expression, message);
    if (fresh == nullptr) return EINVAL;
    std::unique_ptr<Filter> old(filter_.exchange(fresh.release()));
    // Bursts run only inside the interface's queue gate: once it has been closed, every burst
    // that could have loaded the old filter has ended (no counter on the data path for this).
    if (interface_ != nullptr) QueueGate::Control quiesce(interface_->driver().queueGate());
    return 0;  // the old filter goes here
}

std::string CaptureTap::filter() const {
    std::lock_guard<std::mutex> lock(filterLock_);
    return filter_.load()->expression;
}

void CaptureTap::consumeInput(NetworkInterface&, unsigned queue, Netbuf** packets, unsigned count) {
    if (queue < rings() && receive_.load(std::memory_order_relaxed))
        capture(*queues_[queue], packets, count, CaptureDirection::inbound);
}

void CaptureTap::observeOutput(NetworkInterface&, unsigned queue, Netbuf* const* packets, unsigned count) {
    if (queue < rings() && transmit_.load(std::memory_order_relaxed))
        capture(*queues_[queue], packets, count, CaptureDirection::outbound);
}

void CaptureTap::capture(Queue& queue, Netbuf* const* packets, unsigned count, CaptureDirection direction) {
    CaptureTapRing& ring = queue.rings[static_cast<unsigned>(direction)];
    // Options::count: the queues' counts summed once per burst, only when a count was asked for.
    // Queues running at once may together queue a few frames more; the writer stops at the count.
    std::uint64_t room = UINT64_MAX;
    if (options_.count != 0) {
        std::uint64_t done = captured();
        if (done >= options_.count) return;
        room = options_.count - done;
    }
    const Filter* filter = filter_.load(std::memory_order_acquire);
    std::uint64_t now = 0;
    std::uint64_t queued = 0, lost = 0, rejected = 0;
    for (unsigned i = 0; i < count && queued < room; ++i) {
        const Netbuf* packet = packets[i];
        if (packet == nullptr) continue;
        pcap_pkthdr header{};
        header.len = packet->size();
        header.caplen = std::min(header.len, options_.snaplen);
        if (pcap_offline_filter(&filter->program, &header, packet->data()) == 0) {
            ++rejected;
            continue;
        }
        std::uint64_t stamp = direction == CaptureDirection::inbound ? packet->timestamp() : 0;
        if (stamp == 0) stamp = now != 0 ? now : (now = PcapDumpFile::now());  // one clock read per burst
        if (ring.push(packet->data(), header.caplen, header.len, stamp)) ++queued;
        else ++lost;
    }
    addOwn(queue.filtered, rejected);
    addOwn(queue.drops, lost);
    // Release: flush() reading this count also sees the records in the ring.
    addOwn(queue.captured, queued, std::memory_order_release);
}

bool CaptureTap::complete() const { return options_.count != 0 && written() >= options_.count; }

int CaptureTap::writeError() const {
    std::lock_guard<std::mutex> lock(writerLock_);
    return writeError_;
}

std::uint64_t CaptureTap::sumOf(Counter Queue::*counter) const {
    std::uint64_t total = 0;
    for (unsigned q = 0, n = rings(); q < n; ++q) total += ((*queues_[q]).*counter).load(std::memory_order_relaxed);
    return total;
}

int CaptureTap::flush(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(writerLock_);
    const unsigned n = rings();
    std::array<std::uint64_t, kMaxQueues> target{};
    for (unsigned q = 0; q < n; ++q) target[q] = queues_[q]->captured.load(std::memory_order_acquire);
    ++flushRequests_;
    writerWake_.notify_one();
    bool done = flushed_.wait_for(lock, timeout, [&] {
        if (writeError_ != 0) return true;
        for (unsigned q = 0; q < n; ++q)
            if (queues_[q]->flushedUpTo < target[q]) return false;
        return true;
    });
    --flushRequests_;
    if (!done) return ETIMEDOUT;
    return writeError_;
}

// Writes the oldest record at the head of any ring: each ring is in time order (one producer),
// so the file is too, but for frames still on their way into a ring. Records past
// Options::count (queues running at once may queue a few more) are released unwritten.
bool CaptureTap::writeOldest() {
    Queue* oldest = nullptr;
    unsigned oldestDirection = 0;
    CaptureTapRing::Record record, candidate;
    for (unsigned q = 0, n = rings(); q < n; ++q) {
        Queue& queue = *queues_[q];
        for (unsigned d = 0; d < 2; ++d) {
            if (!queue.rings[d].pop(candidate)) continue;  // pop without release: a look at the head
            if (oldest == nullptr || candidate.nanoseconds < record.nanoseconds) {
                oldest = &queue;
                oldestDirection = d;
                record = candidate;
            }
        }
    }
    if (oldest == nullptr) return false;
    if (options_.count == 0 || written() < options_.count) {
        CaptureFrame frame{record.data, record.captured, record.length, record.nanoseconds,
                           static_cast<CaptureDirection>(oldestDirection)};
        int error = writer_->write(frame);
        if (error != 0) {
            std::lock_guard<std::mutex> lock(writerLock_);
            if (writeError_ == 0) writeError_ = error;
        } else {
            addOwn(oldest->written, 1);
        }
    }
    oldest->rings[oldestDirection].release();
    addOwn(oldest->taken, 1);
    return true;
}

void CaptureTap::writerLoop() {
    using Clock = std::chrono::steady_clock;
    auto lastFlush = Clock::now();
    bool unflushed = false;
    std::unique_lock<std::mutex> lock(writerLock_);
    for (;;) {
        lock.unlock();
        unsigned drained = 0;
        while (writeOldest()) ++drained;
        unflushed = unflushed || drained != 0;
        lock.lock();
        // Flush when asked, and every 100 ms while frames come, so the file can be read live.
        auto now = Clock::now();
        if (flushRequests_ != 0 || (unflushed && now - lastFlush > std::chrono::milliseconds(100))) {
            if (int error = writer_->flush(); error != 0 && writeError_ == 0) writeError_ = error;
            for (unsigned q = 0, n = rings(); q < n; ++q)
                queues_[q]->flushedUpTo = queues_[q]->taken.load(std::memory_order_relaxed);
            unflushed = false;
            lastFlush = now;
            flushed_.notify_all();
        }
        if (stop_ && drained == 0) break;
        if (drained == 0) writerWake_.wait_for(lock, std::chrono::milliseconds(2));
    }
    CaptureSummary summary{started_, PcapDumpFile::now(), captured(), drops(), filtered()};
    if (int error = writer_->finish(summary); error != 0 && writeError_ == 0) writeError_ = error;
}

}  // namespace nexnet
