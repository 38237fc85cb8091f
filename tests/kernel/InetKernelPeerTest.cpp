// The protocol layer (inet/) with the Linux kernel as its peer: a tap whose kernel end sits in a
// namespace made for the test (10.79.0.1), an InetStack on the nexnet end (10.79.0.2). ARP both
// ways and ageing, ping both ways, UDP with kernel sockets both ways from 64 B to 8 KB (the large
// ones fragmented), bad checksums and malformed headers dropped and counted, port unreachable
// seen as ECONNREFUSED, and an endpoint beside a HostStackBridge.
//
// Everything nexnet does runs on the test's thread (pump()); commands that block (ping) run on
// another thread meanwhile. The zero-copy proof on a VFIO NIC (an endpoint's received payload
// pointer inside the DMA region the device wrote) is tests/vm/VfioUdpTest.cpp.
#include "BridgedInterface.h"
#include "TapHarness.h"

#include "framework/EventLoop.h"
#include "inet/InetStack.h"
#include "inet/UdpEndpoint.h"
#include "netif/HostStackBridge.h"
#include "netif/NetworkInterface.h"
#include "support/FrameBuilder.h"

#include <arpa/inet.h>
#include <future>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>

using namespace nexnet;
using namespace nexnet::test;
using Frame = FrameBuilder::Frame;

namespace {

const in_addr kOurs{htonl(0x0a4f0002)};    // 10.79.0.2
const in_addr kKernel{htonl(0x0a4f0001)};  // 10.79.0.1
const FrameBuilder::Ip kOurBytes = {10, 79, 0, 2};
const FrameBuilder::Ip kKernelBytes = {10, 79, 0, 1};

Frame pattern(std::size_t size, unsigned seed) {
    Frame data(size);
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<std::uint8_t>(i * 31 + seed);
    return data;
}

/// Closes a file descriptor when it goes out of scope.
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

class InetKernelPeerTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        ns_ = std::make_unique<NetworkNamespace>("inet");
        ASSERT_TRUE(ns_->ok());
        tapName_ = uniqueTapName("i");
        std::string uri = "tap:" + tapName_ + (GetParam() == "tapvnet" ? ",vnet=1" : "");
        auto tap = openTap(uri);
        ASSERT_TRUE(tap);
        interface_ = std::make_unique<NetworkInterface>(std::move(tap));
        ASSERT_EQ(interface_->setUp(), 0);
        ASSERT_TRUE(moveIntoNamespace(tapName_, *ns_, "10.79.0.1/24"));
        InetStack::Options options;
        options.arp.reachableTime = std::chrono::milliseconds(reachableMs_);
        options.arp.retryInterval = std::chrono::milliseconds(200);
        auto stack = InetStack::create(*interface_, options);
        ASSERT_TRUE(stack);
        stack_ = std::move(stack.value());
        ASSERT_EQ(stack_->setAddress(kOurs, in_addr{htonl(0xffffff00)}), 0);
    }
    void TearDown() override {
        endpoints_.clear();
        stack_.reset();
        interface_.reset();
    }

    /// Runs the interface (and the stack's timers) until @p done or @p timeout.
    bool pump(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        return pollUntil(
            [&] {
                interface_->poll();
                stack_->tick();
                return done();
            },
            timeout);
    }
    /// Runs @p command in the namespace while pumping. @return its result.
    CommandResult runWhilePumping(const std::string& command, int seconds = 20) {
        auto result = std::async(std::launch::async, [&] { return ns_->run(command, seconds); });
        pump([&] { return result.wait_for(std::chrono::seconds(0)) == std::future_status::ready; },
             std::chrono::seconds(seconds + 5));
        return result.get();
    }
    UdpEndpoint& open(std::uint16_t port) {
        auto endpoint = UdpEndpoint::open(*stack_, in_addr{INADDR_ANY}, port, UdpEndpoint::Options{});
        EXPECT_TRUE(endpoint.ok());
        endpoints_.push_back(std::move(endpoint.value()));
        return *endpoints_.back();
    }
    /// A kernel UDP socket in the namespace bound to 10.79.0.1:@p port, non-blocking.
    int kernelSocket(std::uint16_t port) {
        int fd = ns_->openSocket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr = kKernel;
        EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << strerror(errno);
        return fd;
    }
    const InetStatistics& stats() const { return stack_->statistics(); }
    /// The kernel end's Ethernet address and index, read inside the namespace.
    void kernelLink(FrameBuilder::Mac& mac, int& ifindex) {
        Fd fd{ns_->openSocket(AF_INET, SOCK_DGRAM, 0)};
        ifreq ifr{};
        std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", tapName_.c_str());
        ASSERT_EQ(ioctl(fd.fd, SIOCGIFINDEX, &ifr), 0);
        ifindex = ifr.ifr_ifindex;
        ASSERT_EQ(ioctl(fd.fd, SIOCGIFHWADDR, &ifr), 0);
        std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, 6);
    }
    FrameBuilder::Mac ourMac() const {
        FrameBuilder::Mac mac;
        std::copy(stack_->ethernetAddress().bytes.begin(), stack_->ethernetAddress().bytes.end(), mac.begin());
        return mac;
    }

    unsigned reachableMs_ = 60000;
    std::unique_ptr<NetworkNamespace> ns_;
    std::string tapName_;
    std::unique_ptr<NetworkInterface> interface_;
    std::unique_ptr<InetStack> stack_;
    std::vector<std::unique_ptr<UdpEndpoint>> endpoints_;
};

