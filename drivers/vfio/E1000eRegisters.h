#pragma once
/// @file E1000eRegisters.h
/// @brief Registers, bits and descriptor layouts of the Intel 82574 (e1000e) that E1000eDriver uses.
///
/// Names and offsets are those of the "Intel 82574 GbE Controller Family Datasheet" (document
/// 317694; section numbers as in revision 2.7): chapter 10.2 describes every register, 4.6 the
/// initialisation, 7.1 receive (7.1.8 the descriptor ring), 7.2 transmit (7.2.4 the descriptor
/// ring), 7.4 interrupts.

#include <cstdint>

namespace nexnet::e1000e {

// ---- general (datasheet 10.2.2: CTRL 10.2.2.1, STATUS 10.2.2.2) -------------------------------
constexpr std::uint32_t CTRL = 0x00000;       ///< Device Control.
constexpr std::uint32_t CTRL_SLU = 1u << 6;   ///< Set Link Up.
constexpr std::uint32_t CTRL_ASDE = 1u << 5;  ///< Auto-Speed Detection Enable.
constexpr std::uint32_t CTRL_RST = 1u << 26;  ///< Device reset (self-clearing).
constexpr std::uint32_t STATUS = 0x00008;     ///< Device Status.
constexpr std::uint32_t STATUS_LU = 1u << 1;  ///< Link Up.
constexpr std::uint32_t CTRL_EXT = 0x00018;   ///< Extended Device Control.

// ---- interrupts (datasheet 7.4, 10.2.4: ICR 10.2.4.1) ----------------------------------------------
constexpr std::uint32_t ICR = 0x000C0;         ///< Interrupt Cause Read (write 1 to clear).
constexpr std::uint32_t ITR = 0x000C4;         ///< Interrupt Throttling (10.2.4.2).
constexpr std::uint32_t IMS = 0x000D0;         ///< Interrupt Mask Set.
constexpr std::uint32_t IMC = 0x000D8;         ///< Interrupt Mask Clear.
constexpr std::uint32_t IVAR = 0x000E4;        ///< Interrupt Vector Allocation (MSI-X, 10.2.4.9).
constexpr std::uint32_t ICR_LSC = 1u << 2;     ///< Link Status Change.
constexpr std::uint32_t ICR_RXT0 = 1u << 7;    ///< Receiver timer interrupt (legacy/MSI).
constexpr std::uint32_t ICR_RXQ0 = 1u << 20;   ///< Receive queue 0 (MSI-X).
constexpr std::uint32_t ICR_OTHER = 1u << 24;  ///< Other causes, link changes among them (MSI-X).
constexpr std::uint32_t IVAR_VALID = 0x8;      ///< Valid bit of each 4-bit IVAR entry.
constexpr unsigned IVAR_RXQ0_SHIFT = 0;        ///< IVAR entry of receive queue 0.
constexpr unsigned IVAR_OTHER_SHIFT = 16;      ///< IVAR entry of the other causes.

// ---- receive (datasheet 7.1, 10.2.5; RCTL 10.2.5.1) ------------------------------------------
constexpr std::uint32_t RCTL = 0x00100;         ///< Receive Control.
constexpr std::uint32_t RCTL_EN = 1u << 1;      ///< Receiver enable.
constexpr std::uint32_t RCTL_UPE = 1u << 3;     ///< Unicast promiscuous.
constexpr std::uint32_t RCTL_MPE = 1u << 4;     ///< Multicast promiscuous.
constexpr std::uint32_t RCTL_BAM = 1u << 15;    ///< Broadcast accept.
constexpr std::uint32_t RCTL_SECRC = 1u << 26;  ///< Strip the Ethernet CRC.
constexpr std::uint32_t RDBAL = 0x02800;        ///< Receive Descriptor Base Low (queue 0).
constexpr std::uint32_t RDBAH = 0x02804;        ///< Receive Descriptor Base High.
constexpr std::uint32_t RDLEN = 0x02808;        ///< Receive Descriptor ring Length in bytes.
constexpr std::uint32_t RDH = 0x02810;          ///< Receive Descriptor Head.
constexpr std::uint32_t RDT = 0x02818;          ///< Receive Descriptor Tail.
constexpr std::uint32_t RDTR = 0x02820;         ///< Receive interrupt packet delay timer.
constexpr std::uint32_t RADV = 0x0282C;         ///< Receive interrupt absolute delay timer.
constexpr std::uint32_t MTA = 0x05200;          ///< Multicast Table Array: 128 x 32 bits.
constexpr unsigned MTA_REGISTERS = 128;         ///< Registers in the MTA (4096 hash bits).
constexpr std::uint32_t RAL0 = 0x05400;         ///< Receive Address Low, entry 0.
constexpr std::uint32_t RAH0 = 0x05404;         ///< Receive Address High, entry 0.
constexpr std::uint32_t RAH_AV = 1u << 31;      ///< Address Valid.

// ---- transmit (datasheet 7.2, 10.2.6) ----------------------------------------------------------
constexpr std::uint32_t TCTL = 0x00400;           ///< Transmit Control.
constexpr std::uint32_t TCTL_EN = 1u << 1;        ///< Transmitter enable.
constexpr std::uint32_t TCTL_PSP = 1u << 3;       ///< Pad short packets.
constexpr std::uint32_t TCTL_CT = 0x0fu << 4;     ///< Collision threshold (the recommended 15).
constexpr std::uint32_t TCTL_COLD = 0x3fu << 12;  ///< Collision distance (full duplex: 63).
constexpr std::uint32_t TDBAL = 0x03800;          ///< Transmit Descriptor Base Low (queue 0).
constexpr std::uint32_t TDBAH = 0x03804;          ///< Transmit Descriptor Base High.
constexpr std::uint32_t TDLEN = 0x03808;          ///< Transmit Descriptor ring Length in bytes.
constexpr std::uint32_t TDH = 0x03810;            ///< Transmit Descriptor Head.
constexpr std::uint32_t TDT = 0x03818;            ///< Transmit Descriptor Tail.

// ---- statistics (datasheet 10.2.7: all clear on read) ----------------------------------------------
constexpr std::uint32_t CRCERRS = 0x04000;  ///< CRC errors.
constexpr std::uint32_t MPC = 0x04010;      ///< Missed packets (receive FIFO full).
constexpr std::uint32_t COLC = 0x04028;     ///< Collisions.
constexpr std::uint32_t GPRC = 0x04074;     ///< Good packets received.
constexpr std::uint32_t GPTC = 0x04080;     ///< Good packets transmitted.
constexpr std::uint32_t GORCL = 0x04088;    ///< Good octets received, low (read before high).
constexpr std::uint32_t GORCH = 0x0408C;    ///< Good octets received, high.
constexpr std::uint32_t GOTCL = 0x04090;    ///< Good octets transmitted, low.
constexpr std::uint32_t GOTCH = 0x04094;    ///< Good octets transmitted, high.
constexpr std::uint32_t RNBC = 0x040A0;     ///< Receive no buffers (ring empty).
constexpr std::uint32_t TPR = 0x040D0;      ///< Total packets received.
constexpr std::uint32_t TPT = 0x040D4;      ///< Total packets transmitted.

/// Legacy receive descriptor (datasheet 7.1.4.1): 16 bytes, written back by the device.
struct RxDescriptor {
    std::uint64_t address;   ///< Buffer device address (IOVA).
    std::uint16_t length;    ///< Bytes written (CRC stripped with RCTL.SECRC).
    std::uint16_t checksum;  ///< Packet checksum.
    std::uint8_t status;     ///< RX_DD, RX_EOP, ...
    std::uint8_t errors;     ///< CRC, symbol, sequence, ... errors.
    std::uint16_t special;   ///< VLAN tag.
};
static_assert(sizeof(RxDescriptor) == 16, "82574 legacy receive descriptor is 16 bytes");
constexpr std::uint8_t RX_DD = 1u << 0;   ///< Descriptor Done.
constexpr std::uint8_t RX_EOP = 1u << 1;  ///< End Of Packet.

/// Legacy transmit descriptor (datasheet 7.2.10.1): 16 bytes.
struct TxDescriptor {
    std::uint64_t address;  ///< Buffer device address (IOVA).
    std::uint16_t length;   ///< Bytes to send.
    std::uint8_t cso;       ///< Checksum offset.
    std::uint8_t command;   ///< TX_EOP | TX_IFCS | TX_RS.
    std::uint8_t status;    ///< TX_DD once sent (with TX_RS).
    std::uint8_t css;       ///< Checksum start.
    std::uint16_t special;  ///< VLAN tag.
};
static_assert(sizeof(TxDescriptor) == 16, "82574 legacy transmit descriptor is 16 bytes");
constexpr std::uint8_t TX_EOP = 1u << 0;   ///< End Of Packet.
constexpr std::uint8_t TX_IFCS = 1u << 1;  ///< Insert the Ethernet CRC.
constexpr std::uint8_t TX_RS = 1u << 3;    ///< Report Status: write TX_DD back when done.
constexpr std::uint8_t TX_DD = 1u << 0;    ///< Descriptor Done (status).

}  // namespace nexnet::e1000e
