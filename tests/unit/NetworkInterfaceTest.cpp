// NetworkInterface: a driver seen as an interface: commands, SIOC* ioctls, input dispatch,
// output queueing, statistics, event-loop modes.
#include "drivers/BuiltinDrivers.h"
#include "framework/EventLoop.h"
#include "framework/IOEthernet.h"
#include "netif/NetworkInterface.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <net/if_arp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <vector>

namespace nexnet {
namespace {

const EthernetAddress kOwn{{0x02, 0, 0, 0, 0, 0x11}};
const EthernetAddress kPeer{{0x02, 0, 0, 0, 0, 0x22}};
const EthernetAddress kGroup{{0x01, 0x00, 0x5e, 0, 0, 0x05}};

// An Ethernet driver with a transmit ring of `room` slots, a receive list, and an eventfd.
class RingEthernet : public IOEthernet {
public:
    RingEthernet() {
        setName("ring0");
        attachToNetworkWithAddress(kOwn);
        NetbufPool::Options options;
        options.count = 256;
        options.hugepages = false;
        setPool(std::shared_ptr<NetbufPool>(NetbufPool::create(options).value().release()));
    }
    ~RingEthernet() override {
        NetbufPool::freeToOwners(ring.data(), static_cast<unsigned>(ring.size()));
        NetbufPool::freeToOwners(pending.data(), static_cast<unsigned>(pending.size()));
        close(event);
    }
    unsigned room = 1000;
    std::vector<Netbuf*> ring;
    std::vector<Netbuf*> pending;
    int event = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    bool interruptsOn = false;
    int finishes = 0;
    int resets = 0;

    int resetAndEnable(bool enable) override {
        ++resets;
        return IOEthernet::resetAndEnable(enable);
    }
    int finishInitialization() override {
        ++finishes;
        return IOEthernet::finishInitialization();
    }
    unsigned transmitBurst(unsigned, Netbuf** packets, unsigned count) override {
        unsigned n = std::min(count, room);
        room -= n;
        ring.insert(ring.end(), packets, packets + n);
        return n;
    }
    unsigned receiveBurst(unsigned, Netbuf** out, unsigned max) override {
        unsigned n = 0;
        while (n < max && !pending.empty()) {
            out[n++] = pending.front();
            pending.erase(pending.begin());
        }
        return n;
    }
    int interruptEventFd(unsigned queue) const override { return queue == 0 ? event : -1; }
    int setInterruptsEnabled(unsigned, bool enabled) override {
        interruptsOn = enabled;
        return 0;
    }
    // Queues @p count frames of @p size bytes as received, and signals the eventfd.
    void arrive(unsigned count, std::uint32_t size = 60) {
        for (unsigned i = 0; i < count; ++i) {
            Netbuf* nb = pool()->allocate();
            nb->setSize(size);
            pending.push_back(nb);
        }
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = write(event, &one, sizeof one);
    }
    void sendAll() {
        NetbufPool::freeToOwners(ring.data(), static_cast<unsigned>(ring.size()));
        ring.clear();
    }
};

// Takes every packet whose first payload byte is its mark; counts what it saw.
class MarkConsumer : public InputConsumer {
public:
    explicit MarkConsumer(std::uint8_t mark, std::vector<int>* order = nullptr, int id = 0)
        : mark_(mark), order_(order), id_(id) {}
    unsigned seen = 0;
    std::vector<Netbuf*> taken;
    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        if (order_ != nullptr) order_->push_back(id_);
        for (unsigned i = 0; i < count; ++i) {
            if (packets[i] == nullptr) continue;
            ++seen;
            if (packets[i]->data()[14] == mark_) {
                taken.push_back(packets[i]);
                packets[i] = nullptr;
            }
        }
    }
    ~MarkConsumer() override { NetbufPool::freeToOwners(taken.data(), static_cast<unsigned>(taken.size())); }

private:
    std::uint8_t mark_;
    std::vector<int>* order_;
    int id_;
};

class NetworkInterfaceTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto owned = std::make_unique<RingEthernet>();
        driver = owned.get();
        pool = driver->sharedPool();
        interface = std::make_unique<NetworkInterface>(std::move(owned), 8);
    }
    void TearDown() override {
        interface.reset();
        EXPECT_EQ(pool->inUse(), 0u);  // the interface and its driver leaked nothing
    }
    Netbuf* frame(std::uint32_t size = 60, std::uint8_t mark = 0) {
        Netbuf* nb = pool->allocate();
        EXPECT_NE(nb, nullptr);
        EXPECT_EQ(nb->setSize(size), 0);
        std::memset(nb->data(), 0, size);
        if (size > 14) nb->data()[14] = mark;
        return nb;
    }
    int ioctl(unsigned long request, ifreq* ifr) { return interface->ioctl(request, ifr); }
    static in_addr ip(const char* text) {
        in_addr a{};
        inet_pton(AF_INET, text, &a);
        return a;
    }
    static void putInet(sockaddr* sa, const char* text) {
        auto* sin = reinterpret_cast<sockaddr_in*>(sa);
        sin->sin_family = AF_INET;
        sin->sin_addr = ip(text);
    }

    std::shared_ptr<NetbufPool> pool;
    RingEthernet* driver = nullptr;
    std::unique_ptr<NetworkInterface> interface;
};

