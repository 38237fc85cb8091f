#include "drivers/pcap/PcapDriver.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace nexnet {

namespace {

std::uint64_t monotonicNow() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

constexpr std::uint64_t kPoolRetry = 1000000;  // ns: an empty pool is looked at again after 1 ms

// What a file that is not a capture file is, for the message refusing it.
const char* kindOf(mode_t mode) {
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

// Opens @p path for reading without ever blocking (O_NONBLOCK: a FIFO without a writer would wait
// in open), and only when it is a regular file. @return the descriptor, or -errno with @p message.
int openRegularFile(const std::string& path, std::string* message) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st {};
    int error = fd < 0 ? errno : (fstat(fd, &st) != 0 ? errno : 0);
    if (error == 0 && S_ISDIR(st.st_mode)) error = EISDIR;
    if (error != 0) {
        if (message != nullptr) *message = path + ": " + std::strerror(error);
    } else if (!S_ISREG(st.st_mode)) {
        error = EINVAL;
        if (message != nullptr)
            *message = path + " is " + kindOf(st.st_mode) +
                ": pcap: replays capture files (regular files; pcap-live:IFNAME takes live traffic)";
    }
    if (error != 0) {
        if (fd >= 0) ::close(fd);
        return -error;
    }
    return fd;
}

// True when @p a and @p b name the same existing file (the same inode, whatever the path).
bool sameFile(const std::string& a, const std::string& b) {
    struct stat first {
    }, second{};
    return stat(a.c_str(), &first) == 0 && stat(b.c_str(), &second) == 0 && first.st_dev == second.st_dev &&
        first.st_ino == second.st_ino;
}

}  // namespace

PcapDriver::PcapDriver(const Options& options) : options_(options) {
    setName("pcap");
    attachToNetworkWithAddress(options.address);
}

PcapDriver::~PcapDriver() {
    if (pending_ != nullptr) pending_->free();
    if (capture_ != nullptr) pcap_close(capture_);
    if (timer_ >= 0) ::close(timer_);
}

Result<std::unique_ptr<PcapDriver>> PcapDriver::create(const Options& options, std::string* message) {
    using R = Result<std::unique_ptr<PcapDriver>>;
    if (options.path.empty() || options.poolSize == 0) return R::failure(EINVAL);
    std::unique_ptr<PcapDriver> driver(new PcapDriver(options));
    if (int error = driver->openCapture(message)) return R::failure(error);
    if (!options.txPath.empty()) {
        // Checked before the tx file is opened: opening it truncates it.
        if (sameFile(options.path, options.txPath)) {
            if (message != nullptr)
                *message = "tx=" + options.txPath + " is the capture being read (" + options.path +
                    "): the replies would replace it; write them to another file";
            return R::failure(EINVAL);
        }
        std::string why;
        auto tx = PcapDumpFile::open(options.txPath, 65535, &why);
        if (!tx) {
            if (message != nullptr) *message = options.txPath + ": cannot write: " + why;
            return R::failure(tx.error());
        }
        driver->tx_ = std::move(tx.value());
        driver->tx_->setSizeLimit(options.txLimit);
    }
    driver->timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (driver->timer_ < 0) return R::failure(errno);
    NetbufPool::Options poolOptions;
    poolOptions.count = options.poolSize;
    poolOptions.name = "nexnet-pcap";
    auto pool = NetbufPool::create(poolOptions);
    if (!pool) {
        if (message != nullptr) *message = pool.describe();
        return R::failure(pool.error());
    }
    driver->dataRoom_ = poolOptions.dataRoom;
    driver->setPool(std::shared_ptr<NetbufPool>(std::move(pool.value())));
    driver->setLinkStatus(LinkStatus::down);
    return R(std::move(driver));
}

