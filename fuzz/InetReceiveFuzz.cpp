// Fuzz target: frames through an interface's whole receive path with nexnet-sample's responder on
// it: NetworkInterface, the protocol layer (InetStack: ARP, IPv4 with reassembly, ICMP, UDP) and
// the sample's UDP echo service (EchoService), as nexnet-sample runs them, with a clock the input
// moves. The input is a sequence of steps: a burst of frames of any bytes (with any checksum
// offload flags), time passing, the echo service serving.
//
// What the sample promised (issue 17, finding 4), checked on every frame it sends: from our own
// Ethernet and IPv4 addresses; to a unicast station, except ARP requests (broadcast); IPv4 only
// to a peer that may be answered (InetStack::isUnicastPeer: never a broadcast, multicast, zero,
// loopback or our own address); UDP never to port 0 or an echo-like port (no echo loop); no frame
// beyond the MTU. And once the service and the stack are gone, every netbuf is back in the pool.
#include "FuzzFinding.h"
#include "FuzzInput.h"

#include "framework/IOEthernet.h"
#include "inet/EthernetView.h"
#include "inet/InetStack.h"
#include "inet/Ipv4View.h"
#include "inet/NetworkOrder.h"
#include "inet/UdpView.h"
#include "netbuf/NetbufPool.h"
#include "netif/NetworkInterface.h"
#include "samples/responder/EchoService.h"

#include <arpa/inet.h>

#include <memory>
#include <vector>

using namespace nexnet;
using nexnet::fuzz::expect;
using nexnet::fuzz::FuzzInput;

namespace {

constexpr std::uint8_t kOurMac[6] = {0x02, 0, 0, 0, 0, 0x02};
constexpr unsigned kPoolSize = 256;
constexpr unsigned kMtu = 1500;

InetStack* currentStack = nullptr;  // the stack of the input running, for the checks below
EchoService* currentEcho = nullptr;

// Checks one frame the stack or the echo service sends.
void checkSent(const Netbuf& packet) {
    std::span<std::uint8_t> frame(packet.data(), packet.size());
    EthernetView ethernet = EthernetView::parse(frame);
    expect(ethernet.valid(), "a frame sent without an Ethernet header");
    expect(frame.size() <= EthernetView::kHeaderSize + 4 + kMtu, "a frame sent beyond the MTU");
    expect(ethernet.source() == EthernetAddress::fromBytes(kOurMac), "a frame sent from another Ethernet address");
    bool groupDestination = (ethernet.destination().bytes[0] & 1) != 0;
    if (ethernet.etherType() == EthernetView::kTypeArp) return;  // requests are broadcast, replies unicast
    expect(!groupDestination, "a frame other than ARP sent to a broadcast or multicast station");
    expect(ethernet.destination() != EthernetAddress::fromBytes(kOurMac), "a frame sent to our own station");
    if (ethernet.etherType() != EthernetView::kTypeIpv4 || currentStack == nullptr) return;
    Ipv4View ip = Ipv4View::parse(ethernet.payload());
    expect(ip.valid(), "an IPv4 packet sent that does not parse");
    expect(ip.headerChecksumValid(), "an IPv4 packet sent with a wrong header checksum");
    expect(currentStack->isOurAddress(ip.source()), "an IPv4 packet sent from another address");
    expect(currentStack->isUnicastPeer(ip.destination()),
           "an IPv4 packet sent to an address that must not be answered");
    if (ip.protocol() != Ipv4View::kUdp || ip.fragmentOffset() != 0 || currentEcho == nullptr) return;
    // The ports from the bytes: the first fragment of a datagram beyond the MTU is no whole UdpView.
    expect(ip.payload().size() >= UdpView::kHeaderSize, "a datagram sent without its UDP header");
    std::uint16_t port = loadBig16(ip.payload().data() + 2);
    expect(!currentEcho->isLoopPort(port), "a datagram sent to port 0 or an echo-like port");
}

// An Ethernet driver whose transmit checks each frame and frees it; receive is the input's.
class CheckingEthernet : public IOEthernet {
public:
    explicit CheckingEthernet(std::shared_ptr<NetbufPool> pool) {
        setName("fuzz0");
        attachToNetworkWithAddress(EthernetAddress::fromBytes(kOurMac));
        setPool(std::move(pool));
    }
    unsigned transmitBurst(unsigned, Netbuf** packets, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            checkSent(*packets[i]);
            packets[i]->free();
        }
        return count;
    }
};

// Up to @p max bytes of the input as one frame in a netbuf of @p pool (nullptr when it is dry).
Netbuf* takeFrame(FuzzInput& input, NetbufPool& pool) {
    Netbuf* frame = pool.allocate();
    if (frame == nullptr) return nullptr;
    std::uint32_t length = input.below(kMtu + 19);  // up to a tagged full frame, and a few bytes more
    std::uint8_t bytes[kMtu + 32];
    for (std::uint32_t i = 0; i < length; ++i) bytes[i] = input.take<std::uint8_t>();
    if (frame->append(bytes, length) != 0) {
        frame->free();
        return nullptr;
    }
    frame->offload().flags = input.take<std::uint8_t>() & (NetbufOffload::kNeedsChecksum | NetbufOffload::kDataValid);
    return frame;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput input(data, size);
    NetbufPool::Options poolOptions;
    poolOptions.count = kPoolSize;
    poolOptions.hugepages = false;
    auto made = NetbufPool::create(poolOptions);
    expect(made.ok(), "a pool of 256 netbufs");
    std::shared_ptr<NetbufPool> pool(made.value().release());
    {
        auto owned = std::make_unique<CheckingEthernet>(pool);
        CheckingEthernet* driver = owned.get();
        NetworkInterface interface(std::move(owned));
        expect(interface.setUp() == 0, "the interface comes up");
        std::uint64_t clock = 1'000'000'000;
        InetStack::Options options;
        options.clock = [&clock] { return clock; };
        auto stack = InetStack::create(interface, options);
        expect(stack.ok(), "the protocol layer on an Ethernet driver");
        currentStack = stack.value().get();
        in_addr address{}, netmask{};
        inet_pton(AF_INET, "10.77.0.2", &address);
        inet_pton(AF_INET, "255.255.255.0", &netmask);
        expect(stack.value()->setAddress(address, netmask) == 0, "the sample's address");
        auto echo = EchoService::open(*stack.value(), EchoService::kEchoPort);
        expect(echo.ok(), "the echo service on port 7");
        currentEcho = echo.value().get();

        for (unsigned step = 0; step < 64 && input.more(); ++step) {
            switch (input.choose(4)) {
            case 0:
            case 1: {  // a burst of frames (the common case, twice as likely)
                Netbuf* burst[8];
                unsigned count = 1 + input.choose(8), n = 0;
                for (unsigned i = 0; i < count; ++i)
                    if (Netbuf* frame = takeFrame(input, *pool)) burst[n++] = frame;
                if (n != 0) driver->handleInputBurst(0, burst, n);
                break;
            }
            case 2:  // time passes: ARP retries and ageing, reassembly timeouts
                clock += std::uint64_t{input.below(60'000)} * 1'000'000;
                stack.value()->tick();
                break;
            case 3:
                echo.value()->serve();
                break;
            }
        }
        echo.value()->serve();
        currentEcho = nullptr;
        echo.value().reset();  // the endpoint before the stack, the stack before the interface
        currentStack = nullptr;
        stack.value().reset();
    }
    expect(pool->inUse() == 0, "netbufs kept after the service, the stack and the interface are gone");
    return 0;
}
