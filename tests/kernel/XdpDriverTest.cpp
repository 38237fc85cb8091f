// The xdp: driver against the Linux kernel: one end of a veth pair is the driver's interface,
// the other end, in another namespace, is the kernel (its stack, or a packet socket of the test's).
// The driver runs in-process, opened inside its namespace. Native XDP unless a test says otherwise.
#include "kernel/XdpHarness.h"

#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <sys/wait.h>

using namespace nexnet;
using namespace nexnet::test;
using Frame = FrameBuilder::Frame;

namespace {

constexpr std::uint16_t kTestEtherType = 0x88b5;  // IEEE 802 local experimental
const FrameBuilder::Ip kPeerIp = {10, 77, 0, 1};
const FrameBuilder::Ip kDriverIp = {10, 77, 0, 2};

// A frame the test can recognise: experimental EtherType, then @p tag.
Frame taggedFrame(const FrameBuilder::Mac& to, const FrameBuilder::Mac& from, const std::string& tag) {
    return FrameBuilder::ethernet(to, from, kTestEtherType, Frame(tag.begin(), tag.end()));
}
bool carries(const std::uint8_t* data, std::size_t size, const std::string& tag) {
    return size >= 14 + tag.size() && data[12] == 0x88 && data[13] == 0xb5 &&
        std::memcmp(data + 14, tag.data(), tag.size()) == 0;
}
bool carries(const Netbuf& netbuf, const std::string& tag) { return carries(netbuf.data(), netbuf.size(), tag); }
bool carries(const Frame& frame, const std::string& tag) { return carries(frame.data(), frame.size(), tag); }

// A netbuf of @p pool holding @p frame; nullptr when the pool is empty.
Netbuf* netbufWith(NetbufPool& pool, const Frame& frame) {
    Netbuf* netbuf = pool.allocate();
    if (netbuf != nullptr && netbuf->append(frame.data(), static_cast<std::uint32_t>(frame.size())) != 0) {
        netbuf->free();
        return nullptr;
    }
    return netbuf;
}

class XdpDriverTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_XDP();
        pair_ = std::make_unique<XdpVethPair>("xdp");
        ASSERT_TRUE(pair_->ok()) << "cannot make the veth pair";
        wire_ = std::make_unique<PeerWire>(*pair_);
        ASSERT_TRUE(wire_->ok());
    }

    // Opens xdp:nx@p options and brings it up; fails the test when it cannot.
    void openUp(const std::string& options = "") {
        auto opened = pair_->open(options);
        ASSERT_TRUE(opened) << opened.describe();
        driver_ = std::move(opened.value());
        ASSERT_EQ(bringUp(*driver_), 0);
    }
    // Opening xdp:nx@p options fails with @p error, and the message mentions @p text.
    void expectRefusal(const std::string& options, int error, const std::string& text) {
        auto opened = pair_->open(options);
        ASSERT_FALSE(opened);
        EXPECT_EQ(opened.error(), error);
        EXPECT_NE(opened.message().find(text), std::string::npos) << opened.message();
    }
    // Sends a tagged frame from the peer and receives it on @p queue.
    bool roundTrip(const std::string& tag, unsigned queue = 0, Netbuf** keep = nullptr) {
        return wire_->send(taggedFrame(pair_->driverMac(), pair_->peerMac(), tag)) &&
            receiveFrame(
                   *driver_, queue, [&](const Netbuf& n) { return carries(n, tag); }, keep);
    }

    std::unique_ptr<XdpVethPair> pair_;
    std::unique_ptr<PeerWire> wire_;
    std::unique_ptr<XdpDriver> driver_;  // last: closed before the namespaces go
};

TEST_F(XdpDriverTest, ReceivesTheKernelsFramesInNetbufsOfItsPoolWithoutACopy) {
    openUp();
    Netbuf* frame = nullptr;
    ASSERT_TRUE(roundTrip("in place", 0, &frame));
    const DmaRegion& umem = driver_->pool()->dataRegion();
    EXPECT_EQ(frame->pool(), driver_->pool());
    EXPECT_TRUE(umem.contains(frame->data())) << "the frame is where the kernel wrote it: in the pool";
    EXPECT_EQ(frame->headroom(), XdpDriver::kHeadroom) << "XDP_PACKET_HEADROOM before it";
    frame->free();
}

