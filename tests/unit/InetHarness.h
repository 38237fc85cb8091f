#pragma once
/// @file InetHarness.h
/// @brief An InetStack on a driver that records what it sends and receives what a test gives it,
/// with a clock the test moves: the protocol layer tested without privileges or sleeping.

#include "framework/IOEthernet.h"
#include "inet/InetStack.h"
#include "inet/UdpEndpoint.h"
#include "netbuf/NetbufPool.h"
#include "netif/NetworkInterface.h"
#include "support/FrameBuilder.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <memory>
#include <vector>

namespace nexnet::test {

/// An Ethernet driver whose transmit keeps a copy of every frame (and frees the netbuf).
class RecordingEthernet : public IOEthernet {
public:
    explicit RecordingEthernet(const EthernetAddress& mac, std::uint32_t poolSize = 512) {
        setName("inet0");
        attachToNetworkWithAddress(mac);
        NetbufPool::Options options;
        options.count = poolSize;
        options.hugepages = false;
        setPool(std::shared_ptr<NetbufPool>(NetbufPool::create(options).value().release()));
    }
    unsigned transmitBurst(unsigned, Netbuf** packets, unsigned count) override {
        for (unsigned i = 0; i < count; ++i) {
            sent.emplace_back(packets[i]->data(), packets[i]->data() + packets[i]->size());
            offloads.push_back(packets[i]->offload());
            packets[i]->free();
        }
        return count;
    }
    std::vector<FrameBuilder::Frame> sent;  ///< Every frame transmitted, in order.
    std::vector<NetbufOffload> offloads;    ///< The offload state of each.
};

/// An InetStack on a RecordingEthernet, address 10.77.0.2/24, a clock at 1 s that tests move.
class InetHarness {
public:
    static constexpr FrameBuilder::Mac kOurMac = {0x02, 0, 0, 0, 0, 0x02};
    static constexpr FrameBuilder::Mac kPeerMac = {0x02, 0, 0, 0, 0, 0x01};
    static constexpr FrameBuilder::Ip kOurIp = {10, 77, 0, 2};
    static constexpr FrameBuilder::Ip kPeerIp = {10, 77, 0, 1};

    explicit InetHarness(InetStack::Options options = defaults()) {
        auto owned = std::make_unique<RecordingEthernet>(EthernetAddress::fromBytes(kOurMac.data()));
        driver = owned.get();
        interface = std::make_unique<NetworkInterface>(std::move(owned));
        EXPECT_EQ(interface->setUp(), 0);
        options.clock = [this] { return clock; };
        auto made = InetStack::create(*interface, options);
        EXPECT_TRUE(made.ok());
        stack = std::move(made.value());
        EXPECT_EQ(stack->setAddress(ip(kOurIp), ip({255, 255, 255, 0})), 0);
    }
    ~InetHarness() {
        endpoints.clear();
        stack.reset();
    }

    static InetStack::Options defaults() {
        InetStack::Options options;
        options.arp.retryInterval = std::chrono::milliseconds(1000);
        options.arp.reachableTime = std::chrono::milliseconds(30000);
        return options;
    }
    static in_addr ip(const FrameBuilder::Ip& bytes) {
        in_addr address;
        std::memcpy(&address.s_addr, bytes.data(), 4);
        return address;
    }

    /// Gives @p frames to the interface as one received burst (netbufs of the driver's pool).
    void receive(const std::vector<FrameBuilder::Frame>& frames, std::uint8_t offloadFlags = 0) {
        std::vector<Netbuf*> burst;
        for (const auto& frame : frames) {
            Netbuf* nb = driver->pool()->allocate();
            EXPECT_EQ(nb->append(frame.data(), static_cast<std::uint32_t>(frame.size())), 0);
            nb->offload().flags = offloadFlags;
            burst.push_back(nb);
        }
        driver->handleInputBurst(0, burst.data(), static_cast<unsigned>(burst.size()));
    }
    void receive(const FrameBuilder::Frame& frame, std::uint8_t offloadFlags = 0) {
        receive(std::vector<FrameBuilder::Frame>{frame}, offloadFlags);
    }
    /// Moves the clock by @p ms and runs the timers.
    void advance(unsigned ms) {
        clock += std::uint64_t{ms} * 1'000'000;
        stack->tick();
    }
    /// The frames sent since the last call.
    std::vector<FrameBuilder::Frame> takeSent() {
        std::vector<FrameBuilder::Frame> frames = std::move(driver->sent);
        driver->sent.clear();
        driver->offloads.clear();
        return frames;
    }
    /// Opens a UDP endpoint on @p port (any local address) and keeps it.
    UdpEndpoint& open(std::uint16_t port, unsigned queueLimit = 64) {
        UdpEndpoint::Options options;
        options.queueLimit = queueLimit;
        auto endpoint = UdpEndpoint::open(*stack, in_addr{INADDR_ANY}, port, options);
        EXPECT_TRUE(endpoint.ok()) << endpoint.error();
        endpoints.push_back(std::move(endpoint.value()));
        return *endpoints.back();
    }
    /// Answers the ARP request for @p who from @p mac, as the neighbour would.
    void arpReply(const FrameBuilder::Ip& who, const FrameBuilder::Mac& mac) {
        FrameBuilder::Frame reply = FrameBuilder::arpRequest(mac, who, kOurIp);
        std::copy(kOurMac.begin(), kOurMac.end(), reply.begin());  // unicast to us
        FrameBuilder::set16(reply, 14 + 6, 2);
        std::copy(kOurMac.begin(), kOurMac.end(), reply.begin() + 14 + 18);
        receive(reply);
    }

    std::uint64_t clock = 1'000'000'000;
    RecordingEthernet* driver = nullptr;
    std::unique_ptr<NetworkInterface> interface;
    std::unique_ptr<InetStack> stack;
    std::vector<std::unique_ptr<UdpEndpoint>> endpoints;
};

}  // namespace nexnet::test
