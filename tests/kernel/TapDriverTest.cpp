// The tap driver against the Linux kernel: the kernel end of each tap sits in a network namespace
// made for the test; frames pass both ways, configuration reaches the kernel, and losing the
// interface gives link down and errors, never a crash.
#include "kernel/TapHarness.h"

#include "support/FrameBuilder.h"

#include <arpa/inet.h>
#include <cstring>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>

using namespace nexnet;
using namespace nexnet::test;

namespace {

constexpr auto kWait = std::chrono::seconds(5);

std::uint16_t etherType(const Netbuf* frame) {
    return frame->size() >= 14 ? static_cast<std::uint16_t>(frame->data()[12] << 8 | frame->data()[13]) : 0;
}

// A frame from the driver's pool holding @p bytes.
Netbuf* frameFrom(TapDriver& driver, const std::vector<std::uint8_t>& bytes) {
    Netbuf* netbuf = driver.allocateNetbuf();
    if (netbuf != nullptr && netbuf->append(bytes.data(), static_cast<std::uint32_t>(bytes.size())) != 0) {
        netbuf->free();
        return nullptr;
    }
    return netbuf;
}

// Turns a received ARP request for anyone into the reply from @p mac, in place.
void answerArp(Netbuf* frame, const EthernetAddress& mac) {
    std::uint8_t* f = frame->data();
    std::memcpy(f, f + 6, 6);
    std::memcpy(f + 6, mac.bytes.data(), 6);
    f[14 + 7] = 2;  // opcode: reply
    std::uint8_t senderIp[4], targetIp[4];
    std::memcpy(senderIp, f + 14 + 14, 4);
    std::memcpy(targetIp, f + 14 + 24, 4);
    std::memcpy(f + 14 + 18, f + 14 + 8, 6);  // target hardware address: the requester
    std::memcpy(f + 14 + 24, senderIp, 4);
    std::memcpy(f + 14 + 8, mac.bytes.data(), 6);
    std::memcpy(f + 14 + 14, targetIp, 4);
}

// Turns a received ICMP echo request into its reply, in place (checksum updated for 8 -> 0).
void answerEcho(Netbuf* frame) {
    std::uint8_t* f = frame->data();
    std::uint8_t mac[6], ip[4];
    std::memcpy(mac, f, 6);
    std::memcpy(f, f + 6, 6);
    std::memcpy(f + 6, mac, 6);
    std::memcpy(ip, f + 26, 4);
    std::memcpy(f + 26, f + 30, 4);
    std::memcpy(f + 30, ip, 4);
    unsigned ihl = (f[14] & 0x0f) * 4u;
    std::uint8_t* icmp = f + 14 + ihl;
    icmp[0] = 0;
    std::uint32_t sum = static_cast<std::uint32_t>(icmp[2] << 8 | icmp[3]) + 0x0800;
    sum = (sum & 0xffff) + (sum >> 16);
    icmp[2] = static_cast<std::uint8_t>(sum >> 8);
    icmp[3] = static_cast<std::uint8_t>(sum);
}

class TapDriverTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        ns_ = std::make_unique<NetworkNamespace>("tap");
        ASSERT_TRUE(ns_->ok());
        name_ = uniqueTapName("d");
    }

    // Opens tap:NAME@p options, moves its kernel end into the namespace as 10.78.0.1/24, up.
    void openInNamespace(const std::string& options = "") {
        driver_ = openTap("tap:" + name_ + options);
        ASSERT_NE(driver_, nullptr);
        ASSERT_TRUE(moveIntoNamespace(name_, *ns_, "10.78.0.1/24"));
        ASSERT_EQ(setFlags(*driver_, IFF_UP), 0);
    }

    std::string kernelLink() const { return ns_->run("ip link show " + name_).output; }

    // Answers ARP and ICMP echo for anyone until @p done, from the driver's address.
    void respondUntil(const std::function<bool()>& done) {
        pollUntil(
            [&] {
                Netbuf* burst[TapDriver::kBurst];
                unsigned n = driver_->receive(0, burst, TapDriver::kBurst);
                unsigned replies = 0;
                for (unsigned i = 0; i < n; ++i) {
                    Netbuf* frame = burst[i];
                    if (etherType(frame) == 0x0806 && frame->size() >= 42 && frame->data()[21] == 1) {
                        answerArp(frame, driver_->hardwareAddress());
                        burst[replies++] = frame;
                    } else if (etherType(frame) == 0x0800 && frame->size() >= 42 && frame->data()[23] == 1 &&
                               frame->data()[34] == 8) {
                        answerEcho(frame);
                        burst[replies++] = frame;
                    } else {
                        frame->free();
                    }
                }
                if (replies != 0) {
                    EXPECT_EQ(driver_->send(0, burst, replies), replies);
                }
                return done();
            },
            std::chrono::seconds(20));
    }

    std::unique_ptr<NetworkNamespace> ns_;  // destroyed last: the driver closes before it goes
    std::string name_;
    std::unique_ptr<TapDriver> driver_;
};

