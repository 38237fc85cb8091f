#include "drivers/pcap/PcapDriver.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nexnet {

namespace {

std::uint64_t monotonicNow() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// The errno that explains why @p path cannot be read as a file, or 0 when it can.
int fileError(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    struct stat st {};
    int error = fstat(fd, &st) != 0 ? errno : (S_ISDIR(st.st_mode) ? EISDIR : 0);
    ::close(fd);
    return error;
}

}  // namespace

PcapDriver::PcapDriver(const Options& options) : options_(options) {
    setName("pcap");
    attachToNetworkWithAddress(options.address);
}

PcapDriver::~PcapDriver() {
    if (pending_ != nullptr) pending_->free();
    if (capture_ != nullptr) pcap_close(capture_);
    if (tx_ != nullptr) tx_->flush();
}

Result<std::unique_ptr<PcapDriver>> PcapDriver::create(const Options& options, std::string* message) {
    using R = Result<std::unique_ptr<PcapDriver>>;
    if (options.path.empty() || options.poolSize == 0) return R::failure(EINVAL);
    std::unique_ptr<PcapDriver> driver(new PcapDriver(options));
    if (int error = driver->openCapture(message)) return R::failure(error);
    if (!options.txPath.empty()) {
        std::string why;
        auto tx = PcapDumpFile::open(options.txPath, 65535, &why);
        if (!tx) {
            if (message != nullptr) *message = options.txPath + ": cannot write: " + why;
            return R::failure(tx.error());
        }
        driver->tx_ = std::move(tx.value());
    }
    NetbufPool::Options poolOptions;
    poolOptions.count = options.poolSize;
    poolOptions.name = "nexnet-pcap";
    auto pool = NetbufPool::create(poolOptions);
    if (!pool) return R::failure(pool.error());
    driver->dataRoom_ = poolOptions.dataRoom;
    driver->setPool(std::shared_ptr<NetbufPool>(std::move(pool.value())));
    driver->setLinkStatus(LinkStatus::down);
    return R(std::move(driver));
}

int PcapDriver::openCapture(std::string* message) {
    if (capture_ != nullptr) pcap_close(capture_);
    capture_ = nullptr;
    if (int error = fileError(options_.path)) {
        if (message != nullptr) *message = options_.path + ": " + std::strerror(error);
        return error;
    }
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    // libpcap reads each record with two freads; a 1 MiB stdio buffer makes that one read(2)
    // per MiB instead of one per 4 KiB.
    FILE* file = std::fopen(options_.path.c_str(), "rb");
    if (file == nullptr) {
        int error = errno;
        if (message != nullptr) *message = options_.path + ": " + std::strerror(error);
        return error;
    }
    if (readBuffer_ == nullptr) readBuffer_.reset(new char[kReadBuffer]);
    std::setvbuf(file, readBuffer_.get(), _IOFBF, kReadBuffer);
    // Nanosecond precision whatever the file's: libpcap scales microsecond files up.
    capture_ = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (capture_ == nullptr) {
        std::fclose(file);  // pcap_fopen_offline leaves a file it refused to the caller
        if (message != nullptr) *message = options_.path + ": not a readable capture: " + errbuf;
        return EBADMSG;
    }
    if (pcap_datalink(capture_) != DLT_EN10MB) {
        if (message != nullptr)
            *message = options_.path + ": link type " + std::to_string(pcap_datalink(capture_)) +
                " is not Ethernet (DLT_EN10MB)";
        pcap_close(capture_);
        capture_ = nullptr;
        return EPROTONOSUPPORT;
    }
    return 0;
}

int PcapDriver::registerWith(DriverRegistry& registry) {
    return registry.registerDriver(
        "pcap", "pcap:FILE[,tx=OUT.pcap][,timing=original|fast][,loop=N][,partial=0|1][,mac=MAC][,pool=N]",
        "replays a pcap/pcapng file as received frames, writes transmitted frames to a pcap file",
        {"tx", "timing", "loop", "partial", "mac", "pool"}, [](const DriverUri& uri) {
            using R = Result<std::unique_ptr<IONetwork>>;
            Options options;
            options.path = uri.target;
            options.txPath = uri.option("tx").value_or("");
            std::string timing = uri.option("timing").value_or("fast");
            auto loop = uri.number("loop", 1);
            auto pool = uri.number("pool", 8192, UINT32_MAX - 1, 1);
            auto partial = uri.flag("partial", false);
            if (!loop) return R::failure(loop);
            if (!pool) return R::failure(pool);
            if (!partial) return R::failure(partial);
            if (timing != "fast" && timing != "original")
                return R::failure(EINVAL, "option timing=" + timing + ": fast or original");
            options.timing = timing == "original" ? Timing::original : Timing::fast;
            options.loops = loop.value();
            options.partial = partial.value();
            options.poolSize = static_cast<std::uint32_t>(pool.value());
            if (auto mac = uri.option("mac")) {
                auto address = EthernetAddress::parse(*mac);
                if (!address) return R::failure(EINVAL, "option mac=" + *mac + ": not an Ethernet address");
                options.address = *address;
            }
            std::string message;
            auto driver = create(options, &message);
            if (!driver) return R::failure(driver.error(), message);
            return R(std::unique_ptr<IONetwork>(std::move(driver.value())));
        });
}

