#pragma once
/// @file VirtioNetLayout.h
/// @brief Structures and constants of a modern virtio-net PCI device that VirtioNetDriver uses.
///
/// Section numbers are those of the "Virtual I/O Device (VIRTIO) Version 1.2" specification
/// (virtio-v1.2-cs01): 2.1 device status, 2.7 split virtqueues, 3.1 initialisation, 4.1.4 PCI
/// capabilities, 4.1.4.3 common configuration, 5.1 network device (5.1.6.5 the control virtqueue).
/// The virtio-net header itself is netbuf/VirtioNetHeader.h.

#include <cstdint>

namespace nexnet::virtio {

// ---- PCI vendor capabilities (4.1.4) -----------------------------------------------------------
constexpr std::uint8_t kCapabilityId = 0x09;    ///< PCI vendor-specific capability.
constexpr std::uint8_t CAP_COMMON_CFG = 1;      ///< Common configuration.
constexpr std::uint8_t CAP_NOTIFY_CFG = 2;      ///< Notifications.
constexpr std::uint8_t CAP_ISR_CFG = 3;         ///< ISR status.
constexpr std::uint8_t CAP_DEVICE_CFG = 4;      ///< Device-specific configuration.
constexpr unsigned CAP_CFG_TYPE = 3;            ///< Offset of cfg_type in the capability.
constexpr unsigned CAP_BAR = 4;                 ///< Offset of bar.
constexpr unsigned CAP_OFFSET = 8;              ///< Offset of offset (le32).
constexpr unsigned CAP_NOTIFY_MULTIPLIER = 16;  ///< Offset of notify_off_multiplier (le32).

// ---- common configuration (4.1.4.3) --------------------------------------------------------------
constexpr unsigned DEVICE_FEATURE_SELECT = 0x00;  ///< le32
constexpr unsigned DEVICE_FEATURE = 0x04;         ///< le32, read only
constexpr unsigned DRIVER_FEATURE_SELECT = 0x08;  ///< le32
constexpr unsigned DRIVER_FEATURE = 0x0c;         ///< le32
constexpr unsigned MSIX_CONFIG = 0x10;            ///< le16: vector for configuration changes
constexpr unsigned NUM_QUEUES = 0x12;             ///< le16
constexpr unsigned DEVICE_STATUS = 0x14;          ///< u8
constexpr unsigned QUEUE_SELECT = 0x16;           ///< le16
constexpr unsigned QUEUE_SIZE = 0x18;             ///< le16
constexpr unsigned QUEUE_MSIX_VECTOR = 0x1a;      ///< le16
constexpr unsigned QUEUE_ENABLE = 0x1c;           ///< le16
constexpr unsigned QUEUE_NOTIFY_OFF = 0x1e;       ///< le16
constexpr unsigned QUEUE_DESC = 0x20;             ///< le64, written as two le32
constexpr unsigned QUEUE_DRIVER = 0x28;           ///< le64: the available ring
constexpr unsigned QUEUE_DEVICE = 0x30;           ///< le64: the used ring
constexpr std::uint16_t NO_VECTOR = 0xffff;       ///< VIRTIO_MSI_NO_VECTOR

// ---- device status (2.1) ------------------------------------------------------------------------
constexpr std::uint8_t STATUS_ACKNOWLEDGE = 1;  ///< The driver noticed the device.
constexpr std::uint8_t STATUS_DRIVER = 2;       ///< The driver knows how to drive it.
constexpr std::uint8_t STATUS_DRIVER_OK = 4;    ///< The driver is ready: queues live.
constexpr std::uint8_t STATUS_FEATURES_OK = 8;  ///< Features accepted (read back to check).
constexpr std::uint8_t STATUS_NEEDS_RESET =
    64;                                      ///< DEVICE_NEEDS_RESET: an error the device cannot recover from (2.1.1).
constexpr std::uint8_t STATUS_FAILED = 128;  ///< The driver gave up.

// ---- features (5.1.3, 6) ------------------------------------------------------------------------
constexpr std::uint64_t F_CSUM = 1ull << 0;              ///< Device checksums partial packets we send.
constexpr std::uint64_t F_GUEST_CSUM = 1ull << 1;        ///< Device may hand us partially checksummed packets.
constexpr std::uint64_t F_MTU = 1ull << 3;               ///< Device reports its MTU.
constexpr std::uint64_t F_MAC = 1ull << 5;               ///< Device has a MAC address in its config.
constexpr std::uint64_t F_GUEST_TSO4 = 1ull << 7;        ///< We accept TCPv4 GSO packets.
constexpr std::uint64_t F_HOST_TSO4 = 1ull << 11;        ///< Device segments TCPv4 GSO packets we send.
constexpr std::uint64_t F_HOST_TSO6 = 1ull << 12;        ///< Device segments TCPv6 GSO packets we send.
constexpr std::uint64_t F_STATUS = 1ull << 16;           ///< Link status in the config.
constexpr std::uint64_t F_CTRL_VQ = 1ull << 17;          ///< Control virtqueue.
constexpr std::uint64_t F_CTRL_RX = 1ull << 18;          ///< Receive filters through the control virtqueue.
constexpr std::uint64_t F_MQ = 1ull << 22;               ///< Multiqueue.
constexpr std::uint64_t F_VERSION_1 = 1ull << 32;        ///< Modern device (required).
constexpr std::uint64_t F_ACCESS_PLATFORM = 1ull << 33;  ///< DMA goes through the IOMMU (required for VFIO).

// ---- device configuration (5.1.4) --------------------------------------------------------------
constexpr unsigned CONFIG_MAC = 0;              ///< u8[6]
constexpr unsigned CONFIG_STATUS = 6;           ///< le16
constexpr unsigned CONFIG_MAX_QUEUE_PAIRS = 8;  ///< le16
constexpr std::uint16_t NET_S_LINK_UP = 1;      ///< CONFIG_STATUS bit.

// ---- control virtqueue (5.1.6.5) ----------------------------------------------------------------
// A command is one chain: the device reads {u8 class, u8 command, command data} and writes a u8 ack.
constexpr std::uint8_t CTRL_RX = 0;                     ///< Class: receive mode (5.1.6.5.1), with F_CTRL_RX.
constexpr std::uint8_t CTRL_RX_PROMISC = 0;             ///< Command: u8 on: every frame.
constexpr std::uint8_t CTRL_RX_ALLMULTI = 1;            ///< Command: u8 on: every multicast frame.
constexpr std::uint8_t CTRL_MAC = 1;                    ///< Class: MAC filter table (5.1.6.5.2), with F_CTRL_RX.
constexpr std::uint8_t CTRL_MAC_TABLE_SET = 0;          ///< Command: {le32 n, n MACs} unicast, then multicast.
constexpr std::uint8_t CTRL_MQ = 4;                     ///< Class: multiqueue (5.1.6.5.5).
constexpr std::uint8_t CTRL_MQ_VQ_PAIRS_SET = 0;        ///< Command: le16 virtqueue_pairs follows.
constexpr std::uint16_t CTRL_MQ_VQ_PAIRS_MIN = 1;       ///< Fewest pairs the command accepts.
constexpr std::uint16_t CTRL_MQ_VQ_PAIRS_MAX = 0x8000;  ///< Most pairs (also max_virtqueue_pairs' range).
constexpr std::uint8_t NET_OK = 0;                      ///< Ack: the device did it.
constexpr std::uint8_t NET_ERR = 1;                     ///< Ack: the device refused.

// ---- split virtqueue (2.7) ----------------------------------------------------------------------
/// A descriptor of the descriptor table (2.7.5).
struct Descriptor {
    std::uint64_t address;  ///< Buffer device address (IOVA, since ACCESS_PLATFORM).
    std::uint32_t length;   ///< Buffer length.
    std::uint16_t flags;    ///< DESC_F_*.
    std::uint16_t next;     ///< Next descriptor with DESC_F_NEXT.
};
static_assert(sizeof(Descriptor) == 16, "virtq_desc is 16 bytes");
constexpr std::uint16_t DESC_F_NEXT = 1;           ///< The chain continues at `next`.
constexpr std::uint16_t DESC_F_WRITE = 2;          ///< Device writes the buffer (receive).
constexpr std::uint16_t AVAIL_F_NO_INTERRUPT = 1;  ///< Driver: no interrupt needed on use (2.7.7).
constexpr std::uint16_t USED_F_NO_NOTIFY = 1;      ///< Device: no notification needed on avail (2.7.10).

/// One element of the used ring (2.7.8).
struct UsedElement {
    std::uint32_t id;      ///< Head descriptor of the used chain.
    std::uint32_t length;  ///< Bytes the device wrote.
};
static_assert(sizeof(UsedElement) == 8, "virtq_used_elem is 8 bytes");

}  // namespace nexnet::virtio