TEST_F(TapDriverTest, CreatesTheInterfaceAndRemovesItWhenClosed) {
    driver_ = openTap("tap:" + name_);
    ASSERT_NE(driver_, nullptr);
    EXPECT_EQ(driver_->interfaceName(), name_);
    EXPECT_EQ(runCommand("ip link show " + name_).status, 0);
    driver_.reset();
    EXPECT_NE(runCommand("ip link show " + name_).status, 0);
}

TEST_F(TapDriverTest, AttachesToAnExistingPersistentTapAndLeavesIt) {
    ASSERT_EQ(ns_->run("ip tuntap add " + name_ + " mode tap").status, 0);
    {
        NamespaceEntry inside(ns_->name());
        ASSERT_TRUE(inside.ok());
        driver_ = openTap("tap:" + name_);
    }
    ASSERT_NE(driver_, nullptr);
    EXPECT_EQ(driver_->interfaceName(), name_);
    driver_.reset();
    EXPECT_EQ(ns_->run("ip link show " + name_).status, 0) << "a persistent tap outlives the driver";
}

TEST_F(TapDriverTest, RefusesUnknownOptionsAndBadQueueCounts) {
    EXPECT_EQ(builtinDrivers().open("tap:" + name_ + ",bogus=1").error(), EINVAL);
    EXPECT_EQ(builtinDrivers().open("tap:" + name_ + ",queues=0").error(), EINVAL);
    EXPECT_EQ(builtinDrivers().open("tap:" + name_ + ",queues=17").error(), EINVAL);
    EXPECT_EQ(builtinDrivers().open("tap:a-name-that-is-far-too-long").error(), EINVAL);
}

TEST_F(TapDriverTest, KernelArpRequestArrivesWithTheKernelsAddress) {
    openInNamespace();
    EthernetAddress kernelMac;
    ASSERT_EQ(driver_->kernelEnd().hardwareAddress(kernelMac), 0);
    std::thread ping([&] { ns_->run("ping -c 1 -W 1 10.78.0.2", 5); });
    bool arrived = receiveUntil(
        *driver_,
        [&](Netbuf* f) { return etherType(f) == 0x0806 && std::memcmp(f->data() + 6, kernelMac.bytes.data(), 6) == 0; },
        kWait);
    ping.join();
    EXPECT_TRUE(arrived);
    EXPECT_GE(driver_->inputPackets(), 1u);
}

// The receive path takes netbufs with the raw getBulk: nothing of a netbuf's previous use (an
// app ring's owner, flags, a timestamp, offload fields) may reach the layers above.
TEST_F(TapDriverTest, ReceivedNetbufsCarryNothingFromTheirPreviousUse) {
    // readv takes its netbufs at the first receive, so all of them are dirtied here first (rx=uring
    // posts some when up: TapReceiveRingTest has its variant).
    openInNamespace(",rx=readv");
    NetbufPool& pool = *driver_->pool();
    std::vector<Netbuf*> all;
    while (Netbuf* netbuf = pool.allocate()) {
        netbuf->setOwner(7);
        netbuf->setFlags(Netbuf::kFirstUserFlag | Netbuf::kMarkedForBuffering);
        netbuf->setTimestamp(123456789);
        netbuf->offload() = {1000, 20, 6, NetbufOffload::kGsoTcpV4, NetbufOffload::kNeedsChecksum};
        all.push_back(netbuf);
    }
    ASSERT_EQ(all.size(), pool.capacity());
    pool.freeBulk(all.data(), static_cast<unsigned>(all.size()));
    std::thread ping([&] { ns_->run("ping -c 1 -W 1 10.78.0.2", 5); });
    unsigned checked = 0;
    receiveUntil(
        *driver_,
        [&](Netbuf* f) {
            ++checked;
            EXPECT_EQ(f->owner(), 0u);
            EXPECT_EQ(f->flags(), 0u);
            EXPECT_EQ(f->timestamp(), 0u);
            EXPECT_EQ(f->offload().gsoSize, 0u);
            EXPECT_EQ(f->offload().flags, 0u);
            return etherType(f) == 0x0806;
        },
        kWait);
    ping.join();
    EXPECT_GE(checked, 1u);
}

