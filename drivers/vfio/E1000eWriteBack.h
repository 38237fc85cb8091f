#pragma once
/// @file E1000eWriteBack.h
/// @brief E1000eWriteBack: what an e1000e wrote back into a receive descriptor, read as a buggy or
/// hostile device may have written it.

#include <algorithm>
#include <cstdint>

namespace nexnet {

/// Checks of the receive descriptors an 82574 (e1000e) writes back (Intel 82574 datasheet
/// section 7.1.4, legacy descriptors): the status, errors and length the device writes into memory
/// the driver shares with it. Nothing is trusted: a descriptor done beyond those the device was
/// given, a frame without end of packet, a length shorter than an Ethernet header or longer than
/// the buffer each get a verdict the driver counts as a receive error; none hands out a netbuf the
/// device did not fill or a size outside it. E1000eDriver reads its receive ring through it; the
/// fuzz target E1000eWriteBackFuzz writes descriptors as a device gone wrong would.
///
/// Pure functions of their arguments: any thread, never blocks.
class E1000eWriteBack {
public:
    /// Descriptor Done (status bit 0, 7.1.4.1): the device has written the descriptor back.
    static constexpr std::uint8_t kDone = 1u << 0;
    /// End Of Packet (status bit 1): the last descriptor of a frame.
    static constexpr std::uint8_t kEndOfPacket = 1u << 1;
    /// An Ethernet header: the shortest frame the driver hands up.
    static constexpr std::uint32_t kMinFrame = 14;

    /// What one written-back descriptor says.
    enum class Verdict : std::uint8_t {
        accepted,     ///< One whole good frame of a length within the buffer.
        notDone,      ///< DD clear: the device has not written it back (not a frame yet).
        fragment,     ///< DD without EOP: a frame over one buffer, which the MTU forbids.
        deviceError,  ///< The errors byte is not zero (CRC, symbol, sequence, ... 7.1.4.3).
        runt,         ///< Shorter than an Ethernet header.
        oversize,     ///< Longer than the buffer the descriptor offered.
    };

    /// The verdict on a descriptor the device wrote back with @p status, @p errors and @p length,
    /// whose buffer holds @p bufferSize bytes.
    static constexpr Verdict judge(std::uint8_t status, std::uint8_t errors, std::uint16_t length,
                                   std::uint32_t bufferSize) {
        if ((status & kDone) == 0) return Verdict::notDone;
        if ((status & kEndOfPacket) == 0) return Verdict::fragment;
        if (errors != 0) return Verdict::deviceError;
        if (length < kMinFrame) return Verdict::runt;
        if (length > bufferSize) return Verdict::oversize;
        return Verdict::accepted;
    }

    /// Descriptors of a ring of @p ringSize the driver may read from its next one in one burst of
    /// at most @p burst: the device holds all but one (head == tail reads as an empty ring, 7.1.8),
    /// so a DD seen further on is one the device was never given.
    static constexpr unsigned readable(unsigned ringSize, unsigned burst) {
        return std::min(burst, ringSize == 0 ? 0u : ringSize - 1);
    }
};

}  // namespace nexnet
