#pragma once
/// @file Ipv4Reassembly.h
/// @brief Ipv4Reassembly: IPv4 fragments put back together (RFC 815), bounded in memory and time.

#include "inet/InetDrop.h"
#include "netbuf/Result.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>

namespace nexnet {

class Ipv4View;
class Netbuf;
class NetbufPool;

/// Reassembles fragmented IPv4 datagrams with RFC 815's hole list.
///
/// Memory is bounded: at most Options::maxDatagrams datagrams are in progress, each in one
/// buffer of its own pool (64 KiB + headroom: the largest datagram), with at most maxHoles holes
/// (a fragment that would make more drops the datagram). A datagram not complete within
/// Options::timeout is dropped; when a new datagram finds the table full, the oldest is evicted.
/// Fragments are copied into place (a reassembled datagram cannot be where the NIC wrote its
/// pieces); the complete datagram is a netbuf of the pool, its data() at the IPv4 header, with
/// the first fragment's header (total length and fragment fields rewritten, checksum updated).
///
/// The same pool serves large sends (allocateLarge()): an endpoint sending a datagram bigger
/// than a driver netbuf fills one of these, and the stack cuts it into fragments.
///
/// Used on the interface's thread only. Never blocks; no allocation after create().
class Ipv4Reassembly {
public:
    /// Bounds.
    struct Options {
        bool enabled = true;                       ///< Off: every fragment is dropped and counted.
        unsigned maxDatagrams = 8;                 ///< Datagrams in progress at once.
        unsigned buffers = 32;                     ///< Large netbufs (in progress, delivered, large sends).
        std::chrono::milliseconds timeout{30000};  ///< Time to complete a datagram (Linux: 30 s).
    };
    /// Most holes one datagram may have.
    static constexpr unsigned kMaxHoles = 16;
    /// Largest IPv4 datagram.
    static constexpr unsigned kMaxDatagram = 65535;

    /// Makes the table and its pool (none when reassembly is off).
    /// Errors: the pool's (ENOMEM, EMFILE).
    static nexnet::Result<std::unique_ptr<Ipv4Reassembly>> create(const Options& options);
    /// Frees the datagrams in progress.
    ~Ipv4Reassembly();
    Ipv4Reassembly(const Ipv4Reassembly&) = delete;
    Ipv4Reassembly& operator=(const Ipv4Reassembly&) = delete;

    /// Adds the fragment @p fragment (a valid view; the caller keeps its netbuf and frees it).
    /// @return the complete datagram (the caller owns it) or nullptr: still incomplete, or
    /// dropped, with the reason in @p drop (InetDrop::count when not dropped).
    Netbuf* add(const Ipv4View& fragment, std::uint64_t now, InetDrop& drop);
    /// Drops datagrams older than the timeout at @p now. @return how many.
    unsigned expire(std::uint64_t now);
    /// A netbuf of the large pool for a datagram of up to 65535 bytes, or nullptr (pool empty,
    /// or reassembly off).
    Netbuf* allocateLarge();
    /// Datagrams in progress.
    unsigned inProgress() const;
    /// True when fragments are reassembled.
    bool enabled() const { return options_.enabled; }

private:
    struct Hole {
        std::uint32_t first;
        std::uint32_t last;
    };
    struct Datagram {
        bool used = false;
        std::uint32_t source = 0, destination = 0;
        std::uint16_t identification = 0;
        std::uint8_t protocol = 0;
        std::uint64_t started = 0;
        Netbuf* buffer = nullptr;
        std::array<std::uint8_t, 60> header{};
        unsigned headerLength = 0;  // 0 until the first fragment came
        std::array<Hole, kMaxHoles> holes{};
        unsigned holeCount = 0;
    };
    explicit Ipv4Reassembly(const Options& options);
    Datagram* find(const Ipv4View& fragment);
    Datagram* start(const Ipv4View& fragment, std::uint64_t now, InetDrop& drop);
    static bool fillHoles(Datagram& d, std::uint32_t first, std::uint32_t last, bool more);
    Netbuf* finish(Datagram& d);
    void release(Datagram& d);

    Options options_;
    std::shared_ptr<NetbufPool> pool_;
    std::unique_ptr<Datagram[]> datagrams_;
};

}  // namespace nexnet