TEST_F(TapDriverTest, FramesPassBothWaysKernelPingsAreAnswered) {
    openInNamespace();
    std::atomic<bool> finished{false};
    CommandResult result;
    std::thread ping([&] {
        result = ns_->run("ping -c 5 -i 0.05 -W 2 10.78.0.2", 15);
        finished = true;
    });
    respondUntil([&] { return finished.load(); });
    ping.join();
    EXPECT_EQ(result.status, 0) << result.output;
    EXPECT_NE(result.output.find("5 received"), std::string::npos) << result.output;
    EXPECT_GE(driver_->outputPackets(), 6u);  // an ARP reply and five echo replies
}

TEST_F(TapDriverTest, InterruptFdBecomesReadableWhenTheKernelSends) {
    openInNamespace();
    int fd = driver_->interruptEventFd(0);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(driver_->setInterruptsEnabled(0, true), 0);
    std::thread ping([&] { ns_->run("ping -c 1 -W 1 10.78.0.2", 5); });
    pollfd waiting{fd, POLLIN, 0};
    int ready = poll(&waiting, 1, 3000);
    ping.join();
    EXPECT_EQ(ready, 1);
    Netbuf* burst[TapDriver::kBurst];
    unsigned n = driver_->receive(0, burst, TapDriver::kBurst);
    EXPECT_GE(n, 1u);
    NetbufPool::freeToOwners(burst, n);
}

TEST_F(TapDriverTest, MtuSetThroughPerformCommandIsSeenByTheKernel) {
    openInNamespace();
    ifreq ifr{};
    ifr.ifr_mtu = 1280;
    if_ioctl_t request{SIOCSIFMTU, &ifr};
    ASSERT_EQ(driver_->performCommand(IFCONTROL_UNIXIOCTL, &request), 0);
    EXPECT_EQ(driver_->mtu(), 1280u);
    EXPECT_NE(kernelLink().find("mtu 1280"), std::string::npos) << kernelLink();
    ifr.ifr_mtu = static_cast<int>(driver_->maxMtu() + 1);
    EXPECT_EQ(driver_->performCommand(IFCONTROL_UNIXIOCTL, &request), EINVAL);
    EXPECT_NE(kernelLink().find("mtu 1280"), std::string::npos) << kernelLink();
}

TEST_F(TapDriverTest, UpAndDownAreTheCarrierTheKernelSees) {
    openInNamespace();
    EXPECT_NE(kernelLink().find("LOWER_UP"), std::string::npos) << kernelLink();
    EXPECT_EQ(driver_->refreshLinkStatus(), LinkStatus::up);
    ASSERT_EQ(setFlags(*driver_, 0), 0);
    EXPECT_NE(kernelLink().find("NO-CARRIER"), std::string::npos) << kernelLink();
    EXPECT_EQ(driver_->linkStatus(), LinkStatus::down);
    Netbuf* burst[TapDriver::kBurst];
    EXPECT_EQ(driver_->receive(0, burst, TapDriver::kBurst), 0u);
}

