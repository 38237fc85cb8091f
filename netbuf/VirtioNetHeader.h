#pragma once
/// @file VirtioNetHeader.h
/// @brief VirtioNetHeader: the virtio-net header that carries a netbuf's offload state to and from a device.

#include "netbuf/Netbuf.h"

#include <cstddef>
#include <cstdint>

namespace nexnet {

/// The virtio-net header (struct virtio_net_hdr, virtio 1.2 section 5.1.6) in front of every frame
/// a virtio-net device, a tap with IFF_VNET_HDR or a packet socket with PACKET_VNET_HDR exchanges:
/// how a netbuf's NetbufOffload (partial checksum, segmentation) travels. Spelt out here because
/// <linux/virtio_net.h> does not compile as C++; the flag and GSO values are NetbufOffload's.
///
/// @verbatim
///   0        1         2             4          6            8             10           12
///   | flags  | gsoType | headerLength | gsoSize  | csumStart  | csumOffset  | numBuffers |
///   |<------------------------ kLegacySize (tap, packet socket) ---------->|
///   |<------------------------ kSize (virtio-net with VIRTIO_F_VERSION_1) ------------->|
/// @endverbatim
///
/// A device that negotiated VIRTIO_F_VERSION_1 always has the 12-byte header (num_buffers
/// included); tap (its default TUNSETVNETHDRSZ) and packet sockets use the first 10 bytes only:
/// hand them kLegacySize bytes of this struct. Byte order: little endian for a VERSION_1 device,
/// the host's for tap (without TUNSETVNETLE) and packet sockets: the same on the x86 hosts nexnet
/// drives devices on.
struct VirtioNetHeader {
    /// Bytes of the header without numBuffers: tap and packet sockets.
    static constexpr std::size_t kLegacySize = 10;
    /// Bytes of the header of a virtio 1.x device.
    static constexpr std::size_t kSize = 12;

    std::uint8_t flags = 0;          ///< NetbufOffload::kNeedsChecksum, kDataValid (VIRTIO_NET_HDR_F_*).
    std::uint8_t gsoType = 0;        ///< NetbufOffload::kGso* (VIRTIO_NET_HDR_GSO_*), kGsoEcn or-ed in.
    std::uint16_t headerLength = 0;  ///< Bytes of headers before a GSO super-packet's payload (a hint).
    std::uint16_t gsoSize = 0;       ///< Segment payload size of a GSO super-packet.
    std::uint16_t csumStart = 0;     ///< Where a partial checksum's coverage starts, from the frame start.
    std::uint16_t csumOffset = 0;    ///< Where the checksum goes, from csumStart.
    std::uint16_t numBuffers = 0;    ///< Buffers of a merged receive (kSize only; 0 on transmit).

    /// The header that carries @p offload (headerLength 0: a caller that knows it fills it in).
    static VirtioNetHeader from(const NetbufOffload& offload) {
        VirtioNetHeader header;
        header.flags = offload.flags;
        header.gsoType = offload.gsoType;
        header.gsoSize = offload.gsoSize;
        header.csumStart = offload.csumStart;
        header.csumOffset = offload.csumOffset;
        return header;
    }
    /// The offload state this header describes.
    NetbufOffload offload() const {
        NetbufOffload offload;
        offload.flags = flags;
        offload.gsoType = gsoType;
        offload.gsoSize = gsoSize;
        offload.csumStart = csumStart;
        offload.csumOffset = csumOffset;
        return offload;
    }
};
static_assert(sizeof(VirtioNetHeader) == VirtioNetHeader::kSize, "struct virtio_net_hdr of virtio 1.x is 12 bytes");

}  // namespace nexnet
