#pragma once
/// @file VirtqueueUsedRing.h
/// @brief VirtqueueUsedRing: the used ring of a split virtqueue read as a buggy or hostile device
/// may have written it.

#include "drivers/vfio/VirtioNetLayout.h"

#include <cstdint>
#include <vector>

namespace nexnet {

/// The driver's reading of one split virtqueue's used ring (virtio 1.2 section 2.7.8): the idx the
/// device advances and the elements {id, len} it writes, all in memory the device writes whenever
/// it likes. Nothing the device wrote is trusted: an idx more than the ring ahead of what was
/// read, an id outside the queue or one the device does not hold (never made available, or used
/// twice), a length shorter than a frame or longer than the buffer, each gets a verdict the driver
/// counts; none makes the driver index outside its arrays or hand out a buffer the device did not
/// fill. VirtioNetDriver reads its receive and transmit queues through it; the fuzz target
/// VirtioUsedRingFuzz writes the ring as a device gone wrong would.
///
/// Holding: which descriptor ids the device holds (made available and not yet used), one byte
/// each, so that a double use is caught in the same load that fetches the netbuf's slot.
///
/// Threading: the queue's thread only (as the queue it belongs to); nothing here allocates after
/// attach(), locks or makes a system call.
class VirtqueueUsedRing {
public:
    /// What one used element says, once checked.
    enum class Verdict : std::uint8_t {
        taken,           ///< An id the device held: now the driver's again.
        badId,           ///< An id outside the queue: skipped.
        notOutstanding,  ///< An id the device does not hold (used twice, never made available): skipped.
    };

    /// What a receive element's length says of its frame.
    enum class Frame : std::uint8_t {
        fits,      ///< At least a header and an Ethernet header, at most the buffer.
        runt,      ///< Shorter than the device's header and an Ethernet header.
        oversize,  ///< Longer than the buffer the descriptor offered.
    };

    /// One element as read from the ring (a copy: the device may write it again meanwhile).
    struct Element {
        std::uint32_t id = 0;      ///< Head descriptor of the chain the device used.
        std::uint32_t length = 0;  ///< Bytes the device says it wrote.
    };

    /// Not attached: ready() says nothing is pending.
    VirtqueueUsedRing() = default;

    /// Reads the used ring at @p header (flags, idx: le16 each) and @p elements (@p size entries, a
    /// power of two of at most 32768) of a queue of @p size descriptors, none held by the device
    /// yet; the next element read is @p lastUsed's.
    void attach(volatile const std::uint16_t* header, volatile const virtio::UsedElement* elements, unsigned size,
                std::uint16_t lastUsed = 0) {
        header_ = header;
        elements_ = elements;
        size_ = size;
        lastUsed_ = lastUsed;
        held_.assign(size, 0);
    }

    /// The driver made descriptor chain @p id (below size()) available: the device holds it until
    /// it uses it.
    void posted(std::uint16_t id) { held_[id] = 1; }
    /// The driver took back chain @p id without the device using it (a reset queue).
    void reclaimed(std::uint16_t id) { held_[id] = 0; }
    /// True while the device holds chain @p id (below size()).
    bool held(std::uint16_t id) const { return held_[id] != 0; }

    /// The idx the device last wrote (2.7.8): elements before it are used. One 16-bit load.
    std::uint16_t deviceIndex() const { return header_ == nullptr ? lastUsed_ : header_[1]; }
    /// Elements the device has used and the driver not read, given its @p deviceIndex: at most
    /// size(), since the device can use only what it holds. @return that count, or kOverrun when
    /// the device's idx ran further ahead (a device fault: nothing of the ring can be trusted).
    unsigned ready(std::uint16_t deviceIndex) const {
        unsigned count = static_cast<std::uint16_t>(deviceIndex - lastUsed_);
        return count <= size_ ? count : kOverrun;
    }
    /// ready()'s answer for an idx further ahead than the ring holds.
    static constexpr unsigned kOverrun = ~0u;

    /// Reads the next element, after ready() said there is one and after the acquire the
    /// specification asks for between idx and the elements (2.7.14), and moves past it. On
    /// Verdict::taken the device no longer holds @p element.id.
    Verdict next(Element& element) {
        volatile const virtio::UsedElement& used = elements_[lastUsed_ & (size_ - 1)];
        element.id = used.id;
        element.length = used.length;
        lastUsed_++;
        if (element.id >= size_) return Verdict::badId;
        if (held_[element.id] == 0) return Verdict::notOutstanding;
        held_[element.id] = 0;
        return Verdict::taken;
    }

    /// What a receive element's @p length (the device's @p header bytes, then the frame) says,
    /// for a buffer of @p room bytes header included: a frame is at least an Ethernet header (14).
    static constexpr Frame judgeFrame(std::uint32_t length, std::uint32_t header, std::uint32_t room) {
        if (length < header + 14) return Frame::runt;
        if (length > room) return Frame::oversize;
        return Frame::fits;
    }

    /// The next element's position (free running, as idx).
    std::uint16_t lastUsed() const { return lastUsed_; }
    /// Descriptors in the queue.
    unsigned size() const { return size_; }

private:
    volatile const std::uint16_t* header_ = nullptr;
    volatile const virtio::UsedElement* elements_ = nullptr;
    unsigned size_ = 0;
    std::uint16_t lastUsed_ = 0;
    std::vector<std::uint8_t> held_;  // by descriptor id: 1 while the device holds it
};

}  // namespace nexnet