// ---- identity ------------------------------------------------------------------------------

TEST_F(NetworkInterfaceTest, OwnsTheDriverAndTakesItsName) {
    EXPECT_EQ(&interface->driver(), driver);
    EXPECT_EQ(interface->name(), "ring0");
    EXPECT_EQ(driver->client(), interface.get());
}

// ---- flags ---------------------------------------------------------------------------------

TEST_F(NetworkInterfaceTest, StartsDown) {
    EXPECT_EQ(interface->flags() & IFF_UP, 0u);
    EXPECT_FALSE(driver->isRunning());
}

TEST_F(NetworkInterfaceTest, SetUpBringsTheDriverUpAndFinishesItsInitialization) {
    ASSERT_EQ(interface->setUp(), 0);
    EXPECT_TRUE(driver->isRunning());
    EXPECT_NE(interface->flags() & IFF_UP, 0u);
    EXPECT_NE(interface->flags() & IFF_RUNNING, 0u);
    EXPECT_EQ(driver->finishes, 1);
    EXPECT_EQ(driver->resets, 1);      // the hardware is reset once, not again by finishInitialization
    ASSERT_EQ(interface->setUp(), 0);  // already up: nothing more
    EXPECT_EQ(driver->finishes, 1);
    EXPECT_EQ(driver->resets, 1);
}

TEST_F(NetworkInterfaceTest, SetFlagsWithoutUpBringsItDown) {
    ASSERT_EQ(interface->setUp(), 0);
    ASSERT_EQ(interface->setFlags(0), 0);
    EXPECT_FALSE(driver->isRunning());
}

TEST_F(NetworkInterfaceTest, SetFlagsSwitchesPromiscuousAndAllMulticast) {
    ASSERT_EQ(interface->setFlags(IFF_UP | IFF_PROMISC | IFF_ALLMULTI), 0);
    EXPECT_TRUE(driver->isPromiscuous());
    EXPECT_TRUE(driver->isAllMulticast());
    EXPECT_NE(interface->flags() & IFF_PROMISC, 0u);
}

TEST_F(NetworkInterfaceTest, SiocgifflagsAndSiocsifflags) {
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    ASSERT_EQ(ioctl(SIOCSIFFLAGS, &ifr), 0);
    EXPECT_EQ(driver->finishes, 1);  // up through the ioctl finishes initialization too
    ifreq out{};
    ASSERT_EQ(ioctl(SIOCGIFFLAGS, &out), 0);
    EXPECT_NE(out.ifr_flags & IFF_UP, 0);
    EXPECT_NE(out.ifr_flags & IFF_RUNNING, 0);
}

// ---- hardware address ----------------------------------------------------------------------

