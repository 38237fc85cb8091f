#pragma once
/// @file QueueForwarder.h
/// @brief A forwarder as an input consumer, for the multi-queue tests.

#include "netif/InputConsumer.h"
#include "netif/NetworkInterface.h"

namespace nexnet::test {

/// Sends everything an interface receives out of another, on the queue it came from: with both
/// interfaces on the same QueueWorkers, each flow stays on one thread both ways.
class QueueForwarder : public InputConsumer {
public:
    explicit QueueForwarder(NetworkInterface& to) : to_(to) {}
    void consumeInput(NetworkInterface&, unsigned queue, Netbuf** packets, unsigned count) override {
        InputConsumer::takeRemaining(packets, count,
                                     [&](Netbuf** burst, unsigned n) { to_.outputBurst(queue, burst, n); });
    }

private:
    NetworkInterface& to_;
};

}  // namespace nexnet::test