TEST_P(InetKernelPeerTest, TheKernelResolvesUsAndWeResolveTheKernel) {
    // Kernel to us: arping gets our address.
    CommandResult arping = runWhilePumping("arping -c 2 -w 5 -I " + tapName_ + " 10.79.0.2", 10);
    EXPECT_EQ(arping.status, 0) << arping.output;
    std::string mac = stack_->ethernetAddress().toString();
    std::transform(mac.begin(), mac.end(), mac.begin(), ::toupper);
    EXPECT_NE(arping.output.find(mac), std::string::npos) << arping.output;
    EXPECT_GE(stats().arpAnswered, 2u);
    // Us to the kernel: a ping makes us ask; the kernel's answer fills our table.
    ASSERT_EQ(stack_->neighbours().remove(kKernel), 0);
    ASSERT_EQ(stack_->sendEchoRequest(kKernel, 1, 1), 0);
    ASSERT_TRUE(pump([&] { return stack_->neighbours().lookup(kKernel, stack_->now()) != nullptr; }));
    FrameBuilder::Mac kernelMac{};
    int ifindex = 0;
    kernelLink(kernelMac, ifindex);
    EXPECT_EQ(*stack_->neighbours().lookup(kKernel, stack_->now()), EthernetAddress::fromBytes(kernelMac.data()));
}

TEST_P(InetKernelPeerTest, PingsBothWays) {
    CommandResult ping = runWhilePumping("ping -q -c 5 -i 0.05 -W 2 10.79.0.2");
    EXPECT_NE(ping.output.find("5 packets transmitted, 5 received"), std::string::npos) << ping.output;
    std::vector<std::uint16_t> replies;
    stack_->setEchoReplyHandler([&](in_addr from, std::uint16_t, std::uint16_t sequence) {
        if (from.s_addr == kKernel.s_addr) replies.push_back(sequence);
    });
    for (std::uint16_t sequence = 1; sequence <= 5; ++sequence) {
        ASSERT_EQ(stack_->sendEchoRequest(kKernel, 0x99, sequence, 1000), 0);
        ASSERT_TRUE(pump([&] { return replies.size() == sequence; })) << sequence;
    }
    EXPECT_EQ(replies, (std::vector<std::uint16_t>{1, 2, 3, 4, 5}));
}

