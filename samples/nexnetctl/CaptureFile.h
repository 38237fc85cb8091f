#pragma once
/// @file CaptureFile.h
/// @brief CaptureFile: a pcapng stream from a telemetry socket written to a file block by block.

#include "netbuf/Result.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nexnet {

/// Receives the pcapng bytes of a capture (TelemetryClient::readStream) and writes only whole
/// blocks to the file, so an interrupted capture still leaves a file tshark reads; counts the
/// enhanced packet blocks and reads the drops of the closing interface statistics block.
class CaptureFile {
public:
    /// Creates (truncates) @p path, or writes to standard output for "-". Errors: the file's errno.
    static Result<CaptureFile> open(const std::string& path);
    /// Closes the file (not standard output).
    ~CaptureFile();
    /// Moves the file.
    CaptureFile(CaptureFile&& other) noexcept;
    CaptureFile(const CaptureFile&) = delete;
    CaptureFile& operator=(const CaptureFile&) = delete;
    CaptureFile& operator=(CaptureFile&&) = delete;

    /// Takes @p size more bytes of the stream. @return 0 or the errno of the write (EBADMSG for a
    /// stream that is not pcapng).
    int append(const void* data, std::size_t size);
    /// Frames (enhanced packet blocks) written.
    std::uint64_t frames() const { return frames_; }
    /// Frames the process could not queue (isb_ifdrop), once the statistics block came.
    std::uint64_t drops() const { return drops_; }
    /// True once the interface statistics block came: the capture ended as it should.
    bool complete() const { return complete_; }
    /// Bytes received but not yet part of a whole block.
    std::size_t pending() const { return buffer_.size(); }

private:
    explicit CaptureFile(int fd) : fd_(fd) {}
    void readStatistics(const std::uint8_t* block, std::uint32_t length);

    int fd_;
    std::vector<std::uint8_t> buffer_;
    bool started_ = false;  // the section header came first
    std::uint64_t frames_ = 0;
    std::uint64_t drops_ = 0;
    bool complete_ = false;
};

}  // namespace nexnet
