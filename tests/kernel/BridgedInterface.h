#pragma once
/// @file BridgedInterface.h
/// @brief BridgedInterface: the topology of the tests of layers beside a HostStackBridge.
///
/// @verbatim
///   peer namespace (peer address) == wire tap == nexnet [InetStack, priority 50] -- HostStackBridge
///   == host tap == host namespace (the kernel owning the stack's address, the wire's Ethernet address)
/// @endverbatim

#include "TapHarness.h"

#include "framework/EventLoop.h"
#include "inet/InetStack.h"
#include "netif/HostStackBridge.h"
#include "netif/NetworkInterface.h"

#include <arpa/inet.h>
#include <memory>
#include <string>

namespace nexnet::test {

/// A nexnet interface on a tap whose kernel end sits in a peer namespace, a HostStackBridge whose
/// host tap sits in a host namespace, and an InetStack beside the bridge, all run on one loop.
struct BridgedInterface {
    std::unique_ptr<NetworkInterface> wire;   ///< The nexnet interface.
    std::unique_ptr<HostStackBridge> bridge;  ///< Its exception path to the host namespace's kernel.
    std::unique_ptr<InetStack> stack;         ///< The protocol layer beside the bridge.

    /// Builds it: the wire's kernel end gets @p peerCidr in @p peer, the host tap @p hostAddress/24
    /// in @p host, and the wire interface @p hostAddress too. Fails the test (fatally) on error.
    void open(EventLoop& loop, const NetworkNamespace& peer, const std::string& peerCidr, const NetworkNamespace& host,
              const std::string& hostAddress) {
        std::string wireName = uniqueTapName("w");
        auto tap = openTap("tap:" + wireName);
        ASSERT_TRUE(tap);
        wire = std::make_unique<NetworkInterface>(std::move(tap));
        ASSERT_TRUE(moveIntoNamespace(wireName, peer, peerCidr));
        HostStackBridge::Options options;
        options.hostName = uniqueTapName("h");
        auto made = HostStackBridge::create(*wire, options);
        ASSERT_TRUE(made);
        bridge = std::move(made.value());
        ASSERT_TRUE(moveIntoNamespace(options.hostName, host, hostAddress + "/24"));
        ASSERT_EQ(wire->setUp(), 0);
        in_addr ours{};
        inet_pton(AF_INET, hostAddress.c_str(), &ours);
        ASSERT_EQ(wire->setAddress(ours, in_addr{htonl(0xffffff00)}), 0);
        ASSERT_TRUE(wire->attach(loop, NetworkInterface::Mode::interrupt));
        ASSERT_EQ(bridge->attach(loop), 0);
        InetStack::Options stackOptions;
        stackOptions.bridge = bridge.get();
        auto inet = InetStack::create(*wire, stackOptions);
        ASSERT_TRUE(inet);
        stack = std::move(inet.value());
        ASSERT_EQ(stack->attach(loop), 0);
    }
    /// Takes it down, the stack first (what uses the stack must be gone before).
    void close() {
        stack.reset();
        bridge.reset();
        if (wire) wire->detach();
        wire.reset();
    }
};

}  // namespace nexnet::test
