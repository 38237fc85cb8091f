#include "netif/PcapngWriter.h"

#include "netif/DescriptorWrite.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace nexnet {

namespace {
using namespace pcapng;
constexpr std::uint8_t kNanoseconds = 9;  // if_tsresol: 10^-9 s
constexpr std::size_t kBufferBytes = 64 * 1024;
}  // namespace

Result<std::unique_ptr<PcapngWriter>> PcapngWriter::open(int fd, const Options& options) {
    using R = Result<std::unique_ptr<PcapngWriter>>;
    if (fd < 0) return R::failure(EBADF, "no descriptor to write the capture to");
    std::unique_ptr<PcapngWriter> writer(new PcapngWriter(fd, options));
    writer->buffer_.reserve(kBufferBytes + 256);
    return writer;
}

PcapngWriter::~PcapngWriter() {
    (void)flush();
    ::close(fd_);
}

void PcapngWriter::put32(std::uint32_t value) { putBytes(&value, 4); }
void PcapngWriter::put16(std::uint16_t value) { putBytes(&value, 2); }

void PcapngWriter::putBytes(const void* data, std::size_t size) {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    buffer_.insert(buffer_.end(), bytes, bytes + size);
}

// An option: code, length, value padded to 32 bits (section 3.5).
void PcapngWriter::putOption(std::uint16_t code, const void* value, std::uint16_t length) {
    put16(code);
    put16(length);
    putBytes(value, length);
    buffer_.resize(buffer_.size() + (4 - length % 4) % 4, 0);
}

// A timestamp as the EPB stores it: the upper 32 bits, then the lower 32 (section 4.3).
void PcapngWriter::putTimestamp(std::uint64_t nanoseconds) {
    put32(static_cast<std::uint32_t>(nanoseconds >> 32));
    put32(static_cast<std::uint32_t>(nanoseconds));
}

void PcapngWriter::beginBlock(std::uint32_t type) {
    blockStart_ = buffer_.size();
    put32(type);
    put32(0);  // total length, written by endBlock
}

void PcapngWriter::endBlock() {
    put16(kEndOfOptions);
    put16(0);
    auto length = static_cast<std::uint32_t>(buffer_.size() - blockStart_ + 4);
    put32(length);
    std::memcpy(&buffer_[blockStart_ + 4], &length, 4);
}

void PcapngWriter::startIfNeeded() {
    if (started_) return;
    started_ = true;
    beginBlock(kSectionHeader);
    put32(kByteOrderMagic);
    put16(1);  // version 1.0
    put16(0);
    put32(0xffffffff);  // section length unknown (-1, 64 bits)
    put32(0xffffffff);
    static const char kApplication[] = "nexnet";
    putOption(kShbUserApplication, kApplication, sizeof kApplication - 1);
    endBlock();
    beginBlock(kInterfaceDescription);
    put16(kLinkTypeEthernet);
    put16(0);
    put32(options_.snaplen);
    const std::string& name = options_.interfaceName;
    if (!name.empty())
        putOption(kIfName, name.data(), static_cast<std::uint16_t>(std::min<std::size_t>(name.size(), 255)));
    const std::string& description = options_.interfaceDescription;
    if (!description.empty())
        putOption(kIfDescription, description.data(),
                  static_cast<std::uint16_t>(std::min<std::size_t>(description.size(), 1024)));
    putOption(kIfTimestampResolution, &kNanoseconds, 1);
    endBlock();
}

int PcapngWriter::write(const CaptureFrame& frame) {
    startIfNeeded();
    beginBlock(kEnhancedPacket);
    put32(0);  // interface 0
    putTimestamp(frame.nanoseconds);
    put32(frame.captured);
    put32(frame.length);
    putBytes(frame.data, frame.captured);
    buffer_.resize(buffer_.size() + (4 - frame.captured % 4) % 4, 0);
    std::uint32_t flags = frame.direction == CaptureDirection::inbound ? 1 : 2;  // epb_flags bits 0-1
    putOption(kEpbFlags, &flags, 4);
    endBlock();
    ++frames_;
    return buffer_.size() >= kBufferBytes ? flush() : error_;
}

int PcapngWriter::finish(const CaptureSummary& summary) {
    startIfNeeded();
    beginBlock(kInterfaceStatistics);
    put32(0);
    putTimestamp(summary.endNanoseconds);
    std::uint32_t start[2] = {static_cast<std::uint32_t>(summary.startNanoseconds >> 32),
                              static_cast<std::uint32_t>(summary.startNanoseconds)};
    std::uint32_t end[2] = {static_cast<std::uint32_t>(summary.endNanoseconds >> 32),
                            static_cast<std::uint32_t>(summary.endNanoseconds)};
    putOption(kIsbStartTime, start, 8);
    putOption(kIsbEndTime, end, 8);
    std::uint64_t received = summary.accepted + summary.dropped;
    putOption(kIsbInterfaceReceived, &received, 8);
    putOption(kIsbInterfaceDropped, &summary.dropped, 8);
    putOption(kIsbFilterAccepted, &received, 8);
    endBlock();
    return flush();
}

int PcapngWriter::flush() {
    if (error_ == 0 && !buffer_.empty())
        error_ = writeAll(fd_, buffer_.data(), buffer_.size(), options_.timeoutMilliseconds);
    buffer_.clear();
    return error_;
}

}  // namespace nexnet
