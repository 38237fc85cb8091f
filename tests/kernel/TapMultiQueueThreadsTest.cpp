// Multi-queue taps run by two worker threads: many kernel UDP flows cross nexnet, each in order
// and whole, spread by the kernel's flow hashing over the queues, through a forwarder between two
// taps and through a HostStackBridge (whose host tap has a queue per wire queue). Multi-threaded:
// also built and run under ThreadSanitizer (NEXNET_TSAN, every *ThreadsTest).
#include "kernel/TapHarness.h"
#include "netif/HostStackBridge.h"
#include "netif/NetworkInterface.h"
#include "netif/QueueWorkers.h"
#include "support/QueueForwarder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <map>

using namespace nexnet;
using namespace nexnet::test;

namespace {

using Mode = NetworkInterface::Mode;
constexpr unsigned kQueues = 4;
constexpr unsigned kFlows = 32;
constexpr unsigned kPerRound = 8;  // datagrams of each flow in flight at once
constexpr unsigned kRounds = 12;
constexpr std::uint16_t kPort = 7000;

using Forwarder = QueueForwarder;

// kFlows UDP flows (one socket each, distinct source ports) from one namespace to a port in
// another, with a sequence number in each datagram, and the receiver that checks each flow's
// order. Sends in rounds, waiting for each round to arrive, so that nothing is lost to a full
// socket buffer on this loaded machine: a loss is then nexnet's.
class UdpFlows {
public:
    UdpFlows(const NetworkNamespace& from, const NetworkNamespace& to, const std::string& toAddress) {
        receiver_ = to.openSocket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int size = 4 << 20;
        setsockopt(receiver_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_port = htons(kPort);
        bound_ = bind(receiver_, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0;
        destination_.sin_family = AF_INET;
        destination_.sin_port = htons(kPort);
        inet_pton(AF_INET, toAddress.c_str(), &destination_.sin_addr);
        for (unsigned f = 0; f < kFlows; ++f) senders_.push_back(from.openSocket(AF_INET, SOCK_DGRAM, 0));
    }
    ~UdpFlows() {
        for (int fd : senders_) close(fd);
        if (receiver_ >= 0) close(receiver_);
    }
    bool ok() const {
        return bound_ && std::all_of(senders_.begin(), senders_.end(), [](int fd) { return fd >= 0; });
    }

    // Sends every round; @return false when a round did not arrive whole within 5 s.
    bool run() {
        for (unsigned round = 0; round < kRounds; ++round) {
            for (unsigned f = 0; f < kFlows; ++f) {
                for (unsigned i = 0; i < kPerRound; ++i) {
                    std::uint64_t sequence = round * kPerRound + i;
                    sendto(senders_[f], &sequence, sizeof sequence, 0, reinterpret_cast<sockaddr*>(&destination_),
                           sizeof destination_);
                }
            }
            std::uint64_t wanted = std::uint64_t{round + 1} * kPerRound * kFlows;
            if (!pollUntil([&] { return receive() >= wanted; }, std::chrono::seconds(5))) return false;
        }
        return true;
    }
    // Reads what arrived. @return datagrams received so far.
    std::uint64_t receive() {
        std::uint64_t sequence;
        sockaddr_in source{};
        socklen_t length = sizeof source;
        while (recvfrom(receiver_, &sequence, sizeof sequence, 0, reinterpret_cast<sockaddr*>(&source), &length) ==
               sizeof sequence) {
            Flow& flow = flows_[ntohs(source.sin_port)];
            if (sequence != flow.next) ++disorders_;
            flow.next = sequence + 1;
            ++received_;
            length = sizeof source;
        }
        return received_;
    }
    std::uint64_t received() const { return received_; }
    std::uint64_t disorders() const { return disorders_; }
    std::size_t flowsSeen() const { return flows_.size(); }
    static constexpr std::uint64_t total() { return std::uint64_t{kFlows} * kPerRound * kRounds; }

private:
    struct Flow {
        std::uint64_t next = 0;
    };
    int receiver_ = -1;
    bool bound_ = false;
    sockaddr_in destination_{};
    std::vector<int> senders_;
    std::map<std::uint16_t, Flow> flows_;
    std::uint64_t received_ = 0;
    std::uint64_t disorders_ = 0;
};

// The queues of @p driver that received something.
unsigned queuesUsed(const IONetwork& driver) {
    unsigned used = 0;
    for (unsigned q = 0; q < driver.queueCount(); ++q) used += driver.receiveStatistics(q).packets > 0;
    return used;
}

std::unique_ptr<NetworkInterface> openInterface(const std::string& name) {
    auto driver = builtinDrivers().open("tap:" + name + ",queues=" + std::to_string(kQueues));
    EXPECT_TRUE(driver.ok()) << driver.describe();
    return driver ? std::make_unique<NetworkInterface>(std::move(driver.value())) : nullptr;
}

// Pings until the path answers (neighbours resolved, links up): the flows then start at once.
bool pathAnswers(const NetworkNamespace& from, const std::string& to) {
    return pollUntil([&] { return from.run("ping -c 1 -W 1 " + to, 3).status == 0; }, std::chrono::seconds(15));
}

class TapMultiQueueThreadsTest : public ::testing::Test {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        a_ = std::make_unique<NetworkNamespace>("mqa");
        b_ = std::make_unique<NetworkNamespace>("mqb");
        ASSERT_TRUE(a_->ok() && b_->ok());
        auto made = QueueWorkers::create({2, {}, "nexnet-t"});
        ASSERT_TRUE(made.ok());
        workers_ = std::move(made.value());
    }
    void TearDown() override {
        if (workers_) workers_->stop();
        bridge_.reset();  // its host interface leaves the workers' loops while they exist
        workers_.reset();
        if (left_ && forwarders_[0]) left_->removeInputConsumer(forwarders_[0].get());
        if (right_ && forwarders_[1]) right_->removeInputConsumer(forwarders_[1].get());
    }

    std::unique_ptr<NetworkNamespace> a_, b_;
    std::unique_ptr<NetworkInterface> left_, right_;
    std::unique_ptr<Forwarder> forwarders_[2];
    std::unique_ptr<HostStackBridge> bridge_;
    std::unique_ptr<QueueWorkers> workers_;  // stopped first, in TearDown
};

TEST_F(TapMultiQueueThreadsTest, AForwarderOnTwoThreadsCarriesManyKernelFlowsEachInOrder) {
    std::string nameA = uniqueTapName("q"), nameB = uniqueTapName("q");
    left_ = openInterface(nameA);
    right_ = openInterface(nameB);
    ASSERT_TRUE(left_ && right_);
    forwarders_[0] = std::make_unique<Forwarder>(*right_);
    forwarders_[1] = std::make_unique<Forwarder>(*left_);
    left_->addInputConsumer(forwarders_[0].get());
    right_->addInputConsumer(forwarders_[1].get());
    ASSERT_EQ(left_->setUp(), 0);
    ASSERT_EQ(right_->setUp(), 0);
    ASSERT_EQ(workers_->add(*left_, Mode::interrupt).value(), Mode::interrupt);
    ASSERT_EQ(workers_->add(*right_, Mode::interrupt).value(), Mode::interrupt);
    ASSERT_TRUE(workers_->start().ok());
    ASSERT_TRUE(moveIntoNamespace(nameA, *a_, "10.83.0.1/24"));
    ASSERT_TRUE(moveIntoNamespace(nameB, *b_, "10.83.0.2/24"));
    ASSERT_TRUE(pathAnswers(*a_, "10.83.0.2"));

    UdpFlows flows(*a_, *b_, "10.83.0.2");
    ASSERT_TRUE(flows.ok());
    EXPECT_TRUE(flows.run()) << "received " << flows.received() << " of " << UdpFlows::total();
    EXPECT_EQ(flows.received(), UdpFlows::total());
    EXPECT_EQ(flows.disorders(), 0u);
    EXPECT_EQ(flows.flowsSeen(), kFlows);
    // The kernel spread the flows over the queues, so both threads forwarded.
    EXPECT_GE(queuesUsed(left_->driver()), 2u);
    workers_->stop();
    EXPECT_EQ(left_->driver().inputPackets(), right_->driver().outputPackets() + right_->driver().outputDrops());
}

TEST_F(TapMultiQueueThreadsTest, AHostStackBridgeGivesTheKernelAQueuePerWireQueueAndKeepsEachFlowInOrder) {
    std::string wireName = uniqueTapName("w");
    left_ = openInterface(wireName);
    ASSERT_TRUE(left_);
    HostStackBridge::Options options;
    options.hostName = uniqueTapName("h");
    auto bridge = HostStackBridge::create(*left_, options);
    ASSERT_TRUE(bridge.ok()) << bridge.describe();
    bridge_ = std::move(bridge.value());
    EXPECT_EQ(bridge_->host().driver().queueCount(), kQueues);
    ASSERT_EQ(left_->setUp(), 0);
    ASSERT_EQ(workers_->add(*left_, Mode::interrupt).value(), Mode::interrupt);
    ASSERT_EQ(bridge_->attach(workers_->loops()), 0);
    ASSERT_TRUE(workers_->start().ok());
    // Peer (A) -- wire tap == nexnet == bridge == host tap -- the host's stack (B).
    ASSERT_TRUE(moveIntoNamespace(wireName, *a_, "10.84.0.1/24"));
    ASSERT_TRUE(moveIntoNamespace(options.hostName, *b_, "10.84.0.2/24"));
    ASSERT_TRUE(pathAnswers(*b_, "10.84.0.1"));

    UdpFlows flows(*b_, *a_, "10.84.0.1");  // from the host's stack out through the wire
    ASSERT_TRUE(flows.ok());
    EXPECT_TRUE(flows.run()) << "received " << flows.received() << " of " << UdpFlows::total();
    EXPECT_EQ(flows.received(), UdpFlows::total());
    EXPECT_EQ(flows.disorders(), 0u);
    // The kernel spread its flows over the host tap's queues: both threads carried its side.
    EXPECT_GE(queuesUsed(bridge_->host().driver()), 2u);
    EXPECT_GE(bridge_->statistics().fromHost, UdpFlows::total());
    workers_->stop();
}

}  // namespace
