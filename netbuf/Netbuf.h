#pragma once
/// @file Netbuf.h
/// @brief Netbuf: one packet buffer, NeXT's netbuf with bounds checks.

#include <boost/intrusive/slist_hook.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace nexnet {

class NetbufPool;

/// Offload information a packet carries between a driver and the layers above, in the terms
/// of the virtio-net header (TUN/TAP IFF_VNET_HDR, virtio-net devices).
struct NetbufOffload {
    /// flags: the checksum from csumStart to the end of the frame is partial (the pseudo-header
    /// sum only) and must be finished, by the device on transmit or by software
    /// (VIRTIO_NET_HDR_F_NEEDS_CSUM, virtio 1.2 section 5.1.6.2).
    static constexpr std::uint8_t kNeedsChecksum = 1;
    /// flags: the device verified the packet's checksums; they need not be checked again
    /// (VIRTIO_NET_HDR_F_DATA_VALID, virtio 1.2 section 5.1.6.4).
    static constexpr std::uint8_t kDataValid = 2;
    /// gsoType: not a GSO super-packet (VIRTIO_NET_HDR_GSO_NONE).
    static constexpr std::uint8_t kGsoNone = 0;
    /// gsoType: a TCP/IPv4 super-packet to be cut into gsoSize segments (VIRTIO_NET_HDR_GSO_TCPV4).
    static constexpr std::uint8_t kGsoTcpV4 = 1;
    /// gsoType: a UDP super-packet (VIRTIO_NET_HDR_GSO_UDP, fragmentation offload).
    static constexpr std::uint8_t kGsoUdp = 3;
    /// gsoType: a TCP/IPv6 super-packet (VIRTIO_NET_HDR_GSO_TCPV6).
    static constexpr std::uint8_t kGsoTcpV6 = 4;
    /// gsoType: a UDP super-packet to be cut into datagrams (VIRTIO_NET_HDR_GSO_UDP_L4).
    static constexpr std::uint8_t kGsoUdpL4 = 5;
    /// gsoType bit: the TCP super-packet has ECN's CWR set (VIRTIO_NET_HDR_GSO_ECN).
    static constexpr std::uint8_t kGsoEcn = 0x80;

    std::uint16_t gsoSize = 0;     ///< Segment size of a GSO super-packet, 0 when not GSO.
    std::uint16_t csumStart = 0;   ///< Where checksumming starts (partial checksum), from the frame start.
    std::uint16_t csumOffset = 0;  ///< Where to store the checksum, from csumStart.
    std::uint8_t gsoType = 0;      ///< VIRTIO_NET_HDR_GSO_* (kGsoNone, kGsoTcpV4, ...).
    std::uint8_t flags = 0;        ///< VIRTIO_NET_HDR_F_* (kNeedsChecksum, kDataValid).

    /// True when the packet's checksum is partial and left to finish (kNeedsChecksum).
    bool needsChecksum() const { return (flags & kNeedsChecksum) != 0; }
    /// True when the device already verified the packet's checksums (kDataValid).
    bool checksumVerified() const { return (flags & kDataValid) != 0; }
    /// True when the offload fields can be trusted for a frame of @p frameSize bytes: a partial
    /// checksum's 16-bit field (csumStart + csumOffset) lies inside the frame, as virtio-net
    /// requires of a device (virtio 1.2 section 5.1.6.4). A driver refuses a frame for which this
    /// is false rather than let a layer above write outside it.
    bool isConsistentWith(std::uint32_t frameSize) const {
        if (!needsChecksum()) return true;
        return std::uint32_t{csumStart} + csumOffset + 2 <= frameSize;
    }
};

/// One packet buffer: NeXT's netbuf, living in a NetbufPool's shared memory.
///
/// A netbuf is a fixed buffer of capacity() bytes holding a packet of size() bytes that starts
/// headroom() bytes in; the room before and after the packet lets a layer add or remove headers
/// and trailers without copying (growTop / shrinkTop / growBottom / shrinkBottom).
///
/// @verbatim
///   buffer start                 data()                    data()+size()      capacity()
///   |<-------- headroom() ------>|<-------- size() -------->|<-- tailroom() -->|
/// @endverbatim
///
/// Every operation is bounds-checked: one that would leave the buffer returns ERANGE and changes
/// nothing (NeXT's nb_grow_* did not check; nexnet does). Nothing is ever silently truncated.
///
/// The metadata is exactly one 64-byte cache line (checked at compile time). A netbuf is named
/// across processes by index(), its position in its pool; the pointers it holds are valid only
/// in the process that owns the pool. owner() records which application holds the buffer
/// exclusively (app rings), 0 for the framework itself.
///
/// Netbufs are made by a NetbufPool (or wrapWithFreeCallback for caller memory) and returned with
/// NetbufPool::free or Netbuf::free; they are never constructed or deleted directly.
class alignas(64) Netbuf {
public:
    /// Hook that lets a netbuf sit in one Boost.Intrusive queue (NetbufQueue) without allocation.
    using QueueHook = boost::intrusive::slist_member_hook<boost::intrusive::link_mode<boost::intrusive::normal_link>>;

