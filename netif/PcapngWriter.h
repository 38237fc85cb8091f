#pragma once
/// @file PcapngWriter.h
/// @brief PcapngWriter: captured frames as a pcapng stream (directions, interface name), as
/// dumpcap writes them.

#include "netbuf/Result.h"
#include "netif/CaptureWriter.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nexnet {

/// The pcapng block types and option codes nexnet writes and reads (draft-ietf-opsawg-pcapng,
/// section 4).
namespace pcapng {
constexpr std::uint32_t kSectionHeader = 0x0A0D0D0A;   ///< Section Header Block.
constexpr std::uint32_t kInterfaceDescription = 1;     ///< Interface Description Block.
constexpr std::uint32_t kInterfaceStatistics = 5;      ///< Interface Statistics Block.
constexpr std::uint32_t kEnhancedPacket = 6;           ///< Enhanced Packet Block.
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;  ///< The section header's byte-order magic.
constexpr std::uint16_t kEndOfOptions = 0;             ///< opt_endofopt.
constexpr std::uint16_t kShbUserApplication = 4;       ///< shb_userappl.
constexpr std::uint16_t kIfName = 2;                   ///< if_name.
constexpr std::uint16_t kIfDescription = 3;            ///< if_description.
constexpr std::uint16_t kIfTimestampResolution = 9;    ///< if_tsresol.
constexpr std::uint16_t kEpbFlags = 2;                 ///< epb_flags (bits 0-1: direction).
constexpr std::uint16_t kIsbStartTime = 2;             ///< isb_starttime.
constexpr std::uint16_t kIsbEndTime = 3;               ///< isb_endtime.
constexpr std::uint16_t kIsbInterfaceReceived = 4;     ///< isb_ifrecv.
constexpr std::uint16_t kIsbInterfaceDropped = 5;      ///< isb_ifdrop.
constexpr std::uint16_t kIsbFilterAccepted = 6;        ///< isb_filteraccept.
constexpr std::uint16_t kLinkTypeEthernet = 1;         ///< LINKTYPE_ETHERNET.
}  // namespace pcapng

/// Writes a pcapng section (IETF draft-ietf-opsawg-pcapng) to a file descriptor: a file, or the
/// socket nexnetctl capture reads. What tshark, Wireshark and dumpcap expect:
///
/// @verbatim
///  Section Header Block     shb_userappl "nexnet"
///  Interface Description    LINKTYPE_ETHERNET, snaplen, if_name, if_tsresol 9 (nanoseconds)
///  Enhanced Packet Block *  timestamp, captured and original length, frame,
///                           epb_flags: direction bits 0-1 (1 inbound, 2 outbound)
///  Interface Statistics     at finish(): isb_starttime, isb_endtime, isb_ifrecv (frames the
///                           filter accepted), isb_ifdrop (lost to a full queue), isb_filteraccept
/// @endverbatim
///
/// Blocks are in host byte order (the byte-order magic tells readers). Nothing is written before
/// the first write(), flush() or finish(), so a caller may send its own header first on the same
/// descriptor. Writes are buffered (64 KiB); on a socket they use MSG_NOSIGNAL (a reader that
/// went away is EPIPE, not a signal) and wait for room up to a timeout (a reader that stopped
/// reading is ETIMEDOUT). One thread at a time (CaptureTap's writer thread).
class PcapngWriter : public CaptureWriter {
public:
    /// What the interface description block says.
    struct Options {
        std::string interfaceName;         ///< if_name (nexnetctl: the nexnet interface's name).
        std::string interfaceDescription;  ///< if_description (nexnetctl: the driver URI); "" for none.
        std::uint32_t snaplen = 65535;     ///< Bytes kept of each frame.
        int timeoutMilliseconds = 5000;    ///< Longest wait for a reader to make room.
    };

    /// Writes to @p fd, which the writer owns from here on (closed on destruction), even on failure.
    /// Errors: EBADF for a negative descriptor.
    static Result<std::unique_ptr<PcapngWriter>> open(int fd, const Options& options);
    /// Flushes (errors ignored) and closes the descriptor.
    ~PcapngWriter() override;
    PcapngWriter(const PcapngWriter&) = delete;
    PcapngWriter& operator=(const PcapngWriter&) = delete;

    /// Appends an enhanced packet block. @return 0 or the errno of a write the buffer needed.
    int write(const CaptureFrame& frame) override;
    /// Writes the buffer out. @return 0 or the errno (EPIPE, ETIMEDOUT, the file's).
    int flush() override;
    /// Appends the interface statistics block and flushes.
    int finish(const CaptureSummary& summary) override;

    /// Enhanced packet blocks written.
    std::uint64_t framesWritten() const { return frames_; }

private:
    PcapngWriter(int fd, const Options& options) : fd_(fd), options_(options) {}
    void startIfNeeded();
    void beginBlock(std::uint32_t type);
    void endBlock();
    void put32(std::uint32_t value);
    void put16(std::uint16_t value);
    void putBytes(const void* data, std::size_t size);
    void putOption(std::uint16_t code, const void* value, std::uint16_t length);
    void putTimestamp(std::uint64_t nanoseconds);

    int fd_;
    Options options_;
    std::vector<std::uint8_t> buffer_;
    std::size_t blockStart_ = 0;
    bool started_ = false;
    std::uint64_t frames_ = 0;
    int error_ = 0;
};

}  // namespace nexnet
