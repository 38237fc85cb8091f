#include "CaptureFile.h"

#include "netif/DescriptorWrite.h"
#include "netif/PcapngWriter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nexnet {

namespace {
using namespace pcapng;
constexpr std::uint32_t kLargestBlock = 16u << 20;

std::uint32_t word(const std::uint8_t* at) {
    std::uint32_t value;
    std::memcpy(&value, at, 4);
    return value;
}
}  // namespace

Result<CaptureFile> CaptureFile::open(const std::string& path) {
    if (path == "-") return CaptureFile(STDOUT_FILENO);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Result<CaptureFile>::failure(errno, path + ": " + std::strerror(errno));
    return CaptureFile(fd);
}

CaptureFile::CaptureFile(CaptureFile&& other) noexcept
    : fd_(other.fd_),
      buffer_(std::move(other.buffer_)),
      started_(other.started_),
      frames_(other.frames_),
      drops_(other.drops_),
      complete_(other.complete_) {
    other.fd_ = -1;
}

CaptureFile::~CaptureFile() {
    if (fd_ > STDERR_FILENO) ::close(fd_);
}

int CaptureFile::append(const void* data, std::size_t size) {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    buffer_.insert(buffer_.end(), bytes, bytes + size);
    std::size_t done = 0;
    while (buffer_.size() - done >= 12) {
        const std::uint8_t* block = buffer_.data() + done;
        std::uint32_t type = word(block), length = word(block + 4);
        // Blocks are in the writer's byte order (the same machine: ours); a length that is not a
        // multiple of 4 or absurd means this is not the stream we asked for.
        if (length < 12 || length % 4 != 0 || length > kLargestBlock) return EBADMSG;
        if (!started_ && type != kSectionHeader) return EBADMSG;
        started_ = true;
        if (buffer_.size() - done < length) break;
        if (type == kEnhancedPacket) ++frames_;
        if (type == kInterfaceStatistics) readStatistics(block, length);
        done += length;
    }
    if (done == 0) return 0;
    int error = writeAll(fd_, buffer_.data(), done, 10000);
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(done));
    return error;
}

// Options start after type, length, interface id and the 8-byte timestamp.
void CaptureFile::readStatistics(const std::uint8_t* block, std::uint32_t length) {
    complete_ = true;
    std::size_t at = 20, end = length - 4;
    while (at + 4 <= end) {
        std::uint16_t code, size;
        std::memcpy(&code, block + at, 2);
        std::memcpy(&size, block + at + 2, 2);
        if (code == 0 || at + 4 + size > end) break;
        if (code == kIsbInterfaceDropped && size == 8) std::memcpy(&drops_, block + at + 4, 8);
        at += 4 + ((size + 3u) & ~3u);
    }
}

}  // namespace nexnet
