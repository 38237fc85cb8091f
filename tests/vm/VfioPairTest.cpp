// VM tests with two NICs joined by a QEMU hub (run-guest.sh --nics 2): A sends, B receives, and
// everything A sends reaches B's device, whose filters decide what B's driver gets.

#include "GuestHarness.h"
#include "drivers/vfio/E1000eDriver.h"
#include "drivers/vfio/VirtioNetDriver.h"
#include "framework/EventLoop.h"
#include "netif/netif.h"

#include <gtest/gtest.h>

#include <net/if.h>
#include <sys/ioctl.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

using namespace nexnet;
using namespace nexnet::test;
using namespace std::chrono_literals;

TEST(VfioPair, BothNicsShareOneContainer) {
    auto a = openNic(firstBdf());
    auto b = openNic(secondBdf());
    ASSERT_TRUE(a && b);
    EXPECT_EQ(b->hardwareAddress().toString(), "52:54:00:12:34:57");
}

TEST(VfioPair, HundredThousandFramesArriveWithoutLossOrCorruption) {
    auto a = openRunningNic(firstBdf());
    auto b = openRunningNic(secondBdf());
    ASSERT_TRUE(a && b);
    constexpr std::uint32_t kFrames = 100000;
    std::uint32_t sent = 0, received = 0, corrupt = 0, reordered = 0, duplicates = 0, next = 0;
    std::vector<bool> seen(kFrames, false);
    auto frameSize = [](std::uint32_t seq) { return 60u + (seq * 7u) % 1455u; };
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + 120s;
    Netbuf* burst[32];
    while (received < kFrames && std::chrono::steady_clock::now() < deadline) {
        unsigned want = std::min<std::uint32_t>(32, kFrames - sent);
        if (want > 0 && sent - received < 256 && a->pool()->allocateBulk(burst, want) == 0) {
            for (unsigned i = 0; i < want; ++i) {
                std::uint32_t seq = sent + i, size = frameSize(seq);
                std::uint8_t* p = burst[i]->data();
                burst[i]->setSize(size);
                std::memcpy(p, b->hardwareAddress().bytes.data(), 6);
                std::memcpy(p + 6, a->hardwareAddress().bytes.data(), 6);
                p[12] = 0x88, p[13] = 0xb5;
                std::memcpy(p + 14, &seq, 4);
                for (std::uint32_t j = 18; j < size; ++j) p[j] = static_cast<std::uint8_t>(seq + j);
            }
            unsigned accepted = a->send(0, burst, want);
            if (accepted < want) a->pool()->freeBulk(burst + accepted, want - accepted);
            sent += accepted;
        }
        unsigned n = b->receive(0, burst, 32);
        for (unsigned i = 0; i < n; ++i) {
            std::uint32_t seq = 0;
            burst[i]->read(14, &seq, 4);
            bool ok = seq < kFrames && burst[i]->size() == frameSize(seq);
            for (std::uint32_t j = 18; ok && j < burst[i]->size(); ++j)
                ok = burst[i]->data()[j] == static_cast<std::uint8_t>(seq + j);
            if (!ok) {
                corrupt++;
                continue;
            }
            if (seen[seq]) duplicates++;
            seen[seq] = true;
            reordered += seq != next;
            next = seq + 1;
            received++;
        }
        if (n > 0) b->pool()->freeBulk(burst, n);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("pair: sent %u received %u corrupt %u duplicates %u reordered %u in %.2f s (%.0f frames/s under TCG)\n",
                sent, received, corrupt, duplicates, reordered, seconds, received / seconds);
    EXPECT_EQ(received, kFrames);
    EXPECT_EQ(corrupt, 0u);
    EXPECT_EQ(duplicates, 0u);
    EXPECT_EQ(a->transmitStatistics(0).packets, sent);
    // Every frame b handed out is counted, per queue and in total (nothing else is on the hub).
    EXPECT_EQ(b->receiveStatistics(0).packets, std::uint64_t{received} + corrupt);
    EXPECT_EQ(b->inputPackets(), b->receiveStatistics(0).packets);
    // QEMU's hub may deliver a frame ahead of ones it queued while the receiver's ring was full
    // (virtio-net); the driver itself never reorders: e1000e, whose emulation does not, sees none.
    if (!isVirtio()) {
        EXPECT_EQ(reordered, 0u);
    }
}

// nexnet-fwd hands one driver's netbufs to the other's transmit ring; the netbufs may still be
// there when their own driver is destroyed. Their pool must outlive it, until the ring is freed.
TEST(VfioPair, ForeignNetbufsInATransmitRingKeepTheirPoolAlive) {
    auto a = openRunningNic(firstBdf());
    auto b = openRunningNic(secondBdf());
    ASSERT_TRUE(a && b);
    Netbuf* burst[32];
    ASSERT_EQ(b->pool()->allocateBulk(burst, 32), 0);
    for (Netbuf* nb : burst) {
        nb->setSize(60);
        std::memset(nb->data(), 0xff, 6);
        std::memcpy(nb->data() + 6, a->hardwareAddress().bytes.data(), 6);
        nb->data()[12] = 0x88, nb->data()[13] = 0xb5;
    }
    ASSERT_EQ(a->send(0, burst, 32), 32u);
    std::weak_ptr<NetbufPool> pool = b->sharedPool();
    b.reset();
    EXPECT_FALSE(pool.expired()) << "a's transmit ring still holds netbufs of b's pool";
    a.reset();  // gives them back (ASan: no use after free), then lets the pool go
    EXPECT_TRUE(pool.expired());
}

TEST(VfioPair, InterruptOnTheReceiverWakesTheEventLoop) {
    auto a = openRunningNic(firstBdf());
    auto b = openRunningNic(secondBdf());
    ASSERT_TRUE(a && b);
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    CollectingSink sink;
    sink.wanted = [](const std::uint8_t* f, std::size_t n) { return n >= 14 && f[12] == 0x88 && f[13] == 0xb6; };
    b->setClient(&sink);
    ASSERT_EQ(b->attachToEventLoop(loop->get()), 0);
    ASSERT_EQ(b->setInterruptsEnabled(0, true), 0);
    int fd = b->interruptEventFd(0);
    ASSERT_GE(fd, 0);
    unsigned wakeups = 0;
    ASSERT_EQ((*loop)->watchReadable(fd,
                                     [&] {
                                         wakeups++;
                                         b->interruptOccurred(0);
                                     }),
              0);
    EXPECT_EQ((*loop)->runOnce(200ms), 0) << "no interrupt without traffic";
    std::vector<std::uint8_t> frame(60, 0);
    std::memcpy(frame.data(), b->hardwareAddress().bytes.data(), 6);
    frame[12] = 0x88, frame[13] = 0xb6;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(sendFrame(*a, frame));
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (sink.matches < 3 && std::chrono::steady_clock::now() < deadline) (*loop)->runOnce(100ms);
    EXPECT_GE(wakeups, 1u);
    EXPECT_EQ(sink.matches, 3u);
    (*loop)->unwatch(fd);
    b->setInterruptsEnabled(0, false);
    b->attachToEventLoop(nullptr);
    b->setClient(nullptr);
}

TEST(VfioPair, LinkDownAndUpAreSeen) {
    auto a = openRunningNic(firstBdf());
    ASSERT_TRUE(a);
    ASSERT_EQ(a->linkStatus(), LinkStatus::up);
    monitor("set_link nic0 off");
    EXPECT_TRUE(waitForLink(*a, LinkStatus::down, kMonitorDelay));
    monitor("set_link nic0 on");
    EXPECT_TRUE(waitForLink(*a, LinkStatus::up, kMonitorDelay));
}

// ---- the device's address filters -------------------------------------------------------------
// What B's device drops never reaches its driver, which filters nothing itself: a frame that does
// not come out of receive() was dropped by the (emulated) hardware. e1000e filters with RCTL.UPE
// and MPE, RAL0/RAH0 and the multicast table; virtio-net with the control queue's receive modes
// and MAC table (VIRTIO_NET_F_CTRL_RX, QEMU's default).

namespace {

const std::uint8_t kGroupNotJoined[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
const std::uint8_t kGroup[6] = {0x01, 0x00, 0x5e, 0x01, 0x02, 0x03};
const std::uint8_t kOtherStation[6] = {0x52, 0x54, 0x00, 0x99, 0x99, 0x99};
const std::uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

std::vector<std::uint8_t> probe(const std::uint8_t* destination, const EthernetAddress& source, std::uint8_t tag) {
    std::vector<std::uint8_t> f(60, 0);
    std::memcpy(f.data(), destination, 6);
    std::memcpy(f.data() + 6, source.bytes.data(), 6);
    f[12] = 0x88, f[13] = 0xb5, f[14] = tag;
    return f;
}

bool isProbe(const std::uint8_t* f, std::size_t n, std::uint8_t tag) {
    return n >= 15 && f[12] == 0x88 && f[13] == 0xb5 && f[14] == tag;
}

// A sends a frame to @p destination, then a broadcast marker; B receives until the marker. The
// hub and both devices keep the order, so the first frame, if B's device let it through, came
// before the marker. @return whether it did, or nothing when the marker never came.
std::optional<bool> passesFilter(IOEthernet& a, IOEthernet& b, const std::uint8_t* destination) {
    static std::uint8_t tag = 0;
    const std::uint8_t frameTag = ++tag, markerTag = ++tag;
    if (!sendFrame(a, probe(destination, a.hardwareAddress(), frameTag)) ||
        !sendFrame(a, probe(kBroadcast, a.hardwareAddress(), markerTag)))
        return std::nullopt;
    bool passed = false;
    const bool marked = receiveUntil(b, [&](const std::uint8_t* f, std::size_t n) {
        passed = passed || isProbe(f, n, frameTag);
        return isProbe(f, n, markerTag);
    });
    if (!marked) return std::nullopt;
    return passed;
}

// Both NICs up; B's device must be one that filters.
bool openFilterPair(std::unique_ptr<IOEthernet>& a, std::unique_ptr<IOEthernet>& b) {
    a = openRunningNic(firstBdf());
    b = openRunningNic(secondBdf());
    if (!a || !b) return false;
    if (auto* virtio = dynamic_cast<VirtioNetDriver*>(b.get()); virtio != nullptr && !virtio->filtersFrames()) {
        ADD_FAILURE() << "the virtio-net device offers no VIRTIO_NET_F_CTRL_RX: it filters nothing (QEMU: ctrl_rx=on)";
        return false;
    }
    return true;
}

}  // namespace

TEST(VfioPair, FrameToAGroupNotJoinedIsDroppedByTheNic) {
    std::unique_ptr<IOEthernet> a, b;
    ASSERT_TRUE(openFilterPair(a, b));
    ASSERT_EQ(b->performCommand(IFCONTROL_ADDMULTICAST, const_cast<std::uint8_t*>(kGroup)), 0);
    EXPECT_EQ(passesFilter(*a, *b, kGroupNotJoined), false);
}

TEST(VfioPair, FrameToAJoinedGroupIsReceivedUntilTheGroupIsLeft) {
    std::unique_ptr<IOEthernet> a, b;
    ASSERT_TRUE(openFilterPair(a, b));
    ASSERT_EQ(passesFilter(*a, *b, kGroup), false) << "not joined yet";
    ASSERT_EQ(b->performCommand(IFCONTROL_ADDMULTICAST, const_cast<std::uint8_t*>(kGroup)), 0);
    EXPECT_EQ(passesFilter(*a, *b, kGroup), true) << "joined";
    ifreq request{};
    std::memcpy(request.ifr_hwaddr.sa_data, kGroup, 6);
    if_ioctl_t leave{SIOCDELMULTI, &request};
    ASSERT_EQ(b->performCommand(IFCONTROL_UNIXIOCTL, &leave), 0);
    EXPECT_EQ(passesFilter(*a, *b, kGroup), false) << "left";
}

TEST(VfioPair, AllMulticastModeReceivesEveryGroup) {
    std::unique_ptr<IOEthernet> a, b;
    ASSERT_TRUE(openFilterPair(a, b));
    ASSERT_EQ(b->setMulticastMode(true), 0);
    EXPECT_EQ(passesFilter(*a, *b, kGroupNotJoined), true);
    EXPECT_EQ(passesFilter(*a, *b, kOtherStation), false) << "all-multicast is not promiscuous";
    ASSERT_EQ(b->setMulticastMode(false), 0);
    EXPECT_EQ(passesFilter(*a, *b, kGroupNotJoined), false);
}

TEST(VfioPair, FrameToAnotherStationIsReceivedOnlyInPromiscuousMode) {
    std::unique_ptr<IOEthernet> a, b;
    ASSERT_TRUE(openFilterPair(a, b));
    EXPECT_EQ(passesFilter(*a, *b, kOtherStation), false);
    EXPECT_EQ(passesFilter(*a, *b, b->hardwareAddress().bytes.data()), true) << "its own address";
    ASSERT_EQ(b->performCommand(IFCONTROL_RCVPROMISCUOUS, nullptr), 0);
    EXPECT_EQ(passesFilter(*a, *b, kOtherStation), true);
    EXPECT_EQ(passesFilter(*a, *b, kGroupNotJoined), true) << "promiscuous takes every group too";
    ASSERT_EQ(b->performCommand(IFCONTROL_RCVPROMISCOFF, nullptr), 0);
    EXPECT_EQ(passesFilter(*a, *b, kOtherStation), false);
}

TEST(VfioPair, FiltersSurviveAReset) {
    std::unique_ptr<IOEthernet> a, b;
    ASSERT_TRUE(openFilterPair(a, b));
    ASSERT_EQ(b->addMulticastAddress(EthernetAddress::fromBytes(kGroup)), 0);
    ASSERT_EQ(b->setPromiscuousMode(true), 0);
    ASSERT_EQ(b->resetAndEnable(true), 0);
    EXPECT_EQ(passesFilter(*a, *b, kOtherStation), true);
    ASSERT_EQ(b->setPromiscuousMode(false), 0);
    EXPECT_EQ(passesFilter(*a, *b, kGroup), true);
    EXPECT_EQ(passesFilter(*a, *b, kOtherStation), false);
}

// ---- the event loop and the watchdog ----------------------------------------------------------

// A driver's link watchdog belongs to the loop it was attached to: detaching cancels it (the
// framework does, IODevice::attachToEventLoop). Before, e1000e's stayed armed and fired on a
// detached driver, or after it was destroyed. A timer of the test's own, later than the
// watchdog's second, bounds the wait: a watchdog left behind would run before it.
TEST(VfioPair, DetachingFromTheEventLoopLeavesNoTimerBehind) {
    auto b = openRunningNic(secondBdf());
    ASSERT_TRUE(b);
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    ASSERT_EQ(b->attachToEventLoop(loop->get()), 0);
    EXPECT_TRUE(b->hasPendingTimeout()) << "the link watchdog starts on attach";
    ASSERT_EQ(b->attachToEventLoop(nullptr), 0);
    EXPECT_FALSE(b->hasPendingTimeout());
    bool ours = false;
    ASSERT_TRUE((*loop)->addTimer(1500ms, [&] { ours = true; }).ok());
    int handlers = 0;
    while (!ours) {
        int ran = (*loop)->runOnce(2000ms);
        ASSERT_GE(ran, 0);
        handlers += ran;
    }
    EXPECT_EQ(handlers, 1) << "something besides the test's timer ran on the loop the driver left";
    EXPECT_EQ(b->eventLoop(), nullptr);
}

// e1000e keeps the device's clear-on-read counters (GPRC counts only frames that passed the
// address filter); the watchdog reads them every second, so they must add up across its reads.
TEST(VfioE1000ePair, HardwareStatisticsCountReceivedFramesAcrossWatchdogReads) {
    auto a = openRunningNic(firstBdf());
    auto b = openRunningNic(secondBdf());
    ASSERT_TRUE(a && b);
    auto* e1000e = dynamic_cast<E1000eDriver*>(b.get());
    ASSERT_NE(e1000e, nullptr) << "run with --nic e1000e";
    const std::uint64_t before = e1000e->hardwareStatistics().goodPacketsReceived;
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    ASSERT_EQ(b->attachToEventLoop(loop->get()), 0);
    constexpr unsigned kFrames = 20;
    unsigned received = 0;
    for (unsigned i = 0; i < kFrames; ++i) {
        ASSERT_TRUE(sendFrame(*a, probe(b->hardwareAddress().bytes.data(), a->hardwareAddress(), 0x40)));
        received += receiveUntil(*b, [](const std::uint8_t* f, std::size_t n) { return isProbe(f, n, 0x40); });
    }
    ASSERT_EQ(received, kFrames);
    // Let the watchdog read (and so clear) the device's counters at least once.
    bool ours = false;
    ASSERT_TRUE((*loop)->addTimer(1500ms, [&] { ours = true; }).ok());
    int handlers = 0;
    while (!ours) handlers += std::max((*loop)->runOnce(2000ms), 0);
    EXPECT_GE(handlers, 2) << "the watchdog did not run";
    const E1000eDriver::HardwareStatistics& after = e1000e->hardwareStatistics();
    std::printf("e1000e: GPRC %llu -> %llu, GORC %llu octets\n", static_cast<unsigned long long>(before),
                static_cast<unsigned long long>(after.goodPacketsReceived),
                static_cast<unsigned long long>(after.goodOctetsReceived));
    EXPECT_EQ(after.goodPacketsReceived - before, kFrames) << "only the frames A sent to B passed its filter";
    EXPECT_GE(after.goodOctetsReceived, std::uint64_t{kFrames} * 60);
    EXPECT_EQ(b->inputPackets(), received) << "the framework counts what the ring carried";
    b->attachToEventLoop(nullptr);
}
