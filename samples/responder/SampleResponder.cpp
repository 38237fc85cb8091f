#include "samples/responder/SampleResponder.h"

#include "framework/IOEthernet.h"
#include "netbuf/NetbufPool.h"
#include "netif/NetworkInterface.h"
#include "samples/responder/ArpResponder.h"
#include "samples/responder/IcmpResponder.h"
#include "samples/responder/Ipv4Packet.h"
#include "samples/responder/NetworkOrder.h"

#include <net/ethernet.h>

namespace nexnet {

SampleResponder::SampleResponder(const Options& options) : options_(options), udp_(options.udpPort) {}

Verdict SampleResponder::classify(Netbuf& frame) {
    if (frame.size() < IOEthernet::kHeaderSize) return Verdict::drop(DropReason::runt);
    const std::uint8_t* ethernet = frame.data();
    // Frames for another station (seen in promiscuous mode) are not ours to answer.
    EthernetAddress destination = EthernetAddress::fromBytes(ethernet);
    if (!(destination == options_.mac) && !destination.isBroadcast()) return Verdict::ignore();
    switch (loadBig16(ethernet + 12)) {
    case ETHERTYPE_ARP: {
        Verdict verdict = ArpResponder::respond(frame, options_.mac, options_.ip);
        if (verdict.isReply()) statistics_.arpReplies++;
        return verdict;
    }
    case ETHERTYPE_IP: {
        if (destination.isBroadcast()) return Verdict::ignore();  // no answers to IP broadcasts
        Ipv4Packet packet(frame);
        Verdict verdict = packet.validate(options_.ip);
        if (!verdict.isReply()) return verdict;
        if (packet.protocol() == Ipv4Packet::kIcmp) {
            verdict = IcmpResponder::respond(packet, options_.mac);
            if (verdict.isReply()) statistics_.icmpReplies++;
            return verdict;
        }
        if (packet.protocol() == Ipv4Packet::kUdp) {
            verdict = udp_.respond(packet, options_.mac);
            if (verdict.isReply()) statistics_.udpReplies++;
            return verdict;
        }
        return Verdict::ignore();  // TCP and the rest: well formed, not served here
    }
    default:
        return Verdict::drop(DropReason::ethertype);
    }
}

unsigned SampleResponder::respond(Netbuf* const* packets, unsigned count, Netbuf** replies) {
    unsigned n = 0;
    for (unsigned i = 0; i < count; ++i) {
        Netbuf* frame = packets[i];
        statistics_.received++;
        Verdict verdict = classify(*frame);
        if (verdict.isReply()) {
            replies[n++] = frame;
            continue;
        }
        if (verdict.action == Verdict::Action::drop) statistics_.countDrop(verdict.reason);
        else statistics_.ignored++;
        frame->free();
    }
    return n;
}

void SampleResponder::consumeInput(NetworkInterface& interface, unsigned, Netbuf** packets, unsigned count) {
    // Take the frames no earlier consumer took, leaving nullptr in their slots.
    Netbuf* mine[NetworkInterface::kBurst];
    unsigned taken = 0;
    for (unsigned i = 0; i < count; ++i) {
        if (packets[i] != nullptr) {
            mine[taken++] = packets[i];
            packets[i] = nullptr;
        }
        if (taken == NetworkInterface::kBurst || (i + 1 == count && taken > 0)) {
            answer(interface, mine, taken);
            taken = 0;
        }
    }
}

void SampleResponder::answer(NetworkInterface& interface, Netbuf* const* frames, unsigned count) {
    Netbuf* replies[NetworkInterface::kBurst];
    unsigned n = respond(frames, count, replies);
    if (n == 0) return;
    // The replies go out as one burst; what the output queue cannot hold it frees and we count.
    unsigned accepted = interface.outputBurst(replies, n);
    statistics_.transmitted += accepted;
    statistics_.transmitDrops += n - accepted;
}

}  // namespace nexnet
