#pragma once
/// @file ImpairedLink.h
/// @brief ImpairedLink: loss, reordering and duplication of the TCP segments a nexnet interface
/// receives, for tests where netem is not available (the kernel here has no sch_netem).

#include "SegmentImpairment.h"
#include "netif/InputConsumer.h"

namespace nexnet::test {

/// An input consumer ahead of everything else on an interface that impairs received TCP
/// segments (SegmentImpairment). Held-back frames and copies are re-injected behind the frames of
/// a later burst, or by release().
class ImpairedLink : public InputConsumer, public SegmentImpairment {
public:
    static constexpr int kPriority = 10;

    ImpairedLink(NetworkInterface& interface, Rates rates) : SegmentImpairment(rates), interface_(interface) {
        interface_.addInputConsumer(this, kPriority);
    }
    ~ImpairedLink() override { interface_.removeInputConsumer(this); }
    /// Re-injects the frames held back.
    void release() { inject(takeDelayed()); }

    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        std::vector<Netbuf*> earlier = takeDelayed();
        impair(interface_, packets, count);
        // What was held back from earlier bursts arrives after this burst's frames.
        inject(std::move(earlier));
    }

private:
    void inject(std::vector<Netbuf*> frames) {
        if (!frames.empty()) interface_.injectInput(0, frames.data(), static_cast<unsigned>(frames.size()), kPriority);
    }

    NetworkInterface& interface_;
};

}  // namespace nexnet::test
