#pragma once
/// @file PcapDriver.h
/// @brief PcapDriver ("pcap:FILE"): replays a capture file as received traffic and records
/// transmitted frames into another.

#include "drivers/pcap/PcapDumpFile.h"
#include "framework/DriverRegistry.h"
#include "framework/IOEthernet.h"

#include <cstdint>
#include <memory>
#include <string>

struct pcap;

namespace nexnet {

/// A driver whose "wire" is a pair of files: receiveBurst returns the frames of a pcap or pcapng
/// file (read with libpcap), transmitBurst appends frames to a pcap file (libpcap's dump API)
/// or just counts and frees them. nexnet's counterpart of DPDK's net_pcap with rx_pcap/tx_pcap.
///
/// URI: `pcap:FILE[,tx=OUT.pcap][,timing=original|fast][,loop=N][,partial=0|1][,mac=MAC][,pool=N]`
/// - timing: `fast` (default) hands frames up as fast as they are asked for; `original` keeps the
///   gaps between the file's timestamps (a frame is returned once its time has come).
/// - loop: plays the file N times (default 1; 0 plays it endlessly).
/// - tx: where transmitted frames go (nanosecond pcap); without it they are counted and freed.
/// - partial: hand up records cut in the file (captured length < frame length, a snaplen cut)
///   as captured; by default (0) they are dropped and counted (partialDrops()), since they are
///   not the frames that were on the wire.
/// - mac: the driver's hardware address (default 02:70:63:61:70:00, "pcap" as DPDK's net_pcap
///   uses, so a recorded file can be addressed to it).
/// - pool: netbufs in the driver's pool (default 8192).
///
/// Each received netbuf carries the record's timestamp in nanoseconds (Netbuf::timestamp), read
/// at nanosecond precision whatever the file's. A record longer than the pool's data room is
/// dropped and counted (oversizeDrops(), receive drops), never cut. A file that
/// turns out truncated or corrupt in the middle stops the replay: the error is counted
/// (inputErrors()), readError() says what libpcap said, and the link goes down. When the last
/// loop ends the link goes down too: link down means "the capture is over".
///
/// Poll mode only (no interrupt eventfd). One queue pair (queueCount() 1: a file is one ordered
/// stream), so one thread: with several workers (QueueWorkers, nexnet-fwd --threads), worker 0
/// runs it and the others have none of its queues.
class PcapDriver : public IOEthernet {
public:
    /// How frames are replayed.
    enum class Timing { fast, original };

    /// The default hardware address, 02:70:63:61:70:00 ("pcap").
    static constexpr EthernetAddress kDefaultAddress{{0x02, 0x70, 0x63, 0x61, 0x70, 0x00}};

    /// Files and replay settings.
    struct Options {
        std::string path;                           ///< Capture to replay (pcap or pcapng).
        std::string txPath;                         ///< Where transmitted frames are written; empty: nowhere.
        Timing timing = Timing::fast;               ///< Replay speed.
        std::uint64_t loops = 1;                    ///< Times to play the file; 0: endlessly.
        std::uint32_t poolSize = 8192;              ///< Netbufs in the driver's pool.
        bool partial = false;                       ///< Hand up records cut in the file instead of dropping them.
        EthernetAddress address = kDefaultAddress;  ///< The driver's hardware address.
    };

    /// Opens the files and makes the driver with its own pool. Errors: the file's errno (ENOENT,
    /// EACCES, EISDIR, ...), EBADMSG for a file libpcap cannot read as a capture (bad magic, cut
    /// header, unsupported version), EPROTONOSUPPORT for a link type other than Ethernet, EINVAL
    /// for bad options. @p message, when not null, receives a sentence naming the file and cause.
    static Result<std::unique_ptr<PcapDriver>> create(const Options& options, std::string* message = nullptr);
    /// Registers "pcap:" with @p registry; the factory's failures carry create()'s message.
    static int registerWith(DriverRegistry& registry);
    ~PcapDriver() override;

    /// Up: the replay (re)starts where it stopped and the link is up until the file ends. Down:
    /// the transmit file is flushed.
    int resetAndEnable(bool enable) override;
    /// The pool's data room less the Ethernet header.
    unsigned maxMtu() const override;

    /// True once every loop has been played (or a read error stopped the replay).
    bool finished() const { return finished_; }
    /// libpcap's description of the error that stopped the replay, empty when none.
    const std::string& readError() const { return readError_; }
    /// Records dropped because they did not fit the pool's data room.
    std::uint64_t oversizeDrops() const { return oversizeDrops_; }
    /// Records dropped because the file holds only part of the frame (without partial=1).
    std::uint64_t partialDrops() const { return partialDrops_; }
    /// Completed plays of the file.
    std::uint64_t loopsPlayed() const { return loopsPlayed_; }
    /// The transmit file, or nullptr when transmitted frames are only counted.
    PcapDumpFile* transmitFile() const { return tx_.get(); }

protected:
    /// The next records of the file, each in a netbuf with its capture time (Netbuf::timestamp).
    /// Records cut in the file (without partial=1) or too long for a netbuf are dropped and
    /// reported as receive drops; a read error ends the replay and is reported as a receive error.
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override;
    /// Appends every frame to the transmit file (when there is one), then frees them all.
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override;

private:
    explicit PcapDriver(const Options& options);
    int openCapture(std::string* message);
    bool nextRecord(const std::uint8_t*& data, std::uint32_t& captured, std::uint32_t& length, std::uint64_t& stamp);
    bool due(std::uint64_t offset);
    std::uint64_t replayOffset(std::uint64_t stamp);
    bool fill(Netbuf* netbuf, const std::uint8_t* data, std::uint32_t captured, std::uint32_t length,
              std::uint64_t stamp);
    void finish(const char* error);

    static constexpr std::size_t kReadBuffer = 1u << 20;

    Options options_;
    std::unique_ptr<char[]> readBuffer_;  // the capture FILE's stdio buffer, outlives it
    pcap* capture_ = nullptr;
    std::unique_ptr<PcapDumpFile> tx_;
    std::uint32_t dataRoom_ = 0;
    bool finished_ = false;
    std::string readError_;
    std::uint64_t oversizeDrops_ = 0;
    std::uint64_t partialDrops_ = 0;
    std::uint64_t loopsPlayed_ = 0;
    // Original timing: the first record's time and the wall-clock time it was played at; a frame
    // read before its time waits in pending_ (the only netbuf the driver holds between calls).
    std::uint64_t fileStart_ = 0;
    std::uint64_t wallStart_ = 0;
    std::uint64_t loopOffset_ = 0;
    std::uint64_t lastStamp_ = 0;
    std::uint64_t pendingOffset_ = 0;
    bool clockStarted_ = false;
    bool timelineStarted_ = false;
    Netbuf* pending_ = nullptr;
};

}  // namespace nexnet