int PcapDriver::resetAndEnable(bool enable) {
    setRunning(enable);
    setLinkStatus(enable && !finished_ ? LinkStatus::up : LinkStatus::down);
    if (!enable && tx_ != nullptr) tx_->flush();
    return 0;
}

unsigned PcapDriver::maxMtu() const { return dataRoom_ - kHeaderSize; }

void PcapDriver::finish(const char* error) {
    finished_ = true;
    if (error != nullptr) {
        readError_ = options_.path + ": " + error;
        report(QueueEvent::receiveError, 0);
    }
    setLinkStatus(LinkStatus::down);
}

// The next record of the file, its timestamp in @p stamp; at the end of the file, the next loop.
bool PcapDriver::nextRecord(const std::uint8_t*& data, std::uint32_t& captured, std::uint32_t& length,
                            std::uint64_t& stamp) {
    for (bool reopened = false;; reopened = true) {
        pcap_pkthdr* header = nullptr;
        const u_char* bytes = nullptr;
        int result = pcap_next_ex(capture_, &header, &bytes);
        if (result == 1) {
            data = bytes;
            captured = header->caplen;
            length = header->len;
            stamp = static_cast<std::uint64_t>(header->ts.tv_sec) * 1000000000u +
                static_cast<std::uint64_t>(header->ts.tv_usec);
            return true;
        }
        if (result != PCAP_ERROR_BREAK) {  // a cut or corrupt record: libpcap says which
            finish(pcap_geterr(capture_));
            return false;
        }
        ++loopsPlayed_;
        // An empty file would loop forever without a frame: stop after one empty play.
        if (reopened || (options_.loops != 0 && loopsPlayed_ >= options_.loops)) {
            finish(nullptr);
            return false;
        }
        loopOffset_ += lastStamp_ - fileStart_;
        std::string message;
        if (openCapture(&message) != 0) {
            finish(message.c_str());
            return false;
        }
    }
}

// Original timing: true when a frame @p offset nanoseconds into the replay may go up now.
bool PcapDriver::due(std::uint64_t offset) {
    std::uint64_t now = monotonicNow();
    if (!clockStarted_) {
        wallStart_ = now;
        clockStarted_ = true;
    }
    return now - wallStart_ >= offset;
}

bool PcapDriver::fill(Netbuf* netbuf, const std::uint8_t* data, std::uint32_t captured, std::uint32_t length,
                      std::uint64_t stamp) {
    if (captured < length && !options_.partial) {  // only part of the frame is in the file
        ++partialDrops_;
        report(QueueEvent::receiveDrop, 0);
        return false;
    }
    if (captured > dataRoom_ || netbuf->setSize(captured) != 0) {  // never cut a frame silently
        ++oversizeDrops_;
        report(QueueEvent::receiveDrop, 0);
        return false;
    }
    std::memcpy(netbuf->data(), data, captured);
    netbuf->setTimestamp(stamp);
    return true;
}

unsigned PcapDriver::receiveBurst(unsigned queue, Netbuf** out, unsigned max) {
    (void)queue;  // one queue
    if (!isRunning() || max == 0 || (finished_ && pending_ == nullptr)) return 0;
    unsigned n = 0;
    if (pending_ != nullptr) {
        if (!due(pendingOffset_)) return 0;
        out[n++] = pending_;
        pending_ = nullptr;
    }
    // Buffers first, in bulk; without any the file simply waits (nothing is lost).
    unsigned want = max - n;
    if (pool()->allocateBulk(out + n, want) != 0) {
        want = 0;
        while (want < max - n && (out[n + want] = pool()->allocate()) != nullptr) ++want;
    }
    unsigned filled = n;
    const unsigned end = n + want;
    unsigned unused = end;  // first buffer left over, freed below
    const bool timed = options_.timing == Timing::original;
    while (filled < end && !finished_) {
        const std::uint8_t* data = nullptr;
        std::uint32_t captured = 0;
        std::uint32_t length = 0;
        std::uint64_t stamp = 0;
        if (!nextRecord(data, captured, length, stamp)) break;
        if (!fill(out[filled], data, captured, length, stamp)) continue;  // the buffer is reused
        if (timed) {
            std::uint64_t offset = replayOffset(stamp);
            if (!due(offset)) {  // too early: keep it for a later call
                pending_ = out[filled];
                pendingOffset_ = offset;
                unused = filled + 1;
                break;
            }
        }
        ++filled;
    }
    if (unused == end) unused = filled;
    if (unused < end) pool()->freeBulk(out + unused, end - unused);
    return filled;
}

// Original timing: nanoseconds from the start of the replay at which the record stamped
// @p stamp is due (later loops continue the timeline of the earlier ones).
std::uint64_t PcapDriver::replayOffset(std::uint64_t stamp) {
    if (!timelineStarted_) {
        fileStart_ = stamp;
        timelineStarted_ = true;
    }
    lastStamp_ = std::max(lastStamp_, stamp);
    return stamp >= fileStart_ ? stamp - fileStart_ + loopOffset_ : loopOffset_;
}

unsigned PcapDriver::transmitBurst(unsigned queue, Netbuf** packets, unsigned count) {
    (void)queue;
    if (tx_ != nullptr) {
        std::uint64_t stamp = PcapDumpFile::now();  // one clock read per burst
        for (unsigned i = 0; i < count; ++i) tx_->write(packets[i]->data(), packets[i]->size(), stamp);
    }
    NetbufPool::freeToOwners(packets, count);
    return count;
}

}  // namespace nexnet
