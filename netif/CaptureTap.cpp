#include "netif/CaptureTap.h"

#include "drivers/pcap/PcapDumpFile.h"
#include "netbuf/Netbuf.h"
#include "netif/NetworkInterface.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>

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

constexpr unsigned kInbound = static_cast<unsigned>(CaptureDirection::inbound);
constexpr unsigned kOutbound = static_cast<unsigned>(CaptureDirection::outbound);

}  // namespace

/// A compiled BPF program and the expression it came from.
struct CaptureTap::Filter {
    bpf_program program{};
    std::string expression;
    ~Filter() { pcap_freecode(&program); }
};

CaptureTap::CaptureTap(const Options& options)
    : options_(options), rings_{CaptureTapRing(options.queueBytes), CaptureTapRing(options.queueBytes)},
      receive_(options.receive), transmit_(options.transmit) {}

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
    if (tap->rings_[0].largestRecord() < options.snaplen) {
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
    if (interface_ != nullptr) return EBUSY;
    interface_ = &interface;
    interface.addInputConsumer(this, kPriority);
    interface.addOutputObserver(this);
    return 0;
}

void CaptureTap::detach() {
    if (interface_ == nullptr) return;
    interface_->removeInputConsumer(this);
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
    Filter* old = filter_.exchange(fresh.release());
    // A burst that loaded the old filter began before the exchange and is still inside (busy_
    // odd); once busy_ moves on, no burst can hold it.
    std::uint64_t busy = busy_.load();
    if (busy & 1) {
        while (busy_.load() == busy) std::this_thread::yield();
    }
    delete old;
    return 0;
}

std::string CaptureTap::filter() const {
    std::lock_guard<std::mutex> lock(filterLock_);
    return filter_.load()->expression;
}

void CaptureTap::consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) {
    if (receive_.load(std::memory_order_relaxed)) capture(packets, count, CaptureDirection::inbound);
}

void CaptureTap::observeOutput(NetworkInterface&, Netbuf* const* packets, unsigned count) {
    if (transmit_.load(std::memory_order_relaxed)) capture(packets, count, CaptureDirection::outbound);
}

void CaptureTap::capture(Netbuf* const* packets, unsigned count, CaptureDirection direction) {
    CaptureTapRing& ring = rings_[static_cast<unsigned>(direction)];
    // Options::count: one relaxed load per burst; the last burst may not take all of its frames.
    std::uint64_t room = UINT64_MAX;
    if (options_.count != 0) {
        std::uint64_t done = captured_.load(std::memory_order_relaxed);
        if (done >= options_.count) return;
        room = options_.count - done;
    }
    busy_.fetch_add(1);  // odd: inside a burst (see setFilter)
    const Filter* filter = filter_.load();
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
    busy_.fetch_add(1);
    if (rejected != 0) filtered_.fetch_add(rejected, std::memory_order_relaxed);
    if (lost != 0) drops_.fetch_add(lost, std::memory_order_relaxed);
    // Release: flush() reading this count also sees the records in the ring.
    if (queued != 0) captured_.fetch_add(queued, std::memory_order_release);
}

bool CaptureTap::complete() const {
    return options_.count != 0 && written() >= options_.count;
}

int CaptureTap::writeError() const {
    std::lock_guard<std::mutex> lock(writerLock_);
    return writeError_;
}

int CaptureTap::flush(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(writerLock_);
    const std::uint64_t target = captured_.load(std::memory_order_acquire);
    flushWanted_ = std::max(flushWanted_, target);
    writerWake_.notify_one();
    if (!flushed_.wait_for(lock, timeout, [&] { return flushedUpTo_ >= target || writeError_ != 0; })) return ETIMEDOUT;
    return writeError_;
}

// Writes what both rings hold, the older record first, so the two directions interleave in time.
// Writer thread only. @return the number of records written.
unsigned CaptureTap::drain() {
    unsigned drained = 0;
    CaptureTapRing::Record records[2];
    bool have[2] = {rings_[kInbound].pop(records[kInbound]), rings_[kOutbound].pop(records[kOutbound])};
    while (have[kInbound] || have[kOutbound]) {
        unsigned which = !have[kInbound] ? kOutbound
                         : !have[kOutbound] ? kInbound
                         : records[kOutbound].nanoseconds < records[kInbound].nanoseconds ? kOutbound : kInbound;
        const CaptureTapRing::Record& record = records[which];
        CaptureFrame frame{record.data, record.captured, record.length, record.nanoseconds,
                           static_cast<CaptureDirection>(which)};
        int error = writer_->write(frame);
        rings_[which].release();
        ++drained;
        if (error != 0) {
            std::lock_guard<std::mutex> lock(writerLock_);
            if (writeError_ == 0) writeError_ = error;
        }
        have[which] = rings_[which].pop(records[which]);
    }
    return drained;
}

void CaptureTap::writerLoop() {
    using Clock = std::chrono::steady_clock;
    auto lastFlush = Clock::now();
    std::uint64_t writtenAtFlush = 0;
    std::unique_lock<std::mutex> lock(writerLock_);
    for (;;) {
        lock.unlock();
        unsigned drained = drain();
        const std::uint64_t written = written_.fetch_add(drained, std::memory_order_relaxed) + drained;
        lock.lock();
        // Flush when asked, and every 100 ms while frames come, so the file can be read live.
        auto now = Clock::now();
        if (flushWanted_ > flushedUpTo_ || (written != writtenAtFlush && now - lastFlush > std::chrono::milliseconds(100))) {
            if (int error = writer_->flush(); error != 0 && writeError_ == 0) writeError_ = error;
            flushedUpTo_ = written;
            writtenAtFlush = written;
            lastFlush = now;
            flushed_.notify_all();
        }
        if (stop_ && drained == 0) break;
        if (drained == 0) writerWake_.wait_for(lock, std::chrono::milliseconds(2));
    }
    CaptureSummary summary{started_, PcapDumpFile::now(), captured_.load(), drops_.load(), filtered_.load()};
    if (int error = writer_->finish(summary); error != 0 && writeError_ == 0) writeError_ = error;
}

}  // namespace nexnet
