// VM tests with one virtio-net NIC of several queue pairs on a multi-queue tap (run-guest.sh --nics
// mq, MultiqueueHarness.h); VfioMultiqueueFewVectors runs in a boot with fewer MSI-X vectors.

#include "MultiqueueHarness.h"
#include "framework/EventLoop.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>

using namespace nexnet;
using namespace nexnet::test;
using namespace std::chrono_literals;

TEST(VfioMultiqueue, DeviceOffersSeveralPairsAndOpensWithThemAll) {
    auto probe = openNic(firstBdf());
    ASSERT_TRUE(probe);
    auto* virtio = dynamic_cast<VirtioNetDriver*>(probe.get());
    ASSERT_NE(virtio, nullptr) << "run with --nic virtio-net --nics mq";
    const unsigned offered = virtio->offeredQueuePairs();
    ASSERT_GE(offered, 2u) << "the device offers no multiqueue";
    EXPECT_EQ(probe->queueCount(), 1u) << "one pair unless asked";
    EXPECT_EQ(virtio->negotiatedFeatures() & virtio::F_MQ, 0u) << "one pair: MQ stays off";
    probe.reset();

    auto nic = openMultiqueueNic(offered);
    ASSERT_TRUE(nic);
    EXPECT_EQ(nic->queueCount(), offered);
    EXPECT_NE(nic->negotiatedFeatures() & virtio::F_MQ, 0u);
    EXPECT_NE(nic->negotiatedFeatures() & virtio::F_CTRL_VQ, 0u);
    EXPECT_TRUE(nic->isRunning());
    EXPECT_EQ(nic->linkStatus(), LinkStatus::up);
    EXPECT_TRUE(nic->hasInterruptPerQueue()) << "vectors=2N+2 gives each receive queue its own";
    std::set<int> fds;
    for (unsigned q = 0; q < offered; ++q) fds.insert(nic->interruptEventFd(q));
    EXPECT_EQ(fds.size(), offered);
    EXPECT_EQ(fds.count(-1), 0u);
}

TEST(VfioMultiqueue, MorePairsThanOfferedIsExplained) {
    auto driver = builtinDrivers().open("vfio:" + firstBdf() + ",queues=16");
    ASSERT_FALSE(driver.ok());
    EXPECT_EQ(driver.error(), EINVAL);
    EXPECT_NE(driver.message().find("16 queue pairs asked, the device offers"), std::string::npos) << driver.message();
    auto zero = builtinDrivers().open("vfio:" + firstBdf() + ",queues=0");
    ASSERT_FALSE(zero.ok());
    EXPECT_EQ(zero.error(), EINVAL);
}

TEST(VfioMultiqueue, FramesFromEveryTransmitQueueReachTheKernel) {
    auto nic = openMultiqueueNic(2);
    ASSERT_TRUE(nic);
    const unsigned pairs = nic->queueCount();
    ASSERT_EQ(pairs, 2u);
    // Each transmit queue asks the kernel for its MAC, then pings it: only frames the kernel
    // received are answered. Where the replies come back is the device's choice (automatic
    // receive steering is only recommended, 5.1.6.5.5): printed, not asserted.
    std::vector<unsigned> arpReplies(pairs, 0), echoReplies(pairs, 0), repliesOnRxQueue(pairs, 0);
    std::vector<unsigned> echoRepliesOnOwnQueue(pairs, 0);
    std::uint8_t hostMac[6] = {};
    bool haveMac = false;
    for (unsigned q = 0; q < pairs; ++q) {
        ASSERT_TRUE(sendOnQueue(*nic, q, mqArpRequest(nic->hardwareAddress())));
        bool answered = false;
        receiveOnAllQueues(
            *nic, 3000ms,
            [&](unsigned rxq, const std::uint8_t* f, std::size_t n) {
                if (n >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 && std::memcmp(f + 28, kMqHostIp, 4) == 0) {
                    std::memcpy(hostMac, f + 22, 6);
                    haveMac = answered = true;
                    arpReplies[q]++;
                    repliesOnRxQueue[rxq]++;
                }
            },
            [&] { return answered; });
        EXPECT_TRUE(answered) << "no ARP reply to transmit queue " << q;
    }
    ASSERT_TRUE(haveMac);
    // One ping at a time, alternating queues, each answered before the next.
    constexpr std::uint16_t kPings = 5;
    for (std::uint16_t seq = 1; seq <= kPings; ++seq) {
        for (unsigned q = 0; q < pairs; ++q) {
            const std::uint16_t id = static_cast<std::uint16_t>(0x5100 + q);
            ASSERT_TRUE(sendOnQueue(*nic, q, mqEchoRequest(nic->hardwareAddress(), hostMac, id, seq)));
            bool answered = false;
            receiveOnAllQueues(
                *nic, 3000ms,
                [&](unsigned rxq, const std::uint8_t* f, std::size_t n) {
                    if (!isIpv4From(f, n, 1) || f[34] != 0 || ((f[38] << 8) | f[39]) != id ||
                        ((f[40] << 8) | f[41]) != seq)
                        return;
                    answered = true;
                    echoReplies[q]++;
                    echoRepliesOnOwnQueue[q] += rxq == q;
                    repliesOnRxQueue[rxq]++;
                },
                [&] { return answered; });
            EXPECT_TRUE(answered) << "no reply to ping " << seq << " from tx queue " << q;
        }
    }
    for (unsigned q = 0; q < pairs; ++q) {
        std::printf(
            "multiqueue: tx queue %u sent %llu frames, %u ARP and %u echo replies came back (%u of those on rx "
            "queue %u); rx queue %u got %u replies in all\n",
            q, static_cast<unsigned long long>(nic->transmitStatistics(q).packets), arpReplies[q], echoReplies[q],
            echoRepliesOnOwnQueue[q], q, q, repliesOnRxQueue[q]);
        EXPECT_EQ(nic->transmitStatistics(q).packets, 1u + kPings) << "tx queue " << q;
        EXPECT_EQ(echoReplies[q], kPings) << "echo replies to what tx queue " << q << " sent";
    }
}