TEST_P(InetKernelPeerTest, ForgetsTheKernelAfterTheReachableTimeAndAsksAgain) {
    TearDown();
    reachableMs_ = 300;
    SetUp();
    ASSERT_EQ(stack_->sendEchoRequest(kKernel, 1, 1), 0);
    ASSERT_TRUE(pump([&] { return stats().echoRepliesReceived == 1; }));
    std::uint64_t asked = stats().arpRequestsSent;
    ASSERT_TRUE(pump([&] { return stack_->neighbours().size() == 0; }));  // aged out
    ASSERT_EQ(stack_->sendEchoRequest(kKernel, 1, 2), 0);
    ASSERT_TRUE(pump([&] { return stats().echoRepliesReceived == 2; }));
    EXPECT_EQ(stats().arpRequestsSent, asked + 1);
}

TEST_P(InetKernelPeerTest, ExchangesDatagramsWithKernelSocketsFrom64BytesTo8KB) {
    UdpEndpoint& endpoint = open(7000);
    Fd kernel{kernelSocket(7001)};
    sockaddr_in us{};
    us.sin_family = AF_INET;
    us.sin_port = htons(7000);
    us.sin_addr = kOurs;
    for (std::size_t size : {64u, 512u, 1472u, 1473u, 4000u, 8192u}) {
        // Kernel to us.
        Frame sent = pattern(size, static_cast<unsigned>(size));
        ASSERT_EQ(sendto(kernel.fd, sent.data(), size, 0, reinterpret_cast<sockaddr*>(&us), sizeof us),
                  static_cast<ssize_t>(size))
            << strerror(errno);
        UdpDatagram datagram{};
        ASSERT_TRUE(pump([&] { return endpoint.receive(&datagram, 1) == 1; })) << "kernel to us, " << size;
        EXPECT_EQ(Frame(datagram.payload().begin(), datagram.payload().end()), sent) << size;
        EXPECT_EQ(datagram.source.s_addr, kKernel.s_addr);
        EXPECT_EQ(datagram.sourcePort, 7001);
        // Us to the kernel: the same netbuf goes back with a new payload size... the same bytes.
        ASSERT_EQ(endpoint.sendTo(datagram.netbuf, datagram.source, datagram.sourcePort), 0);
        Frame back(9000);
        ssize_t got = -1;
        ASSERT_TRUE(pump([&] { return (got = recv(kernel.fd, back.data(), back.size(), 0)) >= 0; }))
            << "us to kernel, " << size;
        back.resize(static_cast<std::size_t>(got));
        EXPECT_EQ(back, sent) << size;
    }
    EXPECT_GE(stats().reassembled, 3u);
    EXPECT_GE(stats().fragmentsSent, 9u);
}

TEST_P(InetKernelPeerTest, PortUnreachableReachesAKernelSocketAsEconnrefused) {
    Fd kernel{kernelSocket(7002)};
    sockaddr_in closed{};
    closed.sin_family = AF_INET;
    closed.sin_port = htons(9);
    closed.sin_addr = kOurs;
    ASSERT_EQ(connect(kernel.fd, reinterpret_cast<sockaddr*>(&closed), sizeof closed), 0);
    ASSERT_EQ(send(kernel.fd, "x", 1, 0), 1);
    int error = 0;
    ASSERT_TRUE(pump([&] {
        char byte;
        if (recv(kernel.fd, &byte, 1, 0) < 0 && errno != EAGAIN) error = errno;
        return error != 0;
    }));
    EXPECT_EQ(error, ECONNREFUSED);
    EXPECT_EQ(stats().unreachableSent, 1u);
}

