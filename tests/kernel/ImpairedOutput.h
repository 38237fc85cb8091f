#pragma once
/// @file ImpairedOutput.h
/// @brief ImpairedOutput: loss, reordering and duplication of the TCP segments a nexnet interface
/// sends, for tests where netem is not available (the kernel here has no sch_netem).

#include "SegmentImpairment.h"
#include "netif/OutputInterceptor.h"

namespace nexnet::test {

/// The output interceptor of an interface that impairs the TCP segments it is about to send
/// (SegmentImpairment). Held-back frames and copies leave when release() is called (every turn
/// of the test's loop), behind the frames sent meanwhile.
class ImpairedOutput : public OutputInterceptor, public SegmentImpairment {
public:
    ImpairedOutput(NetworkInterface& interface, Rates rates) : SegmentImpairment(rates), interface_(interface) {
        interface_.setOutputInterceptor(this);
    }
    ~ImpairedOutput() override { interface_.setOutputInterceptor(nullptr); }
    /// Sends the frames held back.
    void release() {
        std::vector<Netbuf*> frames = takeDelayed();
        if (!frames.empty()) interface_.outputInterceptedBurst(frames.data(), static_cast<unsigned>(frames.size()));
    }

    void interceptOutput(NetworkInterface&, Netbuf** packets, unsigned count) override {
        impair(interface_, packets, count);
    }

private:
    NetworkInterface& interface_;
};

}  // namespace nexnet::test
