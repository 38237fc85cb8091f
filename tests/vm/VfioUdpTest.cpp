// VM tests of the protocol layer (inet/) on VFIO NICs: the zero-copy proof of issue 13. A
// UdpEndpoint hands over the datagram where the NIC wrote it: in the netbuf the driver received
// (the very one its receive burst handed up), inside the driver's pool, at the device address
// (IOVA) the IOMMU maps that byte to.
//
// Two boots already made for other tests carry them (tests/vm/CMakeLists.txt):
// - VfioPair (run-guest.sh --nics 2, e1000e and virtio-net): an InetStack on each NIC of the QEMU
//   hub; B's endpoint sends datagrams of 1 to 1472 bytes to A's, resolving A with ARP first.
// - VfioMultiqueue (--nics mq, virtio-net, 4 queue pairs): the Linux kernel at the tap's other
//   end sends the datagrams (run-guest.sh's udp-flows: 16 flows, spread over the queues).

#include "MultiqueueHarness.h"
#include "inet/InetStack.h"
#include "inet/UdpEndpoint.h"
#include "netif/InputConsumer.h"
#include "netif/NetworkInterface.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace nexnet;
using namespace nexnet::test;
using namespace std::chrono_literals;

namespace {

constexpr unsigned kHeaders = 14 + 20 + 8;  // Ethernet, IPv4 without options, UDP

in_addr address(const char* text) {
    in_addr a{};
    inet_pton(AF_INET, text, &a);
    return a;
}

/// Looks at every frame the driver hands up, before the stack (it takes none): which netbuf, and
/// where its frame started.
struct ReceivedFrames : InputConsumer {
    std::vector<std::pair<const Netbuf*, const std::uint8_t*>> frames;
    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            if (packets[i] != nullptr) frames.emplace_back(packets[i], packets[i]->data());
        }
    }
    /// True when @p netbuf was handed up by the driver with its frame at @p frame.
    bool handedUp(const Netbuf* netbuf, const std::uint8_t* frame) const {
        return std::find(frames.begin(), frames.end(), std::make_pair(netbuf, frame)) != frames.end();
    }
};

/// A VFIO NIC as a NetworkInterface with the protocol layer on it at @p ip/24, and a
/// ReceivedFrames watching ahead of the layer.
struct InetNic {
    std::unique_ptr<NetworkInterface> interface;
    std::unique_ptr<InetStack> stack;
    ReceivedFrames frames;

    InetNic(const std::string& bdf, const std::string& options, const char* ip) {
        auto nic = openNic(bdf, options);
        if (!nic) return;
        interface = std::make_unique<NetworkInterface>(std::move(nic));
        EXPECT_EQ(interface->setUp(), 0);
        EXPECT_TRUE(interface->driver().isRunning());
        interface->addInputConsumer(&frames, InetStack::kPriority - 10);
        auto created = InetStack::create(*interface, InetStack::Options{});
        EXPECT_TRUE(created.ok()) << created.describe();
        if (!created) return;
        stack = std::move(*created);
        EXPECT_EQ(stack->setAddress(address(ip), address("255.255.255.0")), 0);
    }
    ~InetNic() {
        stack.reset();  // the stack before the interface
        if (interface) interface->removeInputConsumer(&frames);
    }
    bool ok() const { return stack != nullptr; }
    /// One turn: receive on every queue, hand to the consumers, run the stack's timers.
    void pump() {
        interface->poll();
        stack->tick();
    }
};

/// What the zero-copy proof found over the datagrams checked.
struct ZeroCopyCount {
    unsigned datagrams = 0, inPool = 0, atDeviceAddress = 0, handedUp = 0;
};

/// Checks that @p datagram's payload is where @p nic's device wrote it, counting into @p count:
/// inside the pool the driver receives into (the DMA region mapped for the device), its device
/// address the IOMMU mapping of that byte (one IOVA base for the whole region), in the netbuf
/// the driver's receive burst handed up with the frame's headers right in front of the payload.
void checkWhereTheDeviceWroteIt(const UdpDatagram& datagram, const InetNic& nic, ZeroCopyCount& count) {
    const NetbufPool& pool = *nic.interface->driver().pool();
    const DmaRegion& region = pool.dataRegion();
    const std::uint8_t* payload = datagram.payload().data();
    const std::size_t size = datagram.payload().size();
    count.datagrams++;
    const bool inPool = datagram.netbuf->poolId() == pool.id() && payload >= region.data() &&
        payload + size <= region.data() + region.size();
    count.inPool += inPool;
    EXPECT_TRUE(inPool) << "payload at " << static_cast<const void*>(payload) << " (" << size << " bytes), pool "
                        << static_cast<const void*>(region.data()) << " + " << region.size();
    if (!inPool) return;
    const std::size_t offset = static_cast<std::size_t>(payload - region.data());
    const bool atDeviceAddress = region.iova() != 0 && datagram.netbuf->ioAddress() == region.iovaAt(offset);
    count.atDeviceAddress += atDeviceAddress;
    EXPECT_TRUE(atDeviceAddress) << "device address 0x" << std::hex << datagram.netbuf->ioAddress()
                                 << ", the region's mapping of that byte 0x" << region.iovaAt(offset);
    const bool handedUp = nic.frames.handedUp(datagram.netbuf, payload - kHeaders);
    count.handedUp += handedUp;
    EXPECT_TRUE(handedUp) << "the datagram's netbuf is not one the driver received";
}