TEST_F(NetworkInterfaceTest, SiocgifhwaddrAndSiocsifhwaddr) {
    ifreq ifr{};
    ASSERT_EQ(ioctl(SIOCGIFHWADDR, &ifr), 0);
    EXPECT_EQ(ifr.ifr_hwaddr.sa_family, ARPHRD_ETHER);
    EXPECT_EQ(std::memcmp(ifr.ifr_hwaddr.sa_data, kOwn.bytes.data(), 6), 0);
    std::memcpy(ifr.ifr_hwaddr.sa_data, kPeer.bytes.data(), 6);
    ASSERT_EQ(ioctl(SIOCSIFHWADDR, &ifr), 0);
    EXPECT_EQ(driver->hardwareAddress(), kPeer);
}

TEST_F(NetworkInterfaceTest, SiocsifhwaddrWithTheWrongFamilyOrAGroupIsEinval) {
    ifreq ifr{};
    ifr.ifr_hwaddr.sa_family = AF_INET;
    std::memcpy(ifr.ifr_hwaddr.sa_data, kPeer.bytes.data(), 6);
    EXPECT_EQ(ioctl(SIOCSIFHWADDR, &ifr), EINVAL);
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    std::memcpy(ifr.ifr_hwaddr.sa_data, kGroup.bytes.data(), 6);
    EXPECT_EQ(ioctl(SIOCSIFHWADDR, &ifr), EINVAL);
    EXPECT_EQ(driver->hardwareAddress(), kOwn);
}

TEST_F(NetworkInterfaceTest, GetaddrSetaddrAndAutoaddrCommands) {
    std::uint8_t address[6];
    std::memcpy(address, kPeer.bytes.data(), 6);
    ASSERT_EQ(interface->performCommand(IFCONTROL_SETADDR, address), 0);
    std::uint8_t out[6] = {};
    ASSERT_EQ(interface->performCommand(IFCONTROL_GETADDR, out), 0);
    EXPECT_EQ(std::memcmp(out, kPeer.bytes.data(), 6), 0);
    ASSERT_EQ(interface->performCommand(IFCONTROL_AUTOADDR, out), 0);
    EXPECT_EQ(std::memcmp(out, kOwn.bytes.data(), 6), 0);
}

// ---- MTU -----------------------------------------------------------------------------------

TEST_F(NetworkInterfaceTest, SiocgifmtuAndSiocsifmtu) {
    ifreq ifr{};
    ASSERT_EQ(ioctl(SIOCGIFMTU, &ifr), 0);
    EXPECT_EQ(ifr.ifr_mtu, 1500);
    ifr.ifr_mtu = 9000;
    EXPECT_EQ(ioctl(SIOCSIFMTU, &ifr), EINVAL);  // above maxMtu
    ifr.ifr_mtu = 1400;
    ASSERT_EQ(ioctl(SIOCSIFMTU, &ifr), 0);
    EXPECT_EQ(interface->mtu(), 1400u);
}

TEST_F(NetworkInterfaceTest, BadMtusAreEinvalAndChangeNothing) {
    ifreq ifr{};
    for (int bad : {-5, 0, 67, 1501}) {
        ifr.ifr_mtu = bad;
        EXPECT_EQ(ioctl(SIOCSIFMTU, &ifr), EINVAL) << bad;
    }
    EXPECT_EQ(interface->mtu(), 1500u);
}

// ---- protocol addresses --------------------------------------------------------------------

TEST_F(NetworkInterfaceTest, SiocsifaddrAndSiocgifaddr) {
    ifreq ifr{};
    putInet(&ifr.ifr_addr, "10.1.2.3");
    ASSERT_EQ(ioctl(SIOCSIFADDR, &ifr), 0);
    EXPECT_EQ(interface->address().s_addr, ip("10.1.2.3").s_addr);
    ifreq out{};
    ASSERT_EQ(ioctl(SIOCGIFADDR, &out), 0);
    EXPECT_EQ(out.ifr_addr.sa_family, AF_INET);
    EXPECT_EQ(reinterpret_cast<sockaddr_in*>(&out.ifr_addr)->sin_addr.s_addr, ip("10.1.2.3").s_addr);
}

TEST_F(NetworkInterfaceTest, SiocgifaddrWithoutAnAddressIsEaddrnotavailAsOnLinux) {
    ifreq out{};
    EXPECT_EQ(ioctl(SIOCGIFADDR, &out), EADDRNOTAVAIL);
    EXPECT_EQ(ioctl(SIOCGIFNETMASK, &out), EADDRNOTAVAIL);
}