TEST_F(XdpDriverTest, SendsNetbufsOfItsPoolToTheKernel) {
    openUp();
    Netbuf* netbuf = netbufWith(*driver_->pool(), taggedFrame(pair_->peerMac(), pair_->driverMac(), "outbound"));
    ASSERT_NE(netbuf, nullptr);
    ASSERT_EQ(driver_->send(0, &netbuf, 1), 1u);
    EXPECT_TRUE(wire_->receive([](const Frame& f) { return carries(f, "outbound"); }));
}

TEST_F(XdpDriverTest, CopiesNetbufsOfOtherPoolsAndFreesThemAtOnce) {
    openUp();
    auto foreign = NetbufPool::create(64);
    ASSERT_TRUE(foreign);
    Netbuf* netbuf = netbufWith(*foreign.value(), taggedFrame(pair_->peerMac(), pair_->driverMac(), "foreign"));
    ASSERT_NE(netbuf, nullptr);
    ASSERT_EQ(driver_->send(0, &netbuf, 1), 1u);
    EXPECT_EQ(foreign.value()->inUse(), 0u) << "the copy went; the original went back to its pool";
    EXPECT_TRUE(wire_->receive([](const Frame& f) { return carries(f, "foreign"); }));
}

TEST_F(XdpDriverTest, FinishesAPartialChecksumBeforeSending) {
    openUp();
    int udp = pair_->peerSide().openSocket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(udp, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(4000);
    ASSERT_EQ(bind(udp, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    // What a stack hands a NIC with checksum offload: the field holds the pseudo-header sum only.
    std::string text = "checksum me";
    Frame frame = FrameBuilder::udp(pair_->peerMac(), pair_->driverMac(), kDriverIp, kPeerIp, 5000, 4000,
                                    Frame(text.begin(), text.end()), false);
    Frame pseudo(kDriverIp.begin(), kDriverIp.end());
    pseudo.insert(pseudo.end(), kPeerIp.begin(), kPeerIp.end());
    pseudo.insert(pseudo.end(), {0, 17, 0, static_cast<std::uint8_t>(8 + text.size())});
    FrameBuilder::set16(frame, FrameBuilder::kUdpChecksum,
                        static_cast<std::uint16_t>(~FrameBuilder::checksum(pseudo.data(), pseudo.size())));
    Netbuf* netbuf = netbufWith(*driver_->pool(), frame);
    ASSERT_NE(netbuf, nullptr);
    netbuf->offload().flags = NetbufOffload::kNeedsChecksum;
    netbuf->offload().csumStart = FrameBuilder::kL4;
    netbuf->offload().csumOffset = 6;
    ASSERT_EQ(driver_->send(0, &netbuf, 1), 1u);
    pollfd p{udp, POLLIN, 0};
    char received[64] = {};
    ASSERT_EQ(poll(&p, 1, 3000), 1) << "the kernel drops a datagram whose checksum is wrong";
    EXPECT_EQ(recv(udp, received, sizeof received, 0), static_cast<ssize_t>(text.size()));
    EXPECT_EQ(std::string(received), text);
    close(udp);
}

TEST_F(XdpDriverTest, SaysItRunsNativeXdpInCopyModeOnAVeth) {
    openUp();
    EXPECT_EQ(driver_->attachMode(), XdpAttachMode::native);
    EXPECT_FALSE(driver_->zeroCopy());
    const std::string& description = driver_->modeDescription();
    EXPECT_NE(description.find("native XDP"), std::string::npos) << description;
    EXPECT_NE(description.find("copy mode"), std::string::npos) << description;
    EXPECT_TRUE(pair_->programAttached());
}

TEST_F(XdpDriverTest, RunsGenericXdpWhenAsked) {
    openUp(",mode=generic");
    EXPECT_EQ(driver_->attachMode(), XdpAttachMode::generic);
    EXPECT_NE(driver_->modeDescription().find("generic XDP"), std::string::npos) << driver_->modeDescription();
    EXPECT_TRUE(roundTrip("generic"));
}

TEST_F(XdpDriverTest, RefusesZeroCopyOnAVethAndSaysWhy) {
    expectRefusal(",zerocopy=on", EOPNOTSUPP, "zero-copy");
    EXPECT_FALSE(pair_->programAttached()) << "a failed open leaves nothing behind";
}

TEST_F(XdpDriverTest, RefusesZeroCopyWithGenericXdp) { expectRefusal(",mode=generic,zerocopy=on", EINVAL, "native"); }

// Linux before 6.3 has no xdp-features: the driver tries native XDP and zero-copy, and says so.
Result<std::unique_ptr<XdpDriver>> openAsBeforeLinux63(const XdpVethPair& pair, XdpSocket::CopyMode copyMode) {
    NamespaceEntry inside(pair.driverSide().name());
    XdpDriver::Options options;
    options.interface = "nx";
    options.askForXdpFeatures = false;
    options.copyMode = copyMode;
    return XdpDriver::create(options);
}

TEST_F(XdpDriverTest, WithoutXdpFeaturesFindsNativeXdpByTrying) {
    auto driver = openAsBeforeLinux63(*pair_, XdpSocket::CopyMode::automatic);
    ASSERT_TRUE(driver) << driver.describe();
    EXPECT_EQ(driver.value()->attachMode(), XdpAttachMode::native);
    EXPECT_NE(driver.value()->modeDescription().find("found by trying"), std::string::npos)
        << driver.value()->modeDescription();
}

TEST_F(XdpDriverTest, WithoutXdpFeaturesZeroCopyFailsWithTheKernelsRefusal) {
    auto driver = openAsBeforeLinux63(*pair_, XdpSocket::CopyMode::zeroCopy);
    ASSERT_FALSE(driver);
    EXPECT_EQ(driver.error(), EOPNOTSUPP);
    EXPECT_NE(driver.message().find("refused zero-copy"), std::string::npos) << driver.message();
}

TEST_F(XdpDriverTest, SaysWhenTheInterfaceDoesNotExist) {
    NamespaceEntry inside(pair_->driverSide().name());
    XdpDriver::Options options;
    options.interface = "nxnothere";
    auto driver = XdpDriver::create(options);
    ASSERT_FALSE(driver);
    EXPECT_EQ(driver.error(), ENODEV);
    EXPECT_NE(driver.message().find("no interface nxnothere"), std::string::npos) << driver.message();
}

TEST_F(XdpDriverTest, RefusesQueuesTheInterfaceDoesNotHave) { expectRefusal(",queue=1", EINVAL, "1 receive queue"); }

TEST_F(XdpDriverTest, RefusesAnMtuLargerThanAChunkHolds) {
    ASSERT_EQ(pair_->driverSide().run("ip link set nx mtu 3000").status, 0);
    expectRefusal("", EINVAL, "mtu " + std::to_string(XdpDriver::kMaxMtu));
}

TEST_F(XdpDriverTest, SetsTheInterfacesMtuWithinWhatAChunkHolds) {
    openUp();
    EXPECT_EQ(driver_->setMtu(1400), 0);
    EXPECT_NE(pair_->driverSide().run("ip link show nx").output.find("mtu 1400"), std::string::npos);
    EXPECT_EQ(driver_->setMtu(driver_->maxMtu() + 1), EINVAL);
}

TEST_F(XdpDriverTest, GoingDownGivesTheQueueBackToTheKernel) {
    ASSERT_EQ(pair_->driverSide().run("ip addr add 10.77.0.2/24 dev nx").status, 0);
    openUp();
    EXPECT_NE(pair_->peerSide().run("ping -c 1 -W 1 10.77.0.2").status, 0) << "up: the frames are nexnet's";
    ifreq ifr{};
    ASSERT_EQ(driver_->performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru), 0);
    EXPECT_EQ(pair_->peerSide().run("ping -c 1 -W 2 10.77.0.2").status, 0) << "down: the kernel answers";
    ASSERT_EQ(bringUp(*driver_), 0);
    EXPECT_TRUE(roundTrip("up again"));
}

TEST_F(XdpDriverTest, ClosingRemovesTheProgramAndReturnsEveryNetbuf) {
    openUp();
    ASSERT_TRUE(roundTrip("before close"));
    std::shared_ptr<NetbufPool> pool = driver_->sharedPool();
    EXPECT_GT(pool->inUse(), 0u) << "the fill ring holds netbufs while the driver runs";
    driver_.reset();
    EXPECT_FALSE(pair_->programAttached());
    EXPECT_EQ(pool->inUse(), 0u);
}

TEST_F(XdpDriverTest, ItsSocketIsReadableWhenFramesWait) {
    openUp();
    ASSERT_GE(driver_->interruptEventFd(0), 0);
    ASSERT_EQ(driver_->setInterruptsEnabled(0, true), 0);
    ASSERT_TRUE(wire_->send(taggedFrame(pair_->driverMac(), pair_->peerMac(), "wake up")));
    pollfd p{driver_->interruptEventFd(0), POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 3000), 1);
    EXPECT_TRUE(receiveFrame(*driver_, 0, [](const Netbuf& n) { return carries(n, "wake up"); }));
}

TEST_F(XdpDriverTest, ReportsFramesTheKernelDroppedForLackOfRoom) {
    openUp(",ring=64");
    for (int i = 0; i < 400; ++i) wire_->send(taggedFrame(pair_->driverMac(), pair_->peerMac(), "flood"));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    do {  // the kernel counts them in its softirq, right after the sends
        driver_->refreshKernelStatistics(0);
    } while (driver_->receiveStatistics(0).drops == 0 && std::chrono::steady_clock::now() < deadline);
    EXPECT_GT(driver_->receiveStatistics(0).drops, 0u) << "64 netbufs in the fill ring, 400 frames, none taken";
}

TEST_F(XdpDriverTest, PromiscuousModeIsAMembershipOfTheInterface) {
    openUp();
    // A membership counts in the interface's promiscuity, not in the flags `ip link set` owns.
    auto promiscuous = [&] {
        return pair_->driverSide().run("ip -d link show nx").output.find("promiscuity 1") != std::string::npos;
    };
    ASSERT_EQ(driver_->performCommand(IFCONTROL_RCVPROMISCUOUS, nullptr), 0);
    EXPECT_TRUE(promiscuous());
    ASSERT_EQ(driver_->performCommand(IFCONTROL_RCVPROMISCOFF, nullptr), 0);
    EXPECT_FALSE(promiscuous());
    ASSERT_EQ(driver_->performCommand(IFCONTROL_RCVPROMISCUOUS, nullptr), 0);
    driver_.reset();
    EXPECT_FALSE(promiscuous()) << "the membership ends with the driver";
}

TEST_F(XdpDriverTest, RefusesAnotherHardwareAddress) {
    openUp();
    EthernetAddress other = EthernetAddress::randomLocal();
    EXPECT_EQ(driver_->performCommand(IFCONTROL_SETADDR, other.bytes.data()), EOPNOTSUPP);
}

// ---- queues ------------------------------------------------------------------------------------

class XdpQueueTest : public XdpDriverTest {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_XDP();
        pair_ = std::make_unique<XdpVethPair>("xdq", 2);
        ASSERT_TRUE(pair_->ok()) << "cannot make a veth pair with two queues";
        wire_ = std::make_unique<PeerWire>(*pair_);
        ASSERT_TRUE(wire_->ok());
    }
};