TEST(VfioMultiqueue, FlowsFromTheKernelAreSpreadOverTheReceiveQueues) {
    auto nic = openMultiqueueNic(4);
    ASSERT_TRUE(nic);
    const unsigned pairs = nic->queueCount();
    ASSERT_EQ(pairs, 4u);
    std::vector<unsigned> perQueue(pairs, 0);
    std::map<unsigned, std::set<unsigned>> queuesOfFlow;
    unsigned total = 0;
    hostAction("udp-flows");
    receiveOnAllQueues(
        *nic, 15000ms,
        [&](unsigned q, const std::uint8_t* f, std::size_t n) {
            unsigned port = udpFlowPort(f, n);
            if (port < 40000 || port >= 40000 + kMqFlows) return;
            perQueue[q]++;
            queuesOfFlow[port].insert(q);
            total++;
        },
        [&] { return total == kMqFlows * kMqDatagramsPerFlow; });
    unsigned used = 0, split = 0;
    for (unsigned q = 0; q < pairs; ++q) {
        std::printf("multiqueue: rx queue %u received %u datagrams (%llu frames in all)\n", q, perQueue[q],
                    static_cast<unsigned long long>(nic->receiveStatistics(q).packets));
        used += perQueue[q] != 0;
    }
    for (auto& [port, queues] : queuesOfFlow) split += queues.size() > 1;
    std::printf("multiqueue: %u datagrams of %u flows on %u of %u queues, %u flows split\n", total,
                static_cast<unsigned>(queuesOfFlow.size()), used, pairs, split);
    EXPECT_EQ(total, kMqFlows * kMqDatagramsPerFlow);
    EXPECT_EQ(queuesOfFlow.size(), kMqFlows);
    EXPECT_GE(used, 2u) << "every flow arrived on one queue";
    std::uint64_t counted = 0;
    for (unsigned q = 0; q < pairs; ++q) counted += nic->receiveStatistics(q).packets;
    EXPECT_GE(counted, total);
    EXPECT_EQ(nic->inputPackets(), counted);
}