TEST_F(NetworkInterfaceTest, SiocsifnetmaskAndSiocgifnetmask) {
    ifreq ifr{};
    putInet(&ifr.ifr_addr, "10.1.2.3");
    ASSERT_EQ(ioctl(SIOCSIFADDR, &ifr), 0);
    putInet(&ifr.ifr_netmask, "255.255.255.0");
    ASSERT_EQ(ioctl(SIOCSIFNETMASK, &ifr), 0);
    EXPECT_EQ(interface->netmask().s_addr, ip("255.255.255.0").s_addr);
    ifreq out{};
    ASSERT_EQ(ioctl(SIOCGIFNETMASK, &out), 0);
    EXPECT_EQ(reinterpret_cast<sockaddr_in*>(&out.ifr_netmask)->sin_addr.s_addr, ip("255.255.255.0").s_addr);
}

TEST_F(NetworkInterfaceTest, SettingTheAddressKeepsTheNetmaskAndTheOtherWayRound) {
    ASSERT_EQ(interface->setAddress(ip("192.168.7.1"), ip("255.255.0.0")), 0);
    ifreq ifr{};
    putInet(&ifr.ifr_addr, "192.168.7.9");
    ASSERT_EQ(ioctl(SIOCSIFADDR, &ifr), 0);
    EXPECT_EQ(interface->netmask().s_addr, ip("255.255.0.0").s_addr);
    putInet(&ifr.ifr_netmask, "255.255.255.252");
    ASSERT_EQ(ioctl(SIOCSIFNETMASK, &ifr), 0);
    EXPECT_EQ(interface->address().s_addr, ip("192.168.7.9").s_addr);
}

TEST_F(NetworkInterfaceTest, AProtocolAddressOfTheWrongFamilyIsEinval) {
    ifreq ifr{};
    putInet(&ifr.ifr_addr, "10.0.0.1");
    ifr.ifr_addr.sa_family = AF_INET6;
    EXPECT_EQ(ioctl(SIOCSIFADDR, &ifr), EINVAL);
    ifr.ifr_netmask.sa_family = AF_UNSPEC;
    EXPECT_EQ(ioctl(SIOCSIFNETMASK, &ifr), EINVAL);
    EXPECT_EQ(interface->address().s_addr, INADDR_ANY);
}

TEST_F(NetworkInterfaceTest, ANonContiguousNetmaskIsEinval) {
    ifreq ifr{};
    putInet(&ifr.ifr_netmask, "255.0.255.0");
    EXPECT_EQ(ioctl(SIOCSIFNETMASK, &ifr), EINVAL);
    EXPECT_EQ(interface->setAddress(ip("10.0.0.1"), ip("0.255.255.255")), EINVAL);
    EXPECT_EQ(interface->netmask().s_addr, 0u);
}

TEST_F(NetworkInterfaceTest, SetAddressAcceptsContiguousMasks) {
    for (const char* mask : {"0.0.0.0", "128.0.0.0", "255.255.255.255", "255.255.240.0"})
        EXPECT_EQ(interface->setAddress(ip("10.0.0.1"), ip(mask)), 0) << mask;
}

// ---- multicast -----------------------------------------------------------------------------

TEST_F(NetworkInterfaceTest, SiocaddmultiAndSiocdelmulti) {
    ifreq ifr{};
    ifr.ifr_hwaddr.sa_family = AF_UNSPEC;
    std::memcpy(ifr.ifr_hwaddr.sa_data, kGroup.bytes.data(), 6);
    ASSERT_EQ(ioctl(SIOCADDMULTI, &ifr), 0);
    EXPECT_EQ(driver->multicastAddresses().size(), 1u);
    ASSERT_EQ(ioctl(SIOCDELMULTI, &ifr), 0);
    EXPECT_TRUE(driver->multicastAddresses().empty());
}

TEST_F(NetworkInterfaceTest, SiocaddmultiOfAUnicastAddressIsEinval) {
    ifreq ifr{};
    ifr.ifr_hwaddr.sa_family = AF_UNSPEC;
    std::memcpy(ifr.ifr_hwaddr.sa_data, kPeer.bytes.data(), 6);
    EXPECT_EQ(ioctl(SIOCADDMULTI, &ifr), EINVAL);
    EXPECT_TRUE(driver->multicastAddresses().empty());
}

