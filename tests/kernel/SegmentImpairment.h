#pragma once
/// @file SegmentImpairment.h
/// @brief SegmentImpairment: which TCP segments a test's impaired link drops, reorders or
/// duplicates (the kernel here has no sch_netem).

#include "inet/EthernetView.h"
#include "inet/Ipv4View.h"
#include "netbuf/Netbuf.h"
#include "netif/NetworkInterface.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace nexnet::test {

/// The decisions ImpairedLink (received segments) and ImpairedOutput (sent segments) share: while
/// enabled, each TCP segment carrying payload is dropped, held back (to leave behind later
/// frames: reordered) or copied (duplicated), each with its own probability in thousandths, from
/// a fixed pseudo-random sequence (the same run every time). Where the held-back frames go is the
/// subclass's business (takeDelayed()).
class SegmentImpairment {
public:
    /// Probabilities in thousandths.
    struct Rates {
        unsigned loss = 10;       ///< 1 %
        unsigned reorder = 50;    ///< 5 %
        unsigned duplicate = 10;  ///< 1 %
    };

    explicit SegmentImpairment(Rates rates) : rates_(rates) {}
    ~SegmentImpairment() {
        for (Netbuf* frame : delayed_) frame->free();
    }
    SegmentImpairment(const SegmentImpairment&) = delete;
    SegmentImpairment& operator=(const SegmentImpairment&) = delete;

    /// Starts (or stops) impairing.
    void enable(bool on) { enabled_ = on; }

    unsigned lost = 0;        ///< Segments dropped.
    unsigned reordered = 0;   ///< Segments held back behind later ones.
    unsigned duplicated = 0;  ///< Segments copied (the copy is held back).

protected:
    /// Drops, holds back or copies (from @p interface's driver pool) the segments of @p packets;
    /// a frame dropped or held back leaves a nullptr in its place.
    void impair(NetworkInterface& interface, Netbuf** packets, unsigned count) {
        for (unsigned i = 0; enabled_ && i < count; ++i) {
            if (packets[i] == nullptr || !carriesTcpPayload(packets[i])) continue;
            unsigned draw = next() % 1000;
            if (draw < rates_.loss) {
                packets[i]->free();
                packets[i] = nullptr;
                lost++;
            } else if (draw < rates_.loss + rates_.reorder) {
                delayed_.push_back(packets[i]);
                packets[i] = nullptr;
                reordered++;
            } else if (draw < rates_.loss + rates_.reorder + rates_.duplicate) {
                if (Netbuf* copy = interface.driver().allocateNetbuf()) {
                    if (copy->setSize(packets[i]->size()) == 0) {
                        std::memcpy(copy->data(), packets[i]->data(), packets[i]->size());
                        copy->offload() = packets[i]->offload();
                        delayed_.push_back(copy);
                        duplicated++;
                    } else {
                        copy->free();
                    }
                }
            }
        }
    }
    /// The frames held back so far, the caller's from now on.
    std::vector<Netbuf*> takeDelayed() {
        std::vector<Netbuf*> frames;
        frames.swap(delayed_);
        return frames;
    }

private:
    static bool carriesTcpPayload(Netbuf* frame) {
        EthernetView ethernet = EthernetView::parse(*frame);
        if (!ethernet || ethernet.etherType() != EthernetView::kTypeIpv4) return false;
        Ipv4View ip = Ipv4View::parse(ethernet.payload());
        if (!ip || ip.protocol() != Ipv4View::kTcp || ip.payload().size() < 20) return false;
        return ip.payload().size() > static_cast<std::size_t>(ip.payload()[12] >> 4) * 4;
    }
    std::uint32_t next() {  // xorshift32: a fixed sequence
        state_ ^= state_ << 13;
        state_ ^= state_ >> 17;
        state_ ^= state_ << 5;
        return state_;
    }

    Rates rates_;
    bool enabled_ = false;
    std::vector<Netbuf*> delayed_;
    std::uint32_t state_ = 2463534242u;
};

}  // namespace nexnet::test