TEST_F(TapDriverTest, DeletedInterfaceGivesLinkDownAndErrorsNotACrash) {
    openInNamespace();
    ASSERT_EQ(ns_->run("ip link del " + name_).status, 0);
    Netbuf* burst[TapDriver::kBurst];
    EXPECT_EQ(driver_->receive(0, burst, TapDriver::kBurst), 0u);
    Netbuf* frame = frameFrom(*driver_, std::vector<std::uint8_t>(60, 0xff));
    ASSERT_NE(frame, nullptr);
    EXPECT_EQ(driver_->send(0, &frame, 1), 1u);
    EXPECT_EQ(driver_->outputErrors(), 1u);
    EXPECT_EQ(driver_->linkStatus(), LinkStatus::down);
    EXPECT_EQ(driver_->refreshLinkStatus(), LinkStatus::down);
    pollfd waiting{driver_->interruptEventFd(0), POLLIN, 0};
    EXPECT_EQ(poll(&waiting, 1, 0), 0) << "a dead queue must not wake an event loop";
    EXPECT_NE(driver_->setMtu(1400), 0);
    // rx=uring: the ring saw the end of its read and took its netbufs back.
    EXPECT_EQ(driver_->pool()->inUse(), driver_->receivesThroughRing() ? 0u : TapDriver::kBurst)
        << "only the receive spares are out";
}

TEST_F(TapDriverTest, MovedToAnotherNamespaceGivesLinkDownThenWorksThere) {
    openInNamespace();
    NetworkNamespace other("tap2");
    ASSERT_TRUE(other.ok());
    ASSERT_EQ(ns_->run("ip link set " + name_ + " netns " + other.name()).status, 0);
    Netbuf* frame = frameFrom(*driver_, std::vector<std::uint8_t>(60, 0xff));
    ASSERT_NE(frame, nullptr);
    EXPECT_EQ(driver_->send(0, &frame, 1), 1u);
    EXPECT_EQ(driver_->outputErrors(), 1u) << "the move takes the interface down";
    EXPECT_EQ(driver_->linkStatus(), LinkStatus::down);

    ASSERT_EQ(other.run("ip link set " + name_ + " up").status, 0);
    EXPECT_EQ(driver_->refreshLinkStatus(), LinkStatus::up);
    ASSERT_EQ(driver_->setMtu(1400), 0);
    EXPECT_NE(other.run("ip link show " + name_).output.find("mtu 1400"), std::string::npos)
        << "configuration follows the interface into its new namespace";
    frame = frameFrom(*driver_, std::vector<std::uint8_t>(60, 0xff));
    ASSERT_NE(frame, nullptr);
    EXPECT_EQ(driver_->send(0, &frame, 1), 1u);
    EXPECT_EQ(driver_->outputErrors(), 1u);
    EXPECT_EQ(driver_->outputPackets(), 1u);
    driver_.reset();  // before `other` goes
}

TEST_F(TapDriverTest, MultiQueueTapHasOneDescriptorPerQueue) {
    openInNamespace(",queues=3");
    ASSERT_EQ(driver_->queueCount(), 3u);
    EXPECT_NE(driver_->interruptEventFd(0), driver_->interruptEventFd(2));
    EXPECT_EQ(driver_->interruptEventFd(3), -1);
    std::string queues = ns_->run("ls /sys/class/net/" + name_ + "/queues").output;
    EXPECT_NE(queues.find("tx-2"), std::string::npos) << queues;
    std::atomic<bool> finished{false};
    CommandResult result;
    std::thread ping([&] {
        result = ns_->run("ping -c 3 -i 0.05 -W 2 10.78.0.2", 15);
        finished = true;
    });
    // Answer on whichever queue the kernel picked.
    pollUntil(
        [&] {
            for (unsigned q = 0; q < driver_->queueCount(); ++q) {
                Netbuf* burst[TapDriver::kBurst];
                unsigned n = driver_->receive(q, burst, TapDriver::kBurst);
                unsigned replies = 0;
                for (unsigned i = 0; i < n; ++i) {
                    Netbuf* f = burst[i];
                    if (etherType(f) == 0x0806 && f->data()[21] == 1) answerArp(f, driver_->hardwareAddress());
                    else if (etherType(f) == 0x0800 && f->data()[34] == 8) answerEcho(f);
                    else {
                        f->free();
                        continue;
                    }
                    burst[replies++] = f;
                }
                if (replies != 0) driver_->send(q, burst, replies);
            }
            return finished.load();
        },
        std::chrono::seconds(20));
    ping.join();
    EXPECT_NE(result.output.find("3 received"), std::string::npos) << result.output;
}

}  // namespace