std::vector<std::uint8_t> pattern(std::size_t size, unsigned seed) {
    std::vector<std::uint8_t> data(size);
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<std::uint8_t>(i * 13 + seed);
    return data;
}

void printProof(const char* label, const ZeroCopyCount& count, const InetNic& nic) {
    std::printf(
        "udp zero-copy (%s): %u datagrams, %u in the driver's pool, %u at the IOMMU address of that byte, "
        "%u in the netbuf the driver handed up; stack: %s\n",
        label, count.datagrams, count.inPool, count.atDeviceAddress, count.handedUp,
        nic.stack->statistics().format().c_str());
}

}  // namespace

TEST(VfioPair, UdpEndpointReceivesDatagramsWhereTheNicWroteThem) {
    InetNic a(firstBdf(), "", "10.78.0.1");
    InetNic b(secondBdf(), "", "10.78.0.2");
    ASSERT_TRUE(a.ok() && b.ok());
    // Endpoints are declared after the stacks: they close first.
    auto receiver = UdpEndpoint::open(*a.stack, in_addr{INADDR_ANY}, 7000, UdpEndpoint::Options{});
    auto sender = UdpEndpoint::open(*b.stack, in_addr{INADDR_ANY}, 7001, UdpEndpoint::Options{});
    ASSERT_TRUE(receiver.ok() && sender.ok());
    ASSERT_EQ((*sender)->connect(address("10.78.0.1"), 7000), 0);

    // One datagram at a time, each waited for: the first waits in B's stack for A's ARP answer.
    const std::size_t sizes[] = {1, 18, 64, 512, 1000, 1472};
    ZeroCopyCount count;
    unsigned sent = 0, matched = 0;
    for (unsigned round = 0; round < 4; ++round) {
        for (std::size_t size : sizes) {
            const std::vector<std::uint8_t> data = pattern(size, sent);
            Netbuf* nb = (*sender)->allocate(static_cast<std::uint32_t>(size));
            ASSERT_NE(nb, nullptr);
            ASSERT_EQ(nb->append(data.data(), static_cast<std::uint32_t>(size)), 0);
            ASSERT_EQ((*sender)->send(nb), 0);
            sent++;
            UdpDatagram datagram;
            bool arrived = false;
            for (auto deadline = std::chrono::steady_clock::now() + 5s;
                 !arrived && std::chrono::steady_clock::now() < deadline;) {
                b.pump();
                a.pump();
                arrived = (*receiver)->receive(&datagram, 1) == 1;
            }
            ASSERT_TRUE(arrived) << "datagram " << sent << " of " << size
                                 << " bytes; A: " << a.stack->statistics().format()
                                 << "; B: " << b.stack->statistics().format();
            EXPECT_EQ(datagram.sourcePort, 7001);
            EXPECT_EQ(datagram.source.s_addr, address("10.78.0.2").s_addr);
            const bool same =
                datagram.payload().size() == size && std::memcmp(datagram.payload().data(), data.data(), size) == 0;
            matched += same;
            EXPECT_TRUE(same) << "datagram " << sent << " of " << size << " bytes arrived with "
                              << datagram.payload().size();
            checkWhereTheDeviceWroteIt(datagram, a, count);
            datagram.netbuf->free();
        }
    }
    printProof(isVirtio() ? "virtio-net pair" : "e1000e pair", count, a);
    EXPECT_EQ(matched, sent);
    EXPECT_EQ(count.handedUp, sent);
    EXPECT_EQ(a.stack->statistics().udpDelivered, sent);
}

TEST(VfioMultiqueue, UdpEndpointReceivesKernelDatagramsWhereTheNicWroteThem) {
    InetNic nic(firstBdf(), ",queues=4", "10.77.0.2");
    ASSERT_TRUE(nic.ok());
    ASSERT_EQ(nic.interface->driver().queueCount(), 4u);
    auto endpoint = UdpEndpoint::open(*nic.stack, in_addr{INADDR_ANY}, 9, UdpEndpoint::Options{});
    ASSERT_TRUE(endpoint.ok());

    hostAction("udp-flows");  // the kernel sends "nexnet-flow PORT I" from ports 40000-40015
    const unsigned wanted = kMqFlows * kMqDatagramsPerFlow;
    ZeroCopyCount count;
    std::map<unsigned, unsigned> perFlow;
    unsigned received = 0, matched = 0;
    UdpDatagram datagrams[32];
    for (auto deadline = std::chrono::steady_clock::now() + 15s;
         received < wanted && std::chrono::steady_clock::now() < deadline;) {
        nic.pump();
        unsigned n = (*endpoint)->receive(datagrams, 32);
        for (unsigned i = 0; i < n; ++i) {
            const UdpDatagram& d = datagrams[i];
            received++;
            perFlow[d.sourcePort]++;
            const std::string text(reinterpret_cast<const char*>(d.payload().data()), d.payload().size());
            const std::string expected = "nexnet-flow " + std::to_string(d.sourcePort) + " ";
            const bool same = d.source.s_addr == address("10.77.0.1").s_addr && text.rfind(expected, 0) == 0;
            matched += same;
            EXPECT_TRUE(same) << "from port " << d.sourcePort << ": '" << text << "'";
            checkWhereTheDeviceWroteIt(d, nic, count);
            d.netbuf->free();
        }
    }
    printProof("virtio-net, kernel peer, 4 queues", count, nic);
    EXPECT_EQ(received, wanted) << nic.stack->statistics().format();
    EXPECT_EQ(matched, received);
    EXPECT_EQ(count.handedUp, received);
    EXPECT_EQ(perFlow.size(), kMqFlows);
}
