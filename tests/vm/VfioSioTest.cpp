// VM test of the sio calls on a nexnet endpoint over a VFIO NIC (issue 14): sio_recv returns a
// pointer to where the NIC wrote the datagram, and sio_sendto sends the program's netbuf from its
// device address, out to the host.
//
// Its own boot (tests/vm/CMakeLists.txt, vm.virtio-net.sio): run-guest.sh --nics mq, one
// virtio-net NIC on a tap whose other end is the Linux kernel of a namespace, 10.77.0.1. The
// endpoint is sio_nexnet_open("vfio:BDF") at 10.77.0.2, port 9: the kernel sends it datagrams
// (the host action udp-flows), and answers what the endpoint sends to port 9007 (udp-echo).

#include "MultiqueueHarness.h"
#include "inet/InetStack.h"
#include "netbuf/NetbufPool.h"
#include "netif/InputConsumer.h"
#include "netif/NetworkInterface.h"
#include "netif/OutputObserver.h"
#include "sio/core/Sockets.h"
#include "sio/nexnet.h"
#include "sio/nexnet/NexnetEndpoint.h"
#include "sio/nexnet/NexnetSocket.h"
#include "sio/nexnet/PoolMemory.h"
#include "sio/sio.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

using namespace nexnet;
using namespace nexnet::test;
using namespace std::chrono_literals;

namespace {

constexpr unsigned kHeaders = 14 + 20 + 8;  // Ethernet, IPv4 without options, UDP

/// The frames the driver hands up (before the stack) and the interface sends (before the driver),
/// recorded on the interface's thread: which netbuf, and where its frame starts.
struct Frames : InputConsumer, OutputObserver {
    std::mutex lock;
    std::vector<std::pair<const Netbuf*, const std::uint8_t*>> received, sent;
    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        std::lock_guard<std::mutex> guard(lock);
        for (unsigned i = 0; i < count; ++i)
            if (packets[i] != nullptr) received.emplace_back(packets[i], packets[i]->data());
    }
    void observeOutput(NetworkInterface&, unsigned, Netbuf* const* packets, unsigned count) override {
        std::lock_guard<std::mutex> guard(lock);
        for (unsigned i = 0; i < count; ++i) sent.emplace_back(packets[i], packets[i]->data());
    }
    bool handedUp(const Netbuf* netbuf, const std::uint8_t* frame) {
        std::lock_guard<std::mutex> guard(lock);
        return std::find(received.begin(), received.end(), std::make_pair(netbuf, frame)) != received.end();
    }
    bool wasSent(const Netbuf* netbuf, const std::uint8_t* frame) {
        std::lock_guard<std::mutex> guard(lock);
        return std::find(sent.begin(), sent.end(), std::make_pair(netbuf, frame)) != sent.end();
    }
};

struct Proof {
    unsigned datagrams = 0, inRegion = 0, atDeviceAddress = 0, atReceiveDescriptor = 0, handedUp = 0;
};

