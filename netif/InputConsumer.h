#pragma once
/// @file InputConsumer.h
/// @brief InputConsumer: a layer that takes received packets from a NetworkInterface.

namespace nexnet {

class NetworkInterface;
class Netbuf;

/// Something that consumes received packets: a protocol (the sample's ARP/ICMP responder), an
/// app ring in intercept mode, a capture tap, the host-stack bridge.
///
/// A NetworkInterface offers each received burst to its consumers in order of priority. A
/// consumer takes a packet by setting its slot to nullptr: it then owns the netbuf and must free
/// or pass it on. It may also just look (a capture) and leave the slot alone. Packets no consumer
/// takes are freed and counted as drops.
class InputConsumer {
public:
    virtual ~InputConsumer() = default;
    /// Sees @p count packets received on @p queue of @p interface; slots may already be nullptr
    /// (taken by an earlier consumer). Called on the interface's event-loop thread; must not block.
    virtual void consumeInput(NetworkInterface& interface, unsigned queue, Netbuf** packets, unsigned count) = 0;

    /// Takes every packet still in @p packets (sets its slot to nullptr) and hands them, in
    /// order, to @p handle(Netbuf** burst, unsigned n) in bursts of at most 32: what a consumer
    /// that takes everything does, and how the interface drops what nobody took.
    template <typename Handle>
    static void takeRemaining(Netbuf** packets, unsigned count, Handle&& handle) {
        constexpr unsigned kBurst = 32;
        Netbuf* burst[kBurst];
        unsigned n = 0;
        for (unsigned i = 0; i < count; ++i) {
            if (packets[i] == nullptr) continue;
            burst[n++] = packets[i];
            packets[i] = nullptr;
            if (n == kBurst) {
                handle(burst, n);
                n = 0;
            }
        }
        if (n > 0) handle(burst, n);
    }
};

}  // namespace nexnet