// ---- bad requests --------------------------------------------------------------------------

TEST_F(NetworkInterfaceTest, EveryIoctlWithNullDataIsEinval) {
    for (unsigned long request : {SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFHWADDR, SIOCSIFHWADDR, SIOCGIFMTU, SIOCSIFMTU,
                                  SIOCGIFADDR, SIOCSIFADDR, SIOCGIFNETMASK, SIOCSIFNETMASK, SIOCADDMULTI, SIOCDELMULTI})
        EXPECT_EQ(ioctl(request, nullptr), EINVAL) << std::hex << request;
}

TEST_F(NetworkInterfaceTest, UnixIoctlCommandWithNullDataIsEinval) {
    EXPECT_EQ(interface->performCommand(IFCONTROL_UNIXIOCTL, nullptr), EINVAL);
}

TEST_F(NetworkInterfaceTest, OtherIoctlsGiveAClearError) {
    ifreq ifr{};
    EXPECT_EQ(ioctl(SIOCGIFINDEX, &ifr), EOPNOTSUPP);
    EXPECT_EQ(ioctl(SIOCGIFBRDADDR, &ifr), EOPNOTSUPP);
    EXPECT_EQ(ioctl(SIOCSIFNAME, &ifr), EOPNOTSUPP);
}

TEST_F(NetworkInterfaceTest, UnknownCommandIsEinval) {
    int data = 0;
    EXPECT_EQ(interface->performCommand("bogus", &data), EINVAL);
    EXPECT_EQ(interface->performCommand("", nullptr), EINVAL);
}

TEST_F(NetworkInterfaceTest, SetflagsCommandWithNullDataIsEinval) {
    EXPECT_EQ(interface->performCommand(IFCONTROL_SETFLAGS, nullptr), EINVAL);
    EXPECT_FALSE(driver->isRunning());
}

// ---- input ---------------------------------------------------------------------------------

TEST_F(NetworkInterfaceTest, PollDispatchesReceivedBurstsAndCountsThemOnce) {
    ASSERT_EQ(interface->setUp(), 0);
    MarkConsumer consumer(7);
    interface->addInputConsumer(&consumer);
    driver->arrive(5, 100);
    EXPECT_EQ(interface->poll(), 5u);
    EXPECT_EQ(consumer.seen, 5u);
    EXPECT_EQ(interface->receiveStatistics().packets, 5u);
    EXPECT_EQ(interface->receiveStatistics().bytes, 500u);
    EXPECT_EQ(driver->inputPackets(), 5u);  // one set of counters: the interface's are the driver's
    EXPECT_EQ(driver->receiveStatistics(0).packets, 5u);
    interface->removeInputConsumer(&consumer);
}

TEST_F(NetworkInterfaceTest, DriverErrorsAndDropsAppearInTheInterfaceStatistics) {
    driver->report(QueueEvent::receiveError, 0, 2);
    driver->report(QueueEvent::receiveDrop, 0, 3);
    driver->report(QueueEvent::transmitError, 0, 4);
    EXPECT_EQ(interface->receiveStatistics().errors, 2u);
    EXPECT_EQ(interface->receiveStatistics().drops, 3u);
    EXPECT_EQ(interface->transmitStatistics().errors, 4u);
}

TEST_F(NetworkInterfaceTest, PacketsNoConsumerTakesAreFreedAndCountedAsDrops) {
    ASSERT_EQ(interface->setUp(), 0);
    driver->arrive(3);
    interface->poll();
    EXPECT_EQ(interface->receiveStatistics().drops, 3u);
    EXPECT_EQ(pool->inUse(), 0u);
}