TEST(VfioMultiqueue, EachReceiveQueueInterruptsOnItsOwnVector) {
    auto nic = openMultiqueueNic(4);
    ASSERT_TRUE(nic);
    const unsigned pairs = nic->queueCount();
    ASSERT_TRUE(nic->hasInterruptPerQueue());
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    FlowsPerQueueSink sink;
    sink.flows.assign(pairs, 0);
    nic->setClient(&sink);
    ASSERT_EQ(nic->attachToEventLoop(loop->get()), 0);
    std::vector<unsigned> wakeups(pairs, 0);
    for (unsigned q = 0; q < pairs; ++q) {
        ASSERT_EQ(nic->setInterruptsEnabled(q, true), 0);
        int fd = nic->interruptEventFd(q);
        ASSERT_GE(fd, 0);
        ASSERT_EQ((*loop)->watchReadable(fd,
                                         [&, q] {
                                             wakeups[q]++;
                                             nic->interruptOccurred(q);
                                         }),
                  0);
    }
    hostAction("udp-flows");
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (sink.total < kMqFlows * kMqDatagramsPerFlow && std::chrono::steady_clock::now() < deadline)
        (*loop)->runOnce(100ms);
    unsigned used = 0;
    for (unsigned q = 0; q < pairs; ++q) {
        std::printf("multiqueue: interrupts: rx queue %u woke the loop %u times for %u datagrams\n", q, wakeups[q],
                    sink.flows[q]);
        used += sink.flows[q] != 0;
        if (sink.flows[q] != 0) {
            EXPECT_GE(wakeups[q], 1u) << "queue " << q << " received without its interrupt";
        }
    }
    EXPECT_EQ(sink.total, kMqFlows * kMqDatagramsPerFlow);
    EXPECT_GE(used, 2u);
    for (unsigned q = 0; q < pairs; ++q) {
        (*loop)->unwatch(nic->interruptEventFd(q));
        nic->setInterruptsEnabled(q, false);
    }
    nic->attachToEventLoop(nullptr);
    nic->setClient(nullptr);
}

TEST(VfioMultiqueue, OnePairStillWorksOnAMultiqueueDevice) {
    auto nic = openRunningNic(firstBdf());
    ASSERT_TRUE(nic);
    EXPECT_EQ(nic->queueCount(), 1u);
    ASSERT_TRUE(sendFrame(*nic, mqArpRequest(nic->hardwareAddress())));
    EXPECT_TRUE(receiveUntil(*nic, [](const std::uint8_t* f, std::size_t n) {
        return n >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 && std::memcmp(f + 28, kMqHostIp, 4) == 0;
    }));
}

TEST(VfioMultiqueueFewVectors, QueueZeroKeepsItsInterruptAndTheOthersArePolled) {
    auto nic = openMultiqueueNic(4);
    ASSERT_TRUE(nic);
    const unsigned pairs = nic->queueCount();
    ASSERT_LT(nic->device().msixVectorCount(), pairs + 1) << "run with --vectors 3";
    EXPECT_TRUE(nic->hasInterrupts());
    EXPECT_FALSE(nic->hasInterruptPerQueue());
    const int fd = nic->interruptEventFd(0);
    ASSERT_GE(fd, 0);
    for (unsigned q = 1; q < pairs; ++q) {
        EXPECT_EQ(nic->interruptEventFd(q), -1) << "queue " << q;
        EXPECT_EQ(nic->setInterruptsEnabled(q, true), EOPNOTSUPP) << "queue " << q;
    }
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    FlowsPerQueueSink sink;
    sink.flows.assign(pairs, 0);
    nic->setClient(&sink);
    ASSERT_EQ(nic->attachToEventLoop(loop->get()), 0);
    ASSERT_EQ(nic->setInterruptsEnabled(0, true), 0);
    unsigned wakeups = 0;
    ASSERT_EQ((*loop)->watchReadable(fd,
                                     [&] {
                                         wakeups++;
                                         nic->interruptOccurred(0);
                                     }),
              0);
    hostAction("udp-flows");
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (sink.total < kMqFlows * kMqDatagramsPerFlow && std::chrono::steady_clock::now() < deadline) {
        (*loop)->runOnce(20ms);
        for (unsigned q = 1; q < pairs; ++q) nic->interruptOccurred(q);  // poll mode: no eventfd to read
    }
    unsigned used = 0;
    for (unsigned q = 0; q < pairs; ++q) {
        std::printf("multiqueue, %u vectors: rx queue %u received %u datagrams%s\n", nic->device().msixVectorCount(), q,
                    sink.flows[q], q == 0 ? (" (" + std::to_string(wakeups) + " interrupts)").c_str() : " (polled)");
        used += sink.flows[q] != 0;
    }
    EXPECT_EQ(sink.total, kMqFlows * kMqDatagramsPerFlow);
    EXPECT_GE(used, 2u);
    if (sink.flows[0] != 0) {
        EXPECT_GE(wakeups, 1u) << "queue 0 received without its interrupt";
    }
    (*loop)->unwatch(fd);
    nic->setInterruptsEnabled(0, false);
    nic->attachToEventLoop(nullptr);
    nic->setClient(nullptr);
}
