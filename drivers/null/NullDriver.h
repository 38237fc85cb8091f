#pragma once
/// @file NullDriver.h
/// @brief NullDriver ("null:"): an endless source of frames and a sink, for tests and benchmarks.

#include "framework/DriverRegistry.h"
#include "framework/IOEthernet.h"

#include <cstdint>
#include <vector>

namespace nexnet {

/// A driver with no hardware: every receiveBurst returns a full burst of frames, every
/// transmitBurst accepts and frees everything. nexnet's counterpart of DPDK's net_null.
///
/// URI: `null:[,size=BYTES][,fill=0|1][,pool=N][,limit=FRAMES]`
/// - size: frame size in bytes, 14 to the pool's data room (default 64).
/// - fill: 1 writes a test frame (broadcast, EtherType 0x88b5, a counter) into every received
///   netbuf; 0 (the default, as net_null) leaves the data untouched and only sets the size.
/// - pool: netbufs in the driver's pool (default 8192, at least a burst: kBurst).
/// - limit: stop producing after this many frames (default: endless).
class NullDriver : public IOEthernet {
public:
    /// Frame and pool settings.
    struct Options {
        std::uint32_t frameSize = 64;     ///< Bytes of each received frame.
        bool fill = false;                ///< Write a test frame into each received netbuf.
        std::uint64_t limit = UINT64_MAX; ///< Frames to produce before receiveBurst returns 0.
    };

    /// Makes a null driver with its own pool of @p poolSize netbufs.
    static Result<std::unique_ptr<NullDriver>> create(const Options& options, std::uint32_t poolSize);
    /// Registers "null:" with @p registry.
    static int registerWith(DriverRegistry& registry);

    /// Stopped or started; nothing to reset.
    int resetAndEnable(bool enable) override;
    /// What fits in a netbuf.
    unsigned maxMtu() const override;

    /// The frame template written when fill is on.
    const std::vector<std::uint8_t>& frameTemplate() const { return template_; }
    /// Frames produced so far.
    std::uint64_t produced() const { return produced_; }

protected:
    /// Takes min(@p max, frames left before the limit) netbufs from the pool, sized (and filled)
    /// as the options say. A pool that cannot give them all gives none: reported as receive drops.
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override;
    /// Accepts everything and frees it at once.
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override;

private:
    explicit NullDriver(const Options& options);

    Options options_;
    std::vector<std::uint8_t> template_;
    std::uint64_t produced_ = 0;
};

}  // namespace nexnet
