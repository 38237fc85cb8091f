#include "drivers/pcap/PcapDumpFile.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

namespace nexnet {

namespace {
constexpr std::uint64_t kFileHeader = 24;    // struct pcap_file_header
constexpr std::uint64_t kRecordHeader = 16;  // struct pcap_sf_pkthdr: seconds, fraction, caplen, len
}  // namespace

Result<std::unique_ptr<PcapDumpFile>> PcapDumpFile::open(const std::string& path, std::uint32_t snaplen,
                                                         std::string* message) {
    using R = Result<std::unique_ptr<PcapDumpFile>>;
    if (snaplen == 0) return R::failure(EINVAL);
    std::unique_ptr<PcapDumpFile> file(new PcapDumpFile());
    file->snaplen_ = snaplen;
    file->path_ = path;
    // A "dead" handle only describes the file: link type, snaplen and timestamp precision.
    file->dead_ =
        pcap_open_dead_with_tstamp_precision(DLT_EN10MB, static_cast<int>(snaplen), PCAP_TSTAMP_PRECISION_NANO);
    if (file->dead_ == nullptr) return R::failure(ENOMEM);
    // O_NONBLOCK for the open only: a FIFO nobody reads fails with ENXIO instead of blocking here.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) {
        int error = errno;
        if (message != nullptr)
            *message = error == ENXIO ? std::string("a FIFO no process reads") : std::string(std::strerror(error));
        return R::failure(error);
    }
    int flags = fcntl(fd, F_GETFL);
    FILE* stream = flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 ? fdopen(fd, "wb") : nullptr;
    if (stream == nullptr) {
        int error = errno;
        ::close(fd);
        if (message != nullptr) *message = std::strerror(error);
        return R::failure(error);
    }
    file->dumper_ = pcap_dump_fopen(file->dead_, stream);
    if (file->dumper_ == nullptr) {
        std::fclose(stream);  // pcap_dump_fopen leaves a stream it refused to the caller
        if (message != nullptr) *message = pcap_geterr(file->dead_);
        return R::failure(EIO);
    }
    file->size_ = kFileHeader;
    return R(std::move(file));
}

PcapDumpFile::~PcapDumpFile() {
    if (dumper_ != nullptr) pcap_dump_close(dumper_);
    if (dead_ != nullptr) pcap_close(dead_);
}

bool PcapDumpFile::write(const std::uint8_t* frame, std::uint32_t length, std::uint64_t nanoseconds) {
    return write(frame, std::min(length, snaplen_), length, nanoseconds);
}

bool PcapDumpFile::write(const std::uint8_t* frame, std::uint32_t captured, std::uint32_t length,
                         std::uint64_t nanoseconds) {
    std::uint32_t stored = std::min(captured, snaplen_);
    if (error_ != 0 || size_ + kRecordHeader + stored > sizeLimit_) return false;
    pcap_pkthdr header{};
    // With nanosecond precision libpcap reads tv_usec as nanoseconds.
    header.ts.tv_sec = static_cast<time_t>(nanoseconds / 1000000000u);
    header.ts.tv_usec = static_cast<suseconds_t>(nanoseconds % 1000000000u);
    header.caplen = stored;
    header.len = length;
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &header, frame);
    size_ += kRecordHeader + stored;
    ++frames_;
    return true;
}

int PcapDumpFile::flush() {
    if (error_ != 0) return error_;
    // pcap_dump writes through stdio and says nothing: a write that failed while stdio emptied its
    // buffer in the middle of a burst shows in ferror, one that fails now in the flush's result.
    errno = 0;
    if (pcap_dump_flush(dumper_) != 0 || std::ferror(pcap_dump_file(dumper_)) != 0) error_ = errno != 0 ? errno : EIO;
    return error_;
}

std::uint64_t PcapDumpFile::now() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace nexnet
