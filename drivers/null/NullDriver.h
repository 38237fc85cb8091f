#pragma once
/// @file NullDriver.h
/// @brief NullDriver ("null:"): an endless source of frames and a sink, for tests and benchmarks.

#include "framework/DriverRegistry.h"
#include "framework/IOEthernet.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace nexnet {

/// A driver with no hardware: every receiveBurst returns a full burst of frames, every
/// transmitBurst accepts and frees everything. nexnet's counterpart of DPDK's net_null.
///
/// URI: `null:[,size=BYTES][,fill=0|1][,pool=N][,limit=FRAMES][,queues=N][,udp=IPV4:PORT]`
/// - size: frame size in bytes, 14 to the pool's data room (default 64).
/// - fill: 1 writes a test frame into every received netbuf: broadcast, EtherType 0x88b5, then
///   the frame's sequence number on its queue (8 bytes, host order, at offset 14, when the frame
///   has room) and the queue's number (1 byte at offset 22): each queue is one flow, numbered
///   from 0. 0 (the default, as net_null) leaves the data untouched and only sets the size.
/// - pool: netbufs in the driver's pool, shared by the queues (default 8192, at least a
///   burst: kBurst).
/// - limit: frames each queue produces before it stops (default: endless).
/// - queues: 1 to 16 queue pairs (default 1), independent sources and sinks.
/// - udp: IPV4:PORT makes the test frames UDP datagrams (implies fill=1): to the driver's own
///   Ethernet address from another one, from 192.0.2.1 port 9 to IPV4:PORT, the IPv4 header's checksum right, the UDP
///   checksum 0 (none); the sequence number and queue are the payload's first 9 bytes. What a
///   benchmark of a UDP receiver above the protocol layer (a nexnet endpoint) needs.
///
/// Threading: each queue's state (what it produced) is its own, on its own cache line; queues run
/// on their own threads with nothing shared but the pool, whose thread caches keep them apart.
class NullDriver : public IOEthernet {
public:
    /// Frame and pool settings.
    struct Options {
        std::uint32_t frameSize = 64;      ///< Bytes of each received frame.
        bool fill = false;                 ///< Write a test frame into each received netbuf.
        std::uint64_t limit = UINT64_MAX;  ///< Frames each queue produces before receiveBurst returns 0.
        unsigned queues = 1;               ///< Queue pairs, 1 to kMaxQueues.
        std::uint32_t udpAddress = 0;      ///< udp=: destination IPv4 address (network order), 0: no UDP.
        std::uint16_t udpPort = 0;         ///< udp=: destination port (host order).
    };

    /// Makes a null driver with its own pool of @p poolSize netbufs. Errors: EINVAL for a frame
    /// size outside 14 to the data room or a queue count outside 1 to kMaxQueues, the pool's errno.
    static Result<std::unique_ptr<NullDriver>> create(const Options& options, std::uint32_t poolSize);
    /// Registers "null:" with @p registry.
    static int registerWith(DriverRegistry& registry);

    /// Stopped or started; nothing to reset.
    int resetAndEnable(bool enable) override;
    /// What fits in a netbuf.
    unsigned maxMtu() const override;
    /// The number of queue pairs (Options::queues).
    unsigned queueCount() const override;

    /// The frame template written when fill is on.
    const std::vector<std::uint8_t>& frameTemplate() const { return template_; }
    /// Frames produced so far, on every queue. Any thread.
    std::uint64_t produced() const;
    /// Frames produced so far on @p queue. Any thread.
    std::uint64_t produced(unsigned queue) const;

protected:
    /// Takes min(@p max, frames left before the queue's limit) netbufs from the pool, sized (and
    /// filled) as the options say. A pool that cannot give them all gives none: reported as
    /// receive drops. 0 for a queue beyond queueCount().
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override;
    /// Accepts everything and frees it at once.
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override;

private:
    explicit NullDriver(const Options& options);

    // A queue's own state: written by its thread only, read (summed) by any.
    struct alignas(64) Queue {
        std::atomic<std::uint64_t> produced{0};
    };

    void writeUdpTemplate();

    Options options_;
    std::vector<std::uint8_t> template_;
    std::uint32_t sequenceAt_ = kHeaderSize;  // where each frame's sequence number goes
    std::array<Queue, kMaxQueues> queues_{};
};

}  // namespace nexnet