TEST_F(XdpQueueTest, LeavesTheQueuesItDoesNotOwnToTheKernel) {
    ASSERT_EQ(pair_->driverSide().run("ip addr add 10.77.0.2/24 dev nx").status, 0);
    openUp(",queue=1");
    ASSERT_TRUE(pair_->steerPeerTo(0, 2));
    EXPECT_EQ(pair_->peerSide().run("ping -c 1 -W 2 10.77.0.2").status, 0) << "queue 0: the kernel answers";
    ASSERT_TRUE(pair_->steerPeerTo(1, 2));
    EXPECT_TRUE(roundTrip("queue 1", 0)) << "the interface's queue 1 is the driver's queue 0";
}

TEST_F(XdpQueueTest, GivesEachQueueItsOwnSocket) {
    openUp(",queues=2");
    ASSERT_EQ(driver_->queueCount(), 2u);
    EXPECT_NE(driver_->interruptEventFd(0), driver_->interruptEventFd(1));
    ASSERT_TRUE(pair_->steerPeerTo(1, 2));
    EXPECT_TRUE(roundTrip("to queue 1", 1));
    ASSERT_TRUE(pair_->steerPeerTo(0, 2));
    EXPECT_TRUE(roundTrip("to queue 0", 0));
}

// ---- filter mode -------------------------------------------------------------------------------

