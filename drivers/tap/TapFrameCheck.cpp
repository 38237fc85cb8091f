#include "drivers/tap/TapFrameCheck.h"

namespace nexnet {

namespace {
constexpr std::uint32_t kEthernetHeader = 14;
constexpr std::uint32_t kVlanTag = 4;   // a frame may carry an 802.1Q tag beyond the MTU
constexpr std::uint8_t kGsoUdpL4 = 5;   // VIRTIO_NET_HDR_GSO_UDP_L4
constexpr std::uint8_t kGsoEcn = 0x80;  // VIRTIO_NET_HDR_GSO_ECN

// The GSO types Linux writes into a virtio-net header (include/uapi/linux/virtio_net.h); the
// kernel refuses any other from userspace (virtio_net_hdr_to_skb), and so does this driver.
bool knownGsoType(std::uint8_t type) {
    switch (type & ~kGsoEcn) {
    case NetbufOffload::kGsoNone:
    case NetbufOffload::kGsoTcpV4:
    case NetbufOffload::kGsoUdp:
    case NetbufOffload::kGsoTcpV6:
    case kGsoUdpL4:
        return true;
    default:
        return false;
    }
}
}  // namespace

TapFrameCheck::Verdict TapFrameCheck::judge(const NetbufOffload& offload, std::uint32_t length) const {
    if (length >= room) return Verdict::truncated;
    if (length < kEthernetHeader) return Verdict::runt;
    bool superPacket = offload.gsoType != NetbufOffload::kGsoNone;
    if (!superPacket && length > kEthernetHeader + mtu + kVlanTag) return Verdict::oversize;
    if (!offload.isConsistentWith(length) || !knownGsoType(offload.gsoType)) return Verdict::badOffload;
    if (superPacket && (offload.gsoSize == 0 || !offloads)) return Verdict::badOffload;
    return Verdict::accepted;
}

}  // namespace nexnet