/// Checks that the @p size bytes at @p p, which sio_recvfrom returned, are where the NIC wrote them:
/// inside the pool region dma_getinfo describes (the DMA region mapped for the device), in a netbuf
/// whose device address for that byte is the IOMMU mapping of it, its frame at the address the
/// driver gave the receive descriptor (the netbuf's buffer plus the pool's headroom: e1000e and
/// virtio-net both post bufferIoAddress() + headroom), and in the netbuf the driver handed up.
void checkWhereTheNicWroteIt(const void* p, std::size_t size, const dma_info& info, NetbufPool& pool, Frames& frames,
                             Proof& proof) {
    const auto* payload = static_cast<const std::uint8_t*>(p);
    const auto* start = static_cast<const std::uint8_t*>(info.di_addr);
    proof.datagrams++;
    const bool inRegion = payload >= start && payload + size <= start + info.di_size;
    proof.inRegion += inRegion;
    EXPECT_TRUE(inRegion) << static_cast<const void*>(payload) << " is not in the pool region "
                          << static_cast<const void*>(start) << " + " << info.di_size;
    if (!inRegion) return;
    const DmaRegion& region = pool.dataRegion();
    Netbuf* netbuf = pool.netbufContaining(payload);
    ASSERT_NE(netbuf, nullptr);
    const std::size_t offset = static_cast<std::size_t>(payload - region.data());
    const bool atDeviceAddress = region.iova() != 0 && netbuf->ioAddress() == region.iovaAt(offset);
    proof.atDeviceAddress += atDeviceAddress;
    EXPECT_TRUE(atDeviceAddress) << "device address 0x" << std::hex << netbuf->ioAddress()
                                 << ", the region's mapping of that byte 0x" << region.iovaAt(offset);
    const std::uint8_t* frame = payload - kHeaders;
    const bool atDescriptor = frame == netbuf->buffer() + pool.headroom() &&
        region.iovaAt(static_cast<std::size_t>(frame - region.data())) == netbuf->bufferIoAddress() + pool.headroom();
    proof.atReceiveDescriptor += atDescriptor;
    EXPECT_TRUE(atDescriptor) << "frame at offset " << (frame - netbuf->buffer()) << " of its buffer, headroom "
                              << pool.headroom();
    const bool handedUp = frames.handedUp(netbuf, frame);
    proof.handedUp += handedUp;
    EXPECT_TRUE(handedUp) << "the datagram's netbuf is not one the driver received";
}

in_addr address(const char* text) {
    in_addr a{};
    inet_pton(AF_INET, text, &a);
    return a;
}

}  // namespace

