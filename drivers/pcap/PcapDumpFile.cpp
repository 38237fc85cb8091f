#include "drivers/pcap/PcapDumpFile.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

namespace nexnet {

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
    errno = 0;
    file->dumper_ = pcap_dump_open(file->dead_, path.c_str());
    if (file->dumper_ == nullptr) {
        int error = errno != 0 ? errno : EIO;
        if (message != nullptr) *message = pcap_geterr(file->dead_);
        return R::failure(error);
    }
    return R(std::move(file));
}

PcapDumpFile::~PcapDumpFile() {
    if (dumper_ != nullptr) pcap_dump_close(dumper_);
    if (dead_ != nullptr) pcap_close(dead_);
}

void PcapDumpFile::write(const std::uint8_t* frame, std::uint32_t length, std::uint64_t nanoseconds) {
    write(frame, std::min(length, snaplen_), length, nanoseconds);
}

void PcapDumpFile::write(const std::uint8_t* frame, std::uint32_t captured, std::uint32_t length,
                         std::uint64_t nanoseconds) {
    pcap_pkthdr header{};
    // With nanosecond precision libpcap reads tv_usec as nanoseconds.
    header.ts.tv_sec = static_cast<time_t>(nanoseconds / 1000000000u);
    header.ts.tv_usec = static_cast<suseconds_t>(nanoseconds % 1000000000u);
    header.caplen = std::min(captured, snaplen_);
    header.len = length;
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &header, frame);
    ++frames_;
}

int PcapDumpFile::flush() { return pcap_dump_flush(dumper_) == 0 ? 0 : (errno != 0 ? errno : EIO); }

std::uint64_t PcapDumpFile::now() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace nexnet