    /// Flag bits stored with each netbuf (flags()).
    enum Flag : std::uint16_t {
        kWrapped = 1u << 0,             ///< Wraps caller memory (wrapWithFreeCallback); not from a pool.
        kMarkedForBuffering = 1u << 1,  ///< Flagged by the low-resource layer for the reserve buffer.
        kLent = 1u << 2,                ///< Lent (NetbufPool::lend): free() gives it back to the pool's lender.
        kFirstUserFlag = 1u << 8,       ///< First bit free for drivers and applications.
    };

    Netbuf(const Netbuf&) = delete;
    Netbuf& operator=(const Netbuf&) = delete;

    /// Start of the packet data (nb_map).
    std::uint8_t* data() const { return buffer_ + offset_; }
    /// Bytes of packet data (nb_size).
    std::uint32_t size() const { return length_; }
    /// Bytes free before data().
    std::uint32_t headroom() const { return offset_; }
    /// Bytes free after the packet.
    std::uint32_t tailroom() const { return capacity_ - offset_ - length_; }
    /// Total bytes of the buffer (headroom + size + tailroom).
    std::uint32_t capacity() const { return capacity_; }

    /// Makes room for @p bytes more in front of the data (prepends a header): data() moves back.
    /// @return 0, or ERANGE when the headroom is smaller than @p bytes.
    int growTop(std::uint32_t bytes) {
        if (bytes > offset_) return kOutOfRange;
        offset_ -= bytes;
        length_ += bytes;
        return 0;
    }
    /// Removes @p bytes from the front of the data (strips a header).
    /// @return 0, or ERANGE when the packet is shorter than @p bytes.
    int shrinkTop(std::uint32_t bytes) {
        if (bytes > length_) return kOutOfRange;
        offset_ += bytes;
        length_ -= bytes;
        return 0;
    }
    /// Adds @p bytes at the end of the data (their content is whatever the buffer held).
    /// @return 0, or ERANGE when the tailroom is smaller than @p bytes.
    int growBottom(std::uint32_t bytes) {
        if (bytes > tailroom()) return kOutOfRange;
        length_ += bytes;
        return 0;
    }
    /// Removes @p bytes from the end of the data (strips a trailer).
    /// @return 0, or ERANGE when the packet is shorter than @p bytes.
    int shrinkBottom(std::uint32_t bytes) {
        if (bytes > length_) return kOutOfRange;
        length_ -= bytes;
        return 0;
    }
    /// Sets the packet size to @p bytes from data(), keeping the headroom.
    /// @return 0, or ERANGE when the buffer cannot hold that many bytes after the headroom.
    int setSize(std::uint32_t bytes) {
        if (bytes > capacity_ - offset_) return kOutOfRange;
        length_ = bytes;
        return 0;
    }
    /// Empties the netbuf and puts data() @p headroom bytes into the buffer. Only offset and size
    /// change: flags, owner, timestamp and offload keep what they held (see resetForReceive).
    /// @return 0, or ERANGE when @p headroom exceeds the capacity.
    int reset(std::uint32_t headroom) {
        if (headroom > capacity_) return kOutOfRange;
        offset_ = headroom;
        length_ = 0;
        return 0;
    }
    /// Makes the netbuf as a fresh one from NetbufPool::allocate: empty, data() @p headroom bytes
    /// in, and every piece of metadata from an earlier use cleared (flags but kWrapped and kLent, owner,
    /// timestamp, offload). What a driver calls on netbufs taken with NetbufPool::getBulk before
    /// it receives into them, so nothing of a previous packet leaks into the next.
    /// @return 0, or ERANGE when @p headroom exceeds the capacity (nothing changed).
    int resetForReceive(std::uint32_t headroom) {
        if (headroom > capacity_) return kOutOfRange;
        offset_ = headroom;
        length_ = 0;
        owner_ = 0;
        flags_ &= kWrapped | kLent;
        timestamp_ = 0;
        offload_ = {};
        return 0;
    }