TEST(VfioSio, SioRecvPointsWhereTheNicWroteAndSioSendtoReachesTheHost) {
    dma_mem_t mem = nullptr;
    const std::string uri = "vfio:" + firstBdf();
    int fd = sio_nexnet_open(uri.c_str(), "10.77.0.2/24", 9, &mem);
    ASSERT_GE(fd, 0) << uri << ": " << sio_last_error();
    dma_info info{};
    ASSERT_EQ(dma_getinfo(mem, &info), 0) << sio_last_error();
    Frames frames;
    NetbufPool* pool = nullptr;
    NetworkInterface* interface = nullptr;
    sio::PoolMemory* memory = nullptr;  // all three live until sio_close
    {
        auto socket = sio::Sockets::instance().acquire(fd, false);
        ASSERT_TRUE(socket);
        auto* endpoint = dynamic_cast<sio::NexnetSocket*>(&*socket);
        ASSERT_NE(endpoint, nullptr);
        memory = &endpoint->memory();
        pool = &memory->driverPool();
        interface = &endpoint->endpoint().interface();
    }
    // Control calls: they wait until no burst runs on the interface's thread.
    interface->addInputConsumer(&frames, InetStack::kPriority - 10);
    interface->addOutputObserver(&frames);
    ASSERT_NE(pool->dataRegion().iova(), 0u) << "the pool has no device address: not a VFIO NIC's";

    // The kernel sends 16 flows of 8 datagrams to port 9; each is checked where sio_recvfrom left it.
    hostAction("udp-flows");
    hostAction("udp-echo");
    const unsigned wanted = kMqFlows * kMqDatagramsPerFlow;
    Proof proof;
    unsigned flows = 0, echoes = 0, echoesSent = 0;
    std::vector<std::pair<const Netbuf*, const std::uint8_t*>> sends;  // each send's netbuf and payload
    sockaddr_in echo{};
    echo.sin_family = AF_INET;
    echo.sin_port = htons(9007);
    echo.sin_addr = address("10.77.0.1");
    auto lastSend = std::chrono::steady_clock::now() - 1s, lastReport = std::chrono::steady_clock::now();
    for (auto deadline = std::chrono::steady_clock::now() + 60s;
         (flows < wanted || echoes == 0) && std::chrono::steady_clock::now() < deadline;) {
        if (std::chrono::steady_clock::now() - lastReport > 5s) {  // where a slow guest is, on its console
            lastReport = std::chrono::steady_clock::now();
            std::lock_guard<std::mutex> guard(frames.lock);
            std::printf("sio: %u flow datagrams, %u echoes of %u sent; %zu frames handed up, %zu sent; %u lent\n",
                        flows, echoes, echoesSent, frames.received.size(), frames.sent.size(), pool->lent());
            std::fflush(stdout);
        }
        // One datagram to the host's echo port, again every half second until one comes back (the
        // host starts answering a moment after it was asked), each from a netbuf sio_reserve gave,
        // released at once: the driver gives it back when it reclaims its transmit descriptor
        // (virtio-net and e1000e do so on their next transmit), and then it goes back to the pool.
        if (echoes == 0 && std::chrono::steady_clock::now() - lastSend > 500ms) {
            void* reply = nullptr;
            ASSERT_EQ(sio_reserve(mem, &reply, 64), 0) << sio_last_error();
            int length = std::snprintf(static_cast<char*>(reply), 64, "nexnet-sio-echo %u", echoesSent);
            sends.emplace_back(pool->netbufContaining(reply), static_cast<const std::uint8_t*>(reply));
            ASSERT_EQ(sio_sendto(fd, reply, static_cast<std::size_t>(length), 0, reinterpret_cast<sockaddr*>(&echo),
                                 sizeof echo),
                      length)
                << sio_last_error();
            EXPECT_EQ(sio_release(mem, reply, 64), 0) << sio_last_error();
            echoesSent++;
            lastSend = std::chrono::steady_clock::now();
        }
        void* data;
        sockaddr_in from{};
        socklen_t fromLength = sizeof from;
        ssize_t n = sio_recvfrom(fd, &data, 2048, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromLength);
        if (n < 0) {
            ASSERT_EQ(errno, EAGAIN) << sio_last_error();
            std::this_thread::sleep_for(1ms);
            continue;
        }
        const std::string text(static_cast<const char*>(data), static_cast<std::size_t>(n));
        EXPECT_EQ(from.sin_addr.s_addr, address("10.77.0.1").s_addr);
        if (ntohs(from.sin_port) == 9007) {
            echoes++;
            EXPECT_EQ(text.rfind("nexnet-sio-echo ", 0), 0u) << text;
        } else {
            flows++;
            EXPECT_EQ(text.rfind("nexnet-flow " + std::to_string(ntohs(from.sin_port)) + " ", 0), 0u) << text;
        }
        checkWhereTheNicWroteIt(data, static_cast<std::size_t>(n), info, *pool, frames, proof);
        EXPECT_EQ(sio_release(mem, data, static_cast<std::size_t>(n)), 0) << sio_last_error();
    }
    // Each reserved netbuf itself went out, its frame in its headroom, from its device address.
    unsigned wentOutAsThemselves = 0;
    for (const auto& [netbuf, payload] : sends) wentOutAsThemselves += frames.wasSent(netbuf, payload - kHeaders);
    interface->removeOutputObserver(&frames);
    interface->removeInputConsumer(&frames);
    std::printf(
        "sio zero-copy (virtio-net, kernel peer): %u datagrams received, %u in the pool region, %u at the IOMMU "
        "address of that byte, %u at the receive descriptor's address, %u in the netbuf the driver handed up; "
        "%u echoes of %u datagrams sent, %u of them in the reserved netbuf itself, %llu in copies\n",
        proof.datagrams, proof.inRegion, proof.atDeviceAddress, proof.atReceiveDescriptor, proof.handedUp, echoes,
        echoesSent, wentOutAsThemselves, static_cast<unsigned long long>(memory->copiedSends()));
    EXPECT_EQ(flows, wanted);
    EXPECT_GE(echoes, 1u) << "nothing sent with sio_sendto came back from the host";
    EXPECT_EQ(wentOutAsThemselves, echoesSent) << "the driver did not send the reserved netbufs themselves";
    EXPECT_EQ(memory->copiedSends(), 0u);
    EXPECT_EQ(proof.handedUp, proof.datagrams);
    EXPECT_EQ(proof.atReceiveDescriptor, proof.datagrams);
    EXPECT_EQ(sio_close(fd), 0) << sio_last_error();
}