TEST_F(NetworkInterfaceTest, ConsumersRunByPriorityAndSeeOnlyWhatIsLeft) {
    ASSERT_EQ(interface->setUp(), 0);
    std::vector<int> order;
    MarkConsumer late(2, &order, 2), early(1, &order, 1);
    interface->addInputConsumer(&late, 100);
    interface->addInputConsumer(&early, 0);
    Netbuf* burst[3] = {frame(60, 1), frame(60, 2), frame(60, 3)};
    interface->inputBurst(*driver, 0, burst, 3);
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
    EXPECT_EQ(early.taken.size(), 1u);
    EXPECT_EQ(late.taken.size(), 1u);
    EXPECT_EQ(late.seen, 2u);  // the early consumer took one
    EXPECT_EQ(interface->receiveStatistics().drops, 1u);
    interface->removeInputConsumer(&late);
    interface->removeInputConsumer(&early);
}

TEST_F(NetworkInterfaceTest, RuntFramesAreDroppedAsErrors) {
    MarkConsumer consumer(0);
    interface->addInputConsumer(&consumer);
    Netbuf* burst[2] = {frame(13), frame(60, 9)};
    interface->inputBurst(*driver, 0, burst, 2);
    EXPECT_EQ(interface->receiveStatistics().errors, 1u);
    EXPECT_EQ(consumer.seen, 1u);
    interface->removeInputConsumer(&consumer);
}

TEST_F(NetworkInterfaceTest, RemovingAConsumerTwiceIsEnoent) {
    MarkConsumer consumer(0);
    interface->addInputConsumer(&consumer);
    EXPECT_EQ(interface->removeInputConsumer(&consumer), 0);
    EXPECT_EQ(interface->removeInputConsumer(&consumer), ENOENT);
}

TEST_F(NetworkInterfaceTest, LinkChangesReachTheLinkHandler) {
    std::vector<bool> seen;
    interface->setLinkHandler([&](bool up) { seen.push_back(up); });
    driver->setLinkStatus(LinkStatus::down);
    driver->setLinkStatus(LinkStatus::up);
    driver->setLinkStatus(LinkStatus::up);  // no change, no call
    EXPECT_EQ(seen, (std::vector<bool>{false, true}));
}

TEST_F(NetworkInterfaceTest, QueuedOutputGoesOutWhenTheLinkComesUp) {
    ASSERT_EQ(interface->setUp(), 0);
    driver->room = 0;
    Netbuf* packet = frame();
    ASSERT_EQ(interface->outputBurst(&packet, 1), 1u);
    driver->room = 10;
    driver->setLinkStatus(LinkStatus::up);
    EXPECT_EQ(driver->ring.size(), 1u);
    EXPECT_EQ(interface->outputQueued(), 0u);
}

TEST_F(NetworkInterfaceTest, QueuedOutputGoesOutWhenTheDriverReportsRoom) {
    ASSERT_EQ(interface->setUp(), 0);
    driver->room = 0;
    Netbuf* packet = frame();
    ASSERT_EQ(interface->outputBurst(&packet, 1), 1u);
    driver->room = 10;
    driver->transmitRoomAvailable(0);
    EXPECT_EQ(driver->ring.size(), 1u);
}

TEST_F(NetworkInterfaceTest, InInterruptModeQueuedOutputIsRetriedWithoutAnyEvent) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    ASSERT_EQ(interface->setUp(), 0);
    ASSERT_TRUE(interface->attach(*loop.value(), NetworkInterface::Mode::interrupt));
    driver->room = 0;
    Netbuf* packet = frame();
    ASSERT_EQ(interface->outputBurst(&packet, 1), 1u);
    driver->arrive(1);  // an interrupt: output is retried after it, and still refused
    loop.value()->runOnce(std::chrono::milliseconds(100));
    EXPECT_EQ(interface->outputQueued(), 1u);
    driver->room = 10;  // room comes back silently, as from a driver with no completion signal
    for (int i = 0; i < 50 && interface->outputQueued() != 0; ++i) loop.value()->runOnce(std::chrono::milliseconds(20));
    EXPECT_EQ(interface->outputQueued(), 0u);
    EXPECT_EQ(driver->ring.size(), 1u);
    interface->detach();
}