int PcapDriver::openCapture(std::string* message) {
    if (capture_ != nullptr) pcap_close(capture_);
    capture_ = nullptr;
    int fd = openRegularFile(options_.path, message);
    if (fd < 0) return -fd;
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    // libpcap reads each record with two freads; a 1 MiB stdio buffer makes that one read(2)
    // per MiB instead of one per 4 KiB.
    FILE* file = fdopen(fd, "rb");
    if (file == nullptr) {
        int error = errno;
        ::close(fd);
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
        "pcap",
        "pcap:FILE[,tx=OUT.pcap][,txlimit=BYTES][,timing=original|fast][,loop=N][,partial=0|1][,mac=MAC][,pool=N]",
        "replays a pcap/pcapng file as received frames, writes transmitted frames to a pcap file",
        {"tx", "txlimit", "timing", "loop", "partial", "mac", "pool"}, [](const DriverUri& uri) {
            using R = Result<std::unique_ptr<IONetwork>>;
            Options options;
            options.path = uri.target;
            options.txPath = uri.option("tx").value_or("");
            std::string timing = uri.option("timing").value_or("fast");
            auto loop = uri.number("loop", 1);
            auto txLimit = uri.number("txlimit", kDefaultTransmitLimit);
            auto pool = uri.poolSize(8192, kBurst);
            auto partial = uri.flag("partial", false);
            if (!loop) return R::failure(loop);
            if (!txLimit) return R::failure(txLimit);
            if (!pool) return R::failure(pool);
            if (!partial) return R::failure(partial);
            if (timing != "fast" && timing != "original")
                return R::failure(EINVAL, "option timing=" + timing + ": fast or original");
            options.timing = timing == "original" ? Timing::original : Timing::fast;
            options.loops = loop.value();
            options.partial = partial.value();
            options.poolSize = pool.value();
            options.txLimit = txLimit.value();
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
    armTimer(enable && !finished_ ? 0 : UINT64_MAX);  // up: frames can be read now
    return 0;
}

unsigned PcapDriver::maxMtu() const { return dataRoom_ - kHeaderSize; }

int PcapDriver::interruptEventFd(unsigned queue) const { return queue == 0 ? timer_ : -1; }

void PcapDriver::interruptOccurred(unsigned queue) {
    std::uint64_t expirations = 0;
    if (::read(timer_, &expirations, sizeof expirations) < 0) {
        // EAGAIN: already acknowledged (the loop called us for a posted turn); nothing to do.
    }
    IONetwork::interruptOccurred(queue);
}

// Makes the timer fire at @p dueNanoseconds on CLOCK_MONOTONIC (0: at once), or never (UINT64_MAX).
void PcapDriver::armTimer(std::uint64_t dueNanoseconds) {
    itimerspec when{};
    int flags = 0;
    if (dueNanoseconds == 0) {
        when.it_value.tv_nsec = 1;  // relative 1 ns: a zero it_value would disarm it
    } else if (dueNanoseconds != UINT64_MAX) {
        when.it_value.tv_sec = static_cast<time_t>(dueNanoseconds / 1000000000u);
        when.it_value.tv_nsec = static_cast<long>(dueNanoseconds % 1000000000u);
        flags = TFD_TIMER_ABSTIME;
    }
    timerfd_settime(timer_, flags, &when, nullptr);
}

// receiveBurst returned nothing: say when to look again. A frame waiting for its time wakes the
// loop at that time, an empty pool a millisecond later; an ended replay never.
void PcapDriver::armTimerAfterEmptyReceive() {
    if (!isRunning() || (finished_ && pending_ == nullptr)) return;
    armTimer(pending_ != nullptr ? wallStart_ + pendingOffset_ : monotonicNow() + kPoolRetry);
}

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
        if (!due(pendingOffset_)) {
            armTimerAfterEmptyReceive();
            return 0;
        }
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
    if (filled == 0) armTimerAfterEmptyReceive();
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
    if (tx_ == nullptr) {
        NetbufPool::freeToOwners(packets, count);
        return count;
    }
    std::uint64_t stamp = PcapDumpFile::now();  // one clock read per burst
    unsigned stored = 0;
    while (stored < count && tx_->write(packets[stored]->data(), packets[stored]->size(), stamp)) ++stored;
    // The file is full (txlimit: a drop, for lack of room) or broken (an error): none of the rest goes in.
    if (stored < count)
        reportTransmitFailure(queue, packets + stored, count - stored,
                              tx_->error() == 0 ? QueueEvent::transmitDrop : QueueEvent::transmitError);
    // One write per burst, checked: what the file did not take is not counted as sent.
    if (stored != 0 && tx_->flush() != 0) reportTransmitFailure(queue, packets, stored, QueueEvent::transmitError);
    if ((stored < count || tx_->error() != 0) && faultDescription().empty()) {
        if (tx_->error() != 0)
            setFaultDescription(tx_->path() + ": cannot write: " + std::strerror(tx_->error()) +
                                ": transmitted frames are lost");
        else
            setFaultDescription(tx_->path() + " reached txlimit=" + std::to_string(tx_->sizeLimit()) +
                                " bytes: transmitted frames are dropped from now on (raise txlimit to keep more)");
    }
    NetbufPool::freeToOwners(packets, count);
    return count;
}

void PcapDriver::reportTransmitFailure(unsigned queue, Netbuf** packets, unsigned count, QueueEvent event) {
    for (unsigned i = 0; i < count; ++i) report(event, queue, *packets[i]);
}

}  // namespace nexnet
