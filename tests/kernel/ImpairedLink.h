#pragma once
/// @file ImpairedLink.h
/// @brief ImpairedLink: loss, reordering and duplication of the TCP segments a nexnet interface
/// receives, for tests where netem is not available (the kernel here has no sch_netem).

#include "framework/IONetwork.h"
#include "inet/EthernetView.h"
#include "inet/Ipv4View.h"
#include "netbuf/Netbuf.h"
#include "netif/InputConsumer.h"
#include "netif/NetworkInterface.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace nexnet::test {

/// An input consumer ahead of everything else on an interface that, while enabled, drops,
/// delays (reorders) and duplicates received TCP segments carrying payload, each with its own
/// probability in thousandths, from a fixed pseudo-random sequence (the same run every time).
/// Delayed frames and copies are re-injected behind the frames of a later burst, or by release().
class ImpairedLink : public InputConsumer {
public:
    /// Probabilities in thousandths.
    struct Rates {
        unsigned loss = 10;       ///< 1 %
        unsigned reorder = 50;    ///< 5 %
        unsigned duplicate = 10;  ///< 1 %
    };
    static constexpr int kPriority = 10;

    ImpairedLink(NetworkInterface& interface, Rates rates) : interface_(interface), rates_(rates) {
        interface_.addInputConsumer(this, kPriority);
    }
    ~ImpairedLink() override {
        interface_.removeInputConsumer(this);
        for (Netbuf* frame : delayed_) frame->free();
    }
    /// Starts (or stops) impairing.
    void enable(bool on) { enabled_ = on; }
    /// Re-injects the frames held back.
    void release() {
        if (delayed_.empty()) return;
        std::vector<Netbuf*> frames;
        frames.swap(delayed_);
        interface_.injectInput(0, frames.data(), static_cast<unsigned>(frames.size()), kPriority);
    }

    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        std::vector<Netbuf*> earlier;
        earlier.swap(delayed_);
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
                if (Netbuf* copy = interface_.driver().allocateNetbuf()) {
                    if (copy->setSize(packets[i]->size()) == 0) {
                        std::memcpy(copy->data(), packets[i]->data(), packets[i]->size());
                        delayed_.push_back(copy);
                        duplicated++;
                    } else {
                        copy->free();
                    }
                }
            }
        }
        // What was held back from earlier bursts arrives after this burst's frames.
        if (!earlier.empty())
            interface_.injectInput(0, earlier.data(), static_cast<unsigned>(earlier.size()), kPriority);
    }

    unsigned lost = 0;        ///< Segments dropped.
    unsigned reordered = 0;   ///< Segments delayed behind later ones.
    unsigned duplicated = 0;  ///< Segments delivered twice.

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

    NetworkInterface& interface_;
    Rates rates_;
    bool enabled_ = false;
    std::vector<Netbuf*> delayed_;
    std::uint32_t state_ = 2463534242u;
};

}  // namespace nexnet::test