TEST_F(NetworkInterfaceTest, GoingDownDropsQueuedOutputAndCountsIt) {
    ASSERT_EQ(interface->setUp(), 0);
    driver->room = 0;
    Netbuf* burst[3] = {frame(), frame(), frame()};
    ASSERT_EQ(interface->outputBurst(burst, 3), 3u);
    ASSERT_EQ(interface->setFlags(0), 0);
    EXPECT_EQ(interface->outputQueued(), 0u);
    EXPECT_EQ(interface->transmitStatistics().drops, 3u);
    EXPECT_EQ(pool->inUse(), 0u);
}

// ---- output --------------------------------------------------------------------------------

TEST_F(NetworkInterfaceTest, OutputOnADownInterfaceFreesThePacketAndCountsADrop) {
    Netbuf* packet = frame();
    EXPECT_EQ(interface->outputBurst(&packet, 1), 0u);
    EXPECT_EQ(pool->inUse(), 0u);
    EXPECT_EQ(interface->transmitStatistics().drops, 1u);
}

TEST_F(NetworkInterfaceTest, OutputBurstOnADownInterfaceFreesEverything) {
    Netbuf* burst[4] = {frame(), frame(), frame(), frame()};
    EXPECT_EQ(interface->outputBurst(burst, 4), 0u);
    EXPECT_EQ(pool->inUse(), 0u);
}

TEST_F(NetworkInterfaceTest, OutputSendsAtOnceWhenTheDriverHasRoom) {
    ASSERT_EQ(interface->setUp(), 0);
    Netbuf* packet = frame(100);
    EXPECT_EQ(interface->outputBurst(&packet, 1), 1u);
    EXPECT_EQ(driver->ring.size(), 1u);
    EXPECT_EQ(interface->transmitStatistics().packets, 1u);
    EXPECT_EQ(interface->transmitStatistics().bytes, 100u);
}

TEST_F(NetworkInterfaceTest, OutputIsQueuedWhileTheRingIsFullAndFlushedInOrder) {
    ASSERT_EQ(interface->setUp(), 0);
    driver->room = 2;
    Netbuf* burst[5] = {frame(60, 1), frame(60, 2), frame(60, 3), frame(60, 4), frame(60, 5)};
    EXPECT_EQ(interface->outputBurst(burst, 5), 5u);
    EXPECT_EQ(interface->outputQueued(), 3u);
    EXPECT_EQ(interface->flushOutput(), 0u);  // still full
    driver->room = 1;
    EXPECT_EQ(interface->flushOutput(), 1u);
    driver->room = 100;
    EXPECT_EQ(interface->flushOutput(), 2u);
    EXPECT_EQ(interface->outputQueued(), 0u);
    ASSERT_EQ(driver->ring.size(), 5u);
    for (unsigned i = 0; i < 5; ++i) EXPECT_EQ(driver->ring[i]->data()[14], i + 1);
    EXPECT_EQ(interface->transmitStatistics().packets, 5u);
}

TEST_F(NetworkInterfaceTest, NewOutputWaitsBehindQueuedOutput) {
    ASSERT_EQ(interface->setUp(), 0);
    driver->room = 0;
    Netbuf* first = frame(60, 1);
    ASSERT_EQ(interface->outputBurst(&first, 1), 1u);
    driver->room = 100;
    Netbuf* second = frame(60, 2);
    ASSERT_EQ(interface->outputBurst(&second, 1), 1u);  // queued behind 1, not sent before it
    EXPECT_TRUE(driver->ring.empty());
    interface->flushOutput();
    ASSERT_EQ(driver->ring.size(), 2u);
    EXPECT_EQ(driver->ring[0]->data()[14], 1);
}

TEST_F(NetworkInterfaceTest, OutputBeyondTheQueueLimitIsFreedAndCountedAsADrop) {
    ASSERT_EQ(interface->setUp(), 0);
    driver->room = 0;
    for (int i = 0; i < 8; ++i) {  // the limit is 8
        Netbuf* packet = frame();
        ASSERT_EQ(interface->outputBurst(&packet, 1), 1u);
    }
    Netbuf* packet = frame();
    EXPECT_EQ(interface->outputBurst(&packet, 1), 0u);
    EXPECT_EQ(interface->outputQueued(), 8u);
    EXPECT_EQ(interface->transmitStatistics().drops, 1u);
    EXPECT_EQ(pool->inUse(), 8u);
}

