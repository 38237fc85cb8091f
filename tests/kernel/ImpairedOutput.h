#pragma once
/// @file ImpairedOutput.h
/// @brief ImpairedOutput: loss, reordering and duplication of the TCP segments a nexnet interface
/// sends, for tests where netem is not available (the kernel here has no sch_netem).

#include "inet/EthernetView.h"
#include "inet/Ipv4View.h"
#include "netbuf/Netbuf.h"
#include "netif/NetworkInterface.h"
#include "netif/OutputInterceptor.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace nexnet::test {

/// The output interceptor of an interface that, while enabled, drops, delays (reorders) and
/// duplicates the TCP segments carrying payload it is about to send, each with its own
/// probability in thousandths, from a fixed pseudo-random sequence (the same run every time).
/// Delayed frames and copies leave when release() is called (every turn of the test's loop),
/// behind the frames sent meanwhile.
class ImpairedOutput : public OutputInterceptor {
public:
    /// Probabilities in thousandths.
    struct Rates {
        unsigned loss = 10;       ///< 1 %
        unsigned reorder = 50;    ///< 5 %
        unsigned duplicate = 10;  ///< 1 %
    };

    ImpairedOutput(NetworkInterface& interface, Rates rates) : interface_(interface), rates_(rates) {
        interface_.setOutputInterceptor(this);
    }
    ~ImpairedOutput() override {
        interface_.setOutputInterceptor(nullptr);
        for (Netbuf* frame : delayed_) frame->free();
    }
    /// Starts (or stops) impairing.
    void enable(bool on) { enabled_ = on; }
    /// Sends the frames held back.
    void release() {
        if (delayed_.empty()) return;
        std::vector<Netbuf*> frames;
        frames.swap(delayed_);
        interface_.outputInterceptedBurst(frames.data(), static_cast<unsigned>(frames.size()));
    }

    void interceptOutput(NetworkInterface&, Netbuf** packets, unsigned count) override {
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

    unsigned lost = 0;        ///< Segments dropped.
    unsigned reordered = 0;   ///< Segments delayed behind later ones.
    unsigned duplicated = 0;  ///< Segments sent twice.

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