TEST_F(XdpDriverTest, FilterModeTakesMatchingUdpAndLeavesTheRestToTheKernel) {
    ASSERT_EQ(pair_->driverSide().run("ip addr add 10.77.0.2/24 dev nx").status, 0);
    openUp(",filter=udp:7");
    EXPECT_NE(driver_->modeDescription().find("only udp:7"), std::string::npos) << driver_->modeDescription();
    int kernelSocket = pair_->driverSide().openSocket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in port9{};
    port9.sin_family = AF_INET;
    port9.sin_port = htons(9);
    ASSERT_EQ(bind(kernelSocket, reinterpret_cast<sockaddr*>(&port9), sizeof port9), 0);

    EXPECT_EQ(pair_->peerSide().run("ping -c 1 -W 2 10.77.0.2").status, 0) << "ARP and ICMP stay the kernel's";
    int sender = pair_->peerSide().openSocket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(0x0a4d0002);
    for (std::uint16_t port : {std::uint16_t{7}, std::uint16_t{9}}) {
        to.sin_port = htons(port);
        std::string text = "to port " + std::to_string(port);
        ASSERT_EQ(sendto(sender, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
                  static_cast<ssize_t>(text.size()));
    }
    EXPECT_TRUE(receiveFrame(*driver_, 0, [](const Netbuf& n) {
        std::string text = "to port 7";
        return n.size() >= 42 + text.size() && std::memcmp(n.data() + 42, text.data(), text.size()) == 0;
    })) << "UDP to port 7 is nexnet's";
    pollfd p{kernelSocket, POLLIN, 0};
    char received[32] = {};
    ASSERT_EQ(poll(&p, 1, 3000), 1) << "UDP to port 9 is the kernel's";
    recv(kernelSocket, received, sizeof received, 0);
    EXPECT_EQ(std::string(received), "to port 9");
    close(sender);
    close(kernelSocket);
}

// ---- privileges --------------------------------------------------------------------------------

// Opens xdp:nx in a child process that keeps only the capabilities @p keep (as root otherwise).
// @return the errno and message of the open, "0" when it worked.
std::pair<int, std::string> openWithCapabilities(const XdpVethPair& pair, std::initializer_list<int> keep) {
    int pipeFds[2];
    if (pipe(pipeFds) != 0) return {-1, "pipe"};
    pid_t child = fork();
    if (child == 0) {
        close(pipeFds[0]);
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2] = {};
        for (int capability : keep) {
            data[capability / 32].effective |= 1u << (capability % 32);
            data[capability / 32].permitted |= 1u << (capability % 32);
        }
        std::string message;
        int error = EAGAIN;
        NamespaceEntry inside(pair.driverSide().name());
        if (syscall(SYS_capset, &header, data) == 0) {
            XdpDriver::Options options;
            options.interface = "nx";
            auto driver = XdpDriver::create(options);
            error = driver ? 0 : driver.error();
            message = driver.message();
        }
        std::string answer = std::to_string(error) + " " + message;
        ssize_t written = write(pipeFds[1], answer.data(), answer.size());
        _exit(written > 0 ? 0 : 1);
    }
    close(pipeFds[1]);
    std::string answer;
    char buffer[512];
    for (ssize_t n; (n = read(pipeFds[0], buffer, sizeof buffer)) > 0;)
        answer.append(buffer, static_cast<std::size_t>(n));
    close(pipeFds[0]);
    waitpid(child, nullptr, 0);
    auto space = answer.find(' ');
    return {std::atoi(answer.c_str()), space == std::string::npos ? "" : answer.substr(space + 1)};
}

TEST_F(XdpDriverTest, SaysItNeedsCapBpfAndCapNetAdminToLoadItsProgram) {
    auto [error, message] = openWithCapabilities(*pair_, {CAP_NET_RAW, CAP_IPC_LOCK});
    EXPECT_EQ(error, EPERM);
    EXPECT_NE(message.find("CAP_BPF and CAP_NET_ADMIN"), std::string::npos) << message;
    EXPECT_FALSE(pair_->programAttached());
}

TEST_F(XdpDriverTest, SaysItNeedsCapNetRawForItsSockets) {
    auto [error, message] = openWithCapabilities(*pair_, {CAP_BPF, CAP_NET_ADMIN, CAP_IPC_LOCK});
    EXPECT_EQ(error, EPERM);
    EXPECT_NE(message.find("CAP_NET_RAW"), std::string::npos) << message;
    EXPECT_FALSE(pair_->programAttached());
}

}  // namespace