TEST_F(NetworkInterfaceTest, OutputPacketInsertsAddressesAndCounts) {
    ASSERT_EQ(interface->setUp(), 0);
    EXPECT_EQ(interface->outputPacket(frame(30), kPeer.bytes.data()), 0);
    ASSERT_EQ(driver->ring.size(), 1u);
    EXPECT_EQ(driver->ring[0]->size(), 60u);
    EXPECT_EQ(EthernetAddress::fromBytes(driver->ring[0]->data()), kPeer);
    EXPECT_EQ(EthernetAddress::fromBytes(driver->ring[0]->data() + 6), kOwn);
    EXPECT_EQ(interface->transmitStatistics().packets, 1u);
    EXPECT_EQ(interface->transmitStatistics().bytes, 60u);
}

TEST_F(NetworkInterfaceTest, OutputPacketOnADownInterfaceIsEnetdownWithoutALeak) {
    EXPECT_EQ(interface->outputPacket(frame(), kPeer.bytes.data()), ENETDOWN);
    EXPECT_EQ(pool->inUse(), 0u);
    EXPECT_EQ(interface->transmitStatistics().drops, 1u);
}

TEST_F(NetworkInterfaceTest, DestroyingTheInterfaceFreesQueuedOutput) {
    ASSERT_EQ(interface->setUp(), 0);
    driver->room = 0;
    Netbuf* burst[4] = {frame(), frame(), frame(), frame()};
    ASSERT_EQ(interface->outputBurst(burst, 4), 4u);
    interface.reset();  // TearDown checks the pool
}

// ---- event loop ----------------------------------------------------------------------------

TEST_F(NetworkInterfaceTest, InterruptModeReceivesWhenTheEventfdFires) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    ASSERT_EQ(interface->setUp(), 0);
    auto mode = interface->attach(*loop.value(), NetworkInterface::Mode::interrupt);
    ASSERT_TRUE(mode.ok());
    EXPECT_EQ(mode.value(), NetworkInterface::Mode::interrupt);
    EXPECT_TRUE(driver->interruptsOn);
    EXPECT_EQ(driver->eventLoop(), loop.value().get());
    driver->arrive(3);
    loop.value()->runOnce(std::chrono::milliseconds(100));
    EXPECT_EQ(interface->receiveStatistics().packets, 3u);
    interface->detach();
    EXPECT_EQ(driver->eventLoop(), nullptr);
}

TEST_F(NetworkInterfaceTest, PollModePollsOnEveryTurn) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    ASSERT_EQ(interface->setUp(), 0);
    auto mode = interface->attach(*loop.value(), NetworkInterface::Mode::poll);
    ASSERT_TRUE(mode.ok());
    EXPECT_EQ(mode.value(), NetworkInterface::Mode::poll);
    driver->arrive(2);
    loop.value()->runOnce(std::chrono::milliseconds(0));
    EXPECT_EQ(interface->receiveStatistics().packets, 2u);
    interface->detach();
}

TEST_F(NetworkInterfaceTest, InterruptModeFallsBackToPollModeAndSaysSo) {
    auto loop = EventLoop::create();  // made first: it must outlive the interface attached to it
    ASSERT_TRUE(loop.ok());
    auto null = builtinDrivers().open("null:,pool=64,limit=5");
    ASSERT_TRUE(null.ok());
    NetworkInterface nullInterface(std::move(null.value()));
    auto mode = nullInterface.attach(*loop.value(), NetworkInterface::Mode::interrupt);
    ASSERT_TRUE(mode.ok());
    EXPECT_EQ(mode.value(), NetworkInterface::Mode::poll);
}

TEST_F(NetworkInterfaceTest, AttachingTwiceIsEbusy) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    ASSERT_TRUE(interface->attach(*loop.value(), NetworkInterface::Mode::poll).ok());
    EXPECT_EQ(interface->attach(*loop.value(), NetworkInterface::Mode::poll).error(), EBUSY);
    interface->detach();
    EXPECT_TRUE(interface->attach(*loop.value(), NetworkInterface::Mode::poll).ok());
    interface->detach();
}

}  // namespace
}  // namespace nexnet
