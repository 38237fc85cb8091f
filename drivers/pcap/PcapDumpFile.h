#pragma once
/// @file PcapDumpFile.h
/// @brief PcapDumpFile: an Ethernet pcap file written through libpcap's dump API.

#include "netbuf/Result.h"

#include <cstdint>
#include <memory>
#include <string>

struct pcap;
struct pcap_dumper;

namespace nexnet {

/// A pcap file being written (libpcap's pcap_dump_open / pcap_dump), Ethernet link type, with
/// nanosecond timestamps (magic 0xa1b23c4d), so what nexnet writes reads back unchanged in
/// tshark, tcpdump and nexnet's own pcap driver.
///
/// Used by PcapDriver for its `tx=` file and by netif's CaptureTap. Writes go through stdio's
/// buffer: a frame costs a copy, not a syscall; flush() pushes them out and says whether the file
/// took them. A failed write is kept (error()): the file, possibly cut in the middle of a record,
/// takes nothing more. A size limit (setSizeLimit) bounds what the file may grow to.
/// Not thread-safe: one writer at a time.
class PcapDumpFile {
public:
    /// Opens (creates or truncates) @p path for writing; frames longer than @p snaplen are cut to
    /// it (their original length is recorded). A FIFO is opened only when a process reads it
    /// (ENXIO otherwise: never a wait in open). Errors: the errno of the file (ENOENT, EACCES,
    /// EISDIR, ENXIO, ...), EINVAL for a snaplen of 0; @p message, when not null, says why.
    static Result<std::unique_ptr<PcapDumpFile>> open(const std::string& path, std::uint32_t snaplen = 65535,
                                                      std::string* message = nullptr);
    /// Flushes and closes the file.
    ~PcapDumpFile();
    PcapDumpFile(const PcapDumpFile&) = delete;
    PcapDumpFile& operator=(const PcapDumpFile&) = delete;

    /// Appends one frame of @p length bytes at @p frame, stamped @p nanoseconds since the epoch.
    /// Only the first min(length, snaplen()) bytes are stored. The caller keeps the memory.
    /// @return false when the frame was not stored: it would take the file past sizeLimit(), or
    /// an earlier write failed (error()).
    bool write(const std::uint8_t* frame, std::uint32_t length, std::uint64_t nanoseconds);
    /// Appends a record whose stored bytes (@p captured) are fewer than the frame's @p length.
    /// @return as the other write().
    bool write(const std::uint8_t* frame, std::uint32_t captured, std::uint32_t length, std::uint64_t nanoseconds);
    /// Pushes buffered records to the file. @return 0 or the errno of the failed write (ENOSPC,
    /// EIO, ...), which error() keeps from then on.
    int flush();

    /// Makes the file take no frame that would grow it past @p bytes (header included).
    void setSizeLimit(std::uint64_t bytes) { sizeLimit_ = bytes; }
    /// The size limit; UINT64_MAX when there is none.
    std::uint64_t sizeLimit() const { return sizeLimit_; }
    /// Bytes handed to the file so far: its header and every record stored.
    std::uint64_t size() const { return size_; }
    /// The errno of the first write that failed, 0 while none did.

    int error() const { return error_; }
    /// Frames written so far.
    std::uint64_t framesWritten() const { return frames_; }
    /// Largest number of bytes stored per frame.
    std::uint32_t snaplen() const { return snaplen_; }
    /// The file's path.
    const std::string& path() const { return path_; }

    /// The current time in nanoseconds since the epoch (CLOCK_REALTIME), for stamping frames.
    static std::uint64_t now();

private:
    PcapDumpFile() = default;

    pcap* dead_ = nullptr;
    pcap_dumper* dumper_ = nullptr;
    std::uint32_t snaplen_ = 65535;
    std::uint64_t frames_ = 0;
    std::uint64_t size_ = 0;
    std::uint64_t sizeLimit_ = UINT64_MAX;
    int error_ = 0;
    std::string path_;
};

}  // namespace nexnet
