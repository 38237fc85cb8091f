#pragma once
/// @file CaptureWriter.h
/// @brief CaptureWriter: where a CaptureTap's writer thread puts the frames it captured (a pcap
/// file, a pcapng stream to nexnetctl).

#include <cstdint>

namespace nexnet {

/// Which way a captured frame went, as pcapng's epb_flags inbound / outbound.
enum class CaptureDirection : std::uint8_t {
    inbound,   ///< Received by the interface.
    outbound,  ///< Sent by the interface.
};

/// One captured frame as a CaptureTap hands it to its writer; the bytes are valid only during
/// the call.
struct CaptureFrame {
    const std::uint8_t* data = nullptr;                      ///< The stored bytes.
    std::uint32_t captured = 0;                              ///< Bytes stored (at most the snap length).
    std::uint32_t length = 0;                                ///< Bytes of the frame on the wire.
    std::uint64_t nanoseconds = 0;                           ///< When it was received or sent, since the epoch.
    CaptureDirection direction = CaptureDirection::inbound;  ///< Which way it went.
};

/// What a capture saw, given to the writer when the capture ends (pcapng's interface statistics).
struct CaptureSummary {
    std::uint64_t startNanoseconds = 0;  ///< When the capture began, since the epoch.
    std::uint64_t endNanoseconds = 0;    ///< When it ended.
    std::uint64_t accepted = 0;          ///< Frames that passed the filter and were queued.
    std::uint64_t dropped = 0;           ///< Frames that passed the filter but found the queue full.
    std::uint64_t filtered = 0;          ///< Frames the filter rejected.
};

/// The file or stream behind a CaptureTap. Every method runs on the tap's writer thread only,
/// which may block in them (a disk, a slow reader): the data path never waits for a writer.
class CaptureWriter {
public:
    virtual ~CaptureWriter() = default;
    /// Appends @p frame. @return 0 or the errno of the write (the tap keeps it for flush()).
    virtual int write(const CaptureFrame& frame) = 0;
    /// Pushes buffered frames out. @return 0 or the errno of the write.
    virtual int flush() = 0;
    /// The capture has ended: write what closes the file (pcapng: an interface statistics block)
    /// and flush. Called once, after the last write. @return 0 or an errno. Base: flush().
    virtual int finish(const CaptureSummary& summary) {
        (void)summary;
        return flush();
    }
};

}  // namespace nexnet