TEST_P(InetKernelPeerTest, DropsAndCountsBadChecksumsAndMalformedHeaders) {
    UdpEndpoint& endpoint = open(7);
    FrameBuilder::Mac kernelMac{};
    int ifindex = 0;
    kernelLink(kernelMac, ifindex);
    Fd raw{ns_->openSocket(AF_PACKET, SOCK_RAW, 0)};
    ASSERT_GE(raw.fd, 0);
    FrameBuilder::Mac to = ourMac();
    Frame good = FrameBuilder::udp(to, kernelMac, kKernelBytes, kOurBytes, 5000, 7, pattern(40, 1));
    auto fixIp = [](Frame f) {
        FrameBuilder::set16(f, FrameBuilder::kIpChecksum, 0);
        FrameBuilder::set16(f, FrameBuilder::kIpChecksum, FrameBuilder::checksum(f.data() + 14, (f[14] & 0x0f) * 4u));
        return f;
    };
    struct Case {
        const char* name;
        Frame frame;
        std::function<std::uint64_t()> counter;
    };
    std::vector<Case> cases;
    Frame badIp = good;
    badIp[FrameBuilder::kIpChecksum] ^= 0x01;
    cases.push_back({"bad IP checksum", badIp, [&] { return stats().dropped(InetDrop::ipChecksum); }});
    Frame badUdp = good;
    badUdp.back() ^= 0x01;
    cases.push_back({"bad UDP checksum", badUdp, [&] { return stats().dropped(InetDrop::udpChecksum); }});
    Frame version = good;
    version[14] = 0x55;
    cases.push_back({"IP version 5", version, [&] { return stats().dropped(HeaderError::ipVersion); }});
    Frame ihl = good;
    ihl[14] = 0x44;
    cases.push_back({"IHL 4", fixIp(ihl), [&] { return stats().dropped(HeaderError::ipHeaderLength); }});
    Frame total = good;
    FrameBuilder::set16(total, FrameBuilder::kIpTotalLength, 1400);
    cases.push_back(
        {"total length past the frame", fixIp(total), [&] { return stats().dropped(HeaderError::ipTotalLength); }});
    Frame option = good;
    option.insert(option.begin() + 34, {0x07, 0x00, 0x00, 0x00});
    option[14] = 0x46;
    FrameBuilder::set16(option, FrameBuilder::kIpTotalLength, static_cast<std::uint16_t>(option.size() - 14));
    cases.push_back({"IP option of length 0", fixIp(option), [&] { return stats().dropped(HeaderError::ipOptions); }});
    Frame udpLength = good;
    FrameBuilder::set16(udpLength, FrameBuilder::kL4 + 4, 4);
    cases.push_back({"UDP length 4", udpLength, [&] { return stats().dropped(HeaderError::udpLength); }});
    Frame icmp = FrameBuilder::ipv4(to, kernelMac, kKernelBytes, kOurBytes, 1, {8, 0, 0});
    cases.push_back({"ICMP of 3 bytes", icmp, [&] { return stats().dropped(HeaderError::icmpTruncated); }});
    Frame arp = FrameBuilder::arpRequest(kernelMac, kKernelBytes, kOurBytes);
    FrameBuilder::set16(arp, 14 + 2, 0x86dd);
    cases.push_back({"ARP for IPv6", arp, [&] { return stats().dropped(HeaderError::arpFormat); }});

    sockaddr_ll link{};
    link.sll_family = AF_PACKET;
    link.sll_ifindex = ifindex;
    link.sll_halen = 6;
    std::memcpy(link.sll_addr, to.data(), 6);
    for (const Case& c : cases) {
        std::uint64_t before = c.counter();
        ASSERT_EQ(sendto(raw.fd, c.frame.data(), c.frame.size(), 0, reinterpret_cast<sockaddr*>(&link), sizeof link),
                  static_cast<ssize_t>(c.frame.size()))
            << c.name;
        EXPECT_TRUE(pump([&] { return c.counter() == before + 1; })) << c.name;
    }
    EXPECT_EQ(endpoint.pending(), 0u);
    // Still answering afterwards.
    ASSERT_EQ(sendto(raw.fd, good.data(), good.size(), 0, reinterpret_cast<sockaddr*>(&link), sizeof link),
              static_cast<ssize_t>(good.size()));
    EXPECT_TRUE(pump([&] { return endpoint.pending() == 1; }));
}

// ---- beside a HostStackBridge ------------------------------------------------------------------------
//   peer namespace (10.79.0.1) == wire tap == nexnet [InetStack, priority 50] -- HostStackBridge
//   == host tap == host namespace (the kernel owning 10.79.0.2, the wire's Ethernet address)

class InetBesideBridgeTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        peer_ = std::make_unique<NetworkNamespace>("inp");
        host_ = std::make_unique<NetworkNamespace>("inh");
        ASSERT_TRUE(peer_->ok() && host_->ok());
        loop_ = std::move(EventLoop::create().value());
        topology_.open(*loop_, *peer_, "10.79.0.1/24", *host_, "10.79.0.2");
        if (HasFatalFailure()) return;
        wire_ = topology_.wire.get();
        bridge_ = topology_.bridge.get();
        stack_ = topology_.stack.get();
        auto endpoint = UdpEndpoint::open(*stack_, in_addr{INADDR_ANY}, 7000, UdpEndpoint::Options{});
        ASSERT_TRUE(endpoint);
        endpoint_ = std::move(endpoint.value());
    }
    void TearDown() override {
        endpoint_.reset();
        topology_.close();
    }
    bool pump(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            loop_->runOnce(std::chrono::milliseconds(5));
            if (done()) return true;
        }
        return false;
    }
    CommandResult runWhilePumping(NetworkNamespace& ns, const std::string& command, int seconds = 20) {
        auto result = std::async(std::launch::async, [&] { return ns.run(command, seconds); });
        pump([&] { return result.wait_for(std::chrono::seconds(0)) == std::future_status::ready; },
             std::chrono::seconds(seconds + 5));
        return result.get();
    }

    std::unique_ptr<NetworkNamespace> peer_;
    std::unique_ptr<NetworkNamespace> host_;
    std::unique_ptr<EventLoop> loop_;
    BridgedInterface topology_;
    NetworkInterface* wire_ = nullptr;
    HostStackBridge* bridge_ = nullptr;
    InetStack* stack_ = nullptr;
    std::unique_ptr<UdpEndpoint> endpoint_;
};

TEST_F(InetBesideBridgeTest, TheKernelStillAnswersPingAndItsOwnPortsWhileTheEndpointHasItsPort) {
    // The kernel answers ARP and ping for the shared address; the stack answers nothing.
    CommandResult ping = runWhilePumping(*peer_, "ping -q -c 3 -i 0.05 -W 2 10.79.0.2");
    EXPECT_NE(ping.output.find("3 packets transmitted, 3 received"), std::string::npos) << ping.output;
    EXPECT_EQ(stack_->statistics().arpAnswered, 0u);
    EXPECT_EQ(stack_->statistics().echoAnswered, 0u);
    EXPECT_GE(stack_->neighbours().size(), 1u);  // learned the peer from the ARP it saw

    // A kernel socket on 7001 in the host namespace, the endpoint on 7000: one address, two stacks.
    Fd kernelServer{host_->openSocket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)};
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(7001);
    ASSERT_EQ(bind(kernelServer.fd, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
    Fd client{peer_->openSocket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)};
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr = kOurs;
    for (std::uint16_t port : {7000, 7001}) {
        to.sin_port = htons(port);
        Frame data = pattern(100, port);
        ASSERT_EQ(sendto(client.fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 100);
    }
    UdpDatagram datagram{};
    ASSERT_TRUE(pump([&] { return endpoint_->receive(&datagram, 1) == 1; }));
    EXPECT_EQ(Frame(datagram.payload().begin(), datagram.payload().end()), pattern(100, 7000));
    Frame got(200);
    ssize_t n = -1;
    ASSERT_TRUE(pump([&] { return (n = recv(kernelServer.fd, got.data(), got.size(), 0)) >= 0; }));
    got.resize(static_cast<std::size_t>(n));
    EXPECT_EQ(got, pattern(100, 7001));

    // The endpoint answers the peer through the wire; the kernel does not see it.
    ASSERT_EQ(endpoint_->sendTo(datagram.netbuf, datagram.source, datagram.sourcePort), 0);
    Frame back(200);
    ASSERT_TRUE(pump([&] { return (n = recv(client.fd, back.data(), back.size(), 0)) >= 0; }));
    back.resize(static_cast<std::size_t>(n));
    EXPECT_EQ(back, pattern(100, 7000));
    EXPECT_EQ(stack_->statistics().udpDelivered, 1u);
}

INSTANTIATE_TEST_SUITE_P(Taps, InetKernelPeerTest, ::testing::Values("tap", "tapvnet"),
                         [](const ::testing::TestParamInfo<std::string>& tap) { return tap.param; });

}  // namespace