    /// Copies @p bytes from offset @p offset of the packet into @p destination (nb_read).
    /// @return 0, or ERANGE when the range is not inside the packet (nothing is copied).
    int read(std::uint32_t offset, void* destination, std::uint32_t bytes) const {
        if (!inside(offset, bytes)) return kOutOfRange;
        std::memcpy(destination, data() + offset, bytes);
        return 0;
    }
    /// Copies @p bytes from @p source into the packet at offset @p offset (nb_write).
    /// @return 0, or ERANGE when the range is not inside the packet (nothing is written).
    int write(std::uint32_t offset, const void* source, std::uint32_t bytes) {
        if (!inside(offset, bytes)) return kOutOfRange;
        std::memcpy(data() + offset, source, bytes);
        return 0;
    }
    /// Appends @p bytes from @p source at the end of the packet.
    /// @return 0, or ERANGE when the tailroom is too small (nothing is written).
    int append(const void* source, std::uint32_t bytes) {
        std::uint32_t at = length_;
        if (growBottom(bytes) != 0) return kOutOfRange;
        std::memcpy(data() + at, source, bytes);
        return 0;
    }

    /// This netbuf's position in its pool: its name across processes.
    std::uint32_t index() const { return index_; }
    /// Identifier of the pool it belongs to (NetbufPool::id()).
    std::uint16_t poolId() const { return poolId_; }
    /// The pool it belongs to, or nullptr for a wrapped netbuf.
    NetbufPool* pool() const;
    /// Returns the netbuf to its pool, hands a lent one to its pool's lender (NetbufPool::lend), or
    /// calls the free callback of a wrapped one (nb_free).
    void free();

    /// Id of the application holding the buffer exclusively, 0 for the framework (app rings).
    std::uint32_t owner() const { return owner_; }
    /// Records the exclusive holder of the buffer.
    void setOwner(std::uint32_t owner) { owner_ = owner; }

    /// Device (DMA) address of data(): the pool's IOVA or physical address plus the offset.
    std::uint64_t ioAddress() const { return iova_ + offset_; }
    /// Device (DMA) address of the start of the buffer.
    std::uint64_t bufferIoAddress() const { return iova_; }
    /// Start of the buffer in this process (data() - headroom()).
    std::uint8_t* buffer() const { return buffer_; }

    /// Receive or transmit time in nanoseconds since the epoch, 0 when unknown.
    std::uint64_t timestamp() const { return timestamp_; }
    /// Sets the receive or transmit time, nanoseconds since the epoch.
    void setTimestamp(std::uint64_t nanoseconds) { timestamp_ = nanoseconds; }
    /// Checksum and segmentation offload information.
    NetbufOffload& offload() { return offload_; }
    /// Checksum and segmentation offload information (read only).
    const NetbufOffload& offload() const { return offload_; }
    /// Flag bits (Flag values and driver-defined bits from kFirstUserFlag).
    std::uint16_t flags() const { return flags_; }
    /// Replaces the flag bits, except kWrapped and kLent: they say how free() returns the memory
    /// and stay as wrapWithFreeCallback, the pool or NetbufPool::lend set them.
    void setFlags(std::uint16_t flags) {
        constexpr std::uint16_t kept = kWrapped | kLent;
        flags_ = static_cast<std::uint16_t>((flags & ~kept) | (flags_ & kept));
    }

    /// Wraps caller memory in a netbuf (nb_alloc_wrapper): @p data of @p size bytes, the packet
    /// filling all of it. @p freeCallback(data, size, context) runs when the netbuf is freed.
    /// Allocates the metadata on the heap: not for the data path. Returns nullptr on ENOMEM.
    static Netbuf* wrapWithFreeCallback(void* data, std::uint32_t size,
                                        void (*freeCallback)(void* data, std::uint32_t size, void* context),
                                        void* context);

private:
    friend class NetbufPool;
    friend class NetbufQueue;
    static constexpr int kOutOfRange = ERANGE;

    Netbuf() = default;
    ~Netbuf() = default;
    bool inside(std::uint32_t offset, std::uint32_t bytes) const {
        return offset <= length_ && bytes <= length_ - offset;
    }

    std::uint8_t* buffer_ = nullptr;  // start of the buffer in the owning process
    std::uint64_t iova_ = 0;          // device address of buffer_
    QueueHook queueHook_;             // NetbufQueue link
    std::uint32_t offset_ = 0;        // data() - buffer_
    std::uint32_t length_ = 0;        // size()
    std::uint32_t capacity_ = 0;      // bytes at buffer_
    std::uint32_t index_ = 0;         // position in the pool
    std::uint32_t owner_ = 0;         // exclusive holder (app ring application id)
    std::uint16_t poolId_ = 0;        // NetbufPool::id()
    std::uint16_t flags_ = 0;
    std::uint64_t timestamp_ = 0;
    NetbufOffload offload_;
};

// One cache line, as ixy's pkt_buf: touching a netbuf's metadata costs one miss.
static_assert(sizeof(Netbuf) == 64, "Netbuf metadata must be exactly one cache line");

}  // namespace nexnet
