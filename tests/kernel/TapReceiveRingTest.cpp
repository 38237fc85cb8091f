// The tap driver's two receive paths against the Linux kernel, rx=uring (TapReceiveRing: a
// multishot read into posted netbufs) and rx=readv: the same frames arrive in the same order with
// the same offload metadata; netbufs posted to the kernel all come back on down and close; a dry
// pool holds frames back without losing or hanging; a forced ring the kernel refuses is ENOTSUP.
#include "kernel/TapHarness.h"

#include <arpa/inet.h>
#include <cstddef>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <thread>

using namespace nexnet;
using namespace nexnet::test;

namespace {

constexpr std::uint16_t kPort = 47311;
constexpr auto kWait = std::chrono::seconds(5);

// The sequence number at the start of the UDP payload of @p frame to kPort, or -1.
long sequenceOf(const Netbuf* frame) {
    const std::uint8_t* f = frame->data();
    if (frame->size() < 14 + 20 + 8 + 4 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17) return -1;
    unsigned ihl = (f[14] & 0x0f) * 4u;
    if (frame->size() < 14 + ihl + 8 + 4 || (f[14 + ihl + 2] << 8 | f[14 + ihl + 3]) != kPort) return -1;
    std::uint32_t sequence;
    std::memcpy(&sequence, f + 14 + ihl + 8, 4);
    return ntohl(sequence);
}

// Whether this kernel lets a process use io_uring multishot reads (what rx=uring needs).
bool ringAvailable() {
    auto driver = builtinDrivers().open("tap:" + uniqueTapName("p") + ",rx=uring");
    return driver.ok();
}

class TapReceiveRingTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        NEXNET_REQUIRE_KERNEL_PEER();
        if (GetParam() == "uring" && !ringAvailable())
            GTEST_SKIP() << "this kernel has no io_uring multishot read (Linux 6.7) or io_uring is disabled";
        ns_ = std::make_unique<NetworkNamespace>("rxr");
        ASSERT_TRUE(ns_->ok());
        name_ = uniqueTapName("r");
    }
    void TearDown() override {
        if (socket_ >= 0) close(socket_);
    }

    // Opens tap:NAME,rx=PARAM@p options; its kernel end 10.79.0.1/24 in the namespace, up, with
    // 10.79.0.2 at the driver's address so that the kernel sends UDP there without ARP.
    void open(const std::string& options = "") {
        driver_ = openTap("tap:" + name_ + ",rx=" + GetParam() + options);
        ASSERT_NE(driver_, nullptr);
        ASSERT_EQ(driver_->receivesThroughRing(), GetParam() == "uring");
        ASSERT_TRUE(moveIntoNamespace(name_, *ns_, "10.79.0.1/24"));
        ASSERT_EQ(ns_->run("ip neigh replace 10.79.0.2 lladdr " + driver_->hardwareAddress().toString() + " dev " +
                           name_ + " nud permanent")
                      .status,
                  0);
        ASSERT_EQ(setFlags(*driver_, IFF_UP), 0);
        // Until the kernel's link watch sees the carrier, its end of the tap discards what it sends.
        ASSERT_TRUE(pollUntil([&] { return kernelLinkIsUp(); }, kWait));
        socket_ = ns_->openSocket(AF_INET, SOCK_DGRAM, 0);
        ASSERT_GE(socket_, 0);
    }

    bool kernelLinkIsUp() const {
        return ns_->run("ip link show " + name_).output.find("state UP") != std::string::npos;
    }

    // Sends datagrams numbered @p first to @p first + @p count - 1 from the kernel to 10.79.0.2.
    void sendDatagrams(std::uint32_t first, std::uint32_t count, std::size_t bytes = 100) {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(kPort);
        inet_pton(AF_INET, "10.79.0.2", &to.sin_addr);
        std::vector<std::uint8_t> payload(bytes, 0x3c);
        for (std::uint32_t s = first; s < first + count; ++s) {
            std::uint32_t sequence = htonl(s);
            std::memcpy(payload.data(), &sequence, 4);
            ASSERT_EQ(sendto(socket_, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
                      static_cast<ssize_t>(payload.size()));
        }
    }

    // Receives until @p count datagrams arrived (others are freed) or @p timeout passed, into
    // @p kept when given (the test then owns them), else freed. @return the sequence numbers in
    // arrival order.
    std::vector<long> receiveDatagrams(std::size_t count, std::vector<Netbuf*>* kept = nullptr,
                                       std::chrono::milliseconds timeout = kWait) {
        std::vector<long> sequences;
        pollUntil(
            [&] {
                Netbuf* burst[TapDriver::kBurst];
                unsigned n = driver_->receive(0, burst, TapDriver::kBurst);
                for (unsigned i = 0; i < n; ++i) {
                    long sequence = sequenceOf(burst[i]);
                    if (sequence >= 0) sequences.push_back(sequence);
                    if (sequence >= 0 && kept != nullptr) kept->push_back(burst[i]);
                    else burst[i]->free();
                }
                return sequences.size() >= count;
            },
            timeout);
        return sequences;
    }

    static std::vector<long> numbers(long first, long count) {
        std::vector<long> all;
        for (long s = first; s < first + count; ++s) all.push_back(s);
        return all;
    }

    std::unique_ptr<NetworkNamespace> ns_;
    std::string name_;
    std::unique_ptr<TapDriver> driver_;
    int socket_ = -1;
};

TEST_P(TapReceiveRingTest, ModeDescriptionSaysWhichPathReceives) {
    open();
    std::string mode = driver_->modeDescription();
    if (GetParam() == "uring") EXPECT_NE(mode.find("receive: io_uring multishot read"), std::string::npos) << mode;
    else EXPECT_NE(mode.find("receive: one readv per frame (rx=readv)"), std::string::npos) << mode;
}

TEST_P(TapReceiveRingTest, KernelDatagramsArriveInOrderWithTheirChecksumOffload) {
    open(",vnet=1");
    // More than a ring holds, in rounds the kernel's queue (500 frames) takes whole.
    std::vector<Netbuf*> kept;
    std::vector<long> sequences;
    for (std::uint32_t round = 0; round < 4; ++round) {
        sendDatagrams(round * 150, 150);
        std::vector<long> got = receiveDatagrams(150, &kept);
        sequences.insert(sequences.end(), got.begin(), got.end());
    }
    EXPECT_EQ(sequences, numbers(0, 600));
    for (Netbuf* frame : kept) {
        // With TUN_F_CSUM the kernel leaves the UDP checksum for the device: the virtio-net header
        // says where it goes (the UDP header after 14 + 20 bytes, checksum field at 6).
        const NetbufOffload& offload = frame->offload();
        EXPECT_EQ(offload.flags & NetbufOffload::kNeedsChecksum, NetbufOffload::kNeedsChecksum);
        EXPECT_EQ(offload.csumStart, 34u);
        EXPECT_EQ(offload.csumOffset, 6u);
        EXPECT_EQ(offload.gsoType, 0u);
        EXPECT_EQ(frame->size(), 14u + 20 + 8 + 100);
        frame->free();
    }
    EXPECT_EQ(driver_->receiveStatistics(0).errors, 0u);
}

TEST_P(TapReceiveRingTest, ReceivedNetbufsCarryNothingFromTheirPreviousUse) {
    open(",pool=64");
    Netbuf* burst[TapDriver::kBurst];
    EXPECT_EQ(driver_->receive(0, burst, TapDriver::kBurst), 0u);  // the driver takes its receive reserve
    // Every other netbuf is dirtied and given back: the refills after the reserve take them.
    std::vector<Netbuf*> all;
    while (Netbuf* netbuf = driver_->pool()->allocate()) {
        netbuf->setOwner(7);
        netbuf->setFlags(Netbuf::kFirstUserFlag | Netbuf::kMarkedForBuffering);
        netbuf->setTimestamp(123456789);
        netbuf->offload() = {1000, 20, 6, NetbufOffload::kGsoTcpV4, NetbufOffload::kNeedsChecksum};
        all.push_back(netbuf);
    }
    driver_->pool()->freeBulk(all.data(), static_cast<unsigned>(all.size()));
    std::vector<long> sequences;
    for (std::uint32_t round = 0; round < 4; ++round) {
        sendDatagrams(round * 40, 40);
        std::vector<Netbuf*> got;
        std::vector<long> some = receiveDatagrams(40, &got);
        sequences.insert(sequences.end(), some.begin(), some.end());
        for (Netbuf* f : got) {
            EXPECT_EQ(f->owner(), 0u);
            EXPECT_EQ(f->flags(), 0u);
            EXPECT_EQ(f->timestamp(), 0u);
            EXPECT_EQ(f->offload().gsoSize, 0u);
            EXPECT_EQ(f->offload().flags, 0u);
            f->free();
        }
    }
    EXPECT_EQ(sequences, numbers(0, 160));
}

TEST_P(TapReceiveRingTest, EveryNetbufComesBackOnDownWithFramesStillQueued) {
    open();
    sendDatagrams(0, 100);
    // Take one burst: the rest stays read into posted netbufs (uring) or in the kernel (readv).
    EXPECT_FALSE(receiveDatagrams(1).empty());
    ASSERT_EQ(setFlags(*driver_, 0), 0);
    if (GetParam() == "uring") EXPECT_EQ(driver_->pool()->inUse(), 0u) << "posted netbufs left out after down";
    else EXPECT_LE(driver_->pool()->inUse(), TapDriver::kBurst) << "only the readv spares stay out";
    // Up again: the frames of before down are gone, new ones arrive from the start.
    ASSERT_EQ(setFlags(*driver_, IFF_UP), 0);
    ASSERT_TRUE(pollUntil([&] { return kernelLinkIsUp(); }, kWait));
    sendDatagrams(1000, 50);
    std::vector<long> sequences = receiveDatagrams(50);
    EXPECT_EQ(sequences, numbers(1000, 50));
}

TEST_P(TapReceiveRingTest, AQueueReceivedOnAnotherThreadThanTheOneThatBroughtItUpLosesNothing) {
    open();  // up on this thread: rx=uring arms its read here
    std::vector<long> sequences;
    std::thread receiver([&] {
        for (std::uint32_t round = 0; round < 3; ++round) {
            sendDatagrams(round * 100, 100);
            std::vector<long> got = receiveDatagrams(100);
            sequences.insert(sequences.end(), got.begin(), got.end());
        }
    });
    receiver.join();
    EXPECT_EQ(sequences, numbers(0, 300));
    ASSERT_EQ(setFlags(*driver_, 0), 0);  // back on this thread
    if (GetParam() == "uring") {
        EXPECT_EQ(driver_->pool()->inUse(), 0u);
    }
}

// An interface opened and brought up on one thread and run in interrupt mode on another (sio's
// endpoints, QueueWorkers): frames that arrive while the opener sleeps in a system call reach the
// queue's thread, and the opener's call is not interrupted (rx=uring used to arm its read on the
// opener, whose task work then cut a recv with a timeout short with EINTR).
TEST_P(TapReceiveRingTest, InterruptModeOnAnotherThreadGetsEveryFrameAndLeavesTheOpenerAlone) {
    open();  // up on this thread
    int wake = driver_->interruptEventFd(0);
    ASSERT_GE(wake, 0);
    ASSERT_EQ(driver_->setInterruptsEnabled(0, true), 0);
    std::atomic<bool> stop{false};
    std::vector<long> sequences;
    std::thread queueThread([&] {
        auto deadline = std::chrono::steady_clock::now() + kWait;
        while (!stop.load() && sequences.size() < 100 && std::chrono::steady_clock::now() < deadline) {
            pollfd descriptor{wake, POLLIN, 0};
            if (poll(&descriptor, 1, 100) <= 0) continue;  // asleep: woken by the frames or not at all
            Netbuf* burst[TapDriver::kBurst];
            unsigned n;
            while ((n = driver_->receive(0, burst, TapDriver::kBurst)) != 0) {
                for (unsigned i = 0; i < n; ++i) {
                    if (long sequence = sequenceOf(burst[i]); sequence >= 0) sequences.push_back(sequence);
                    burst[i]->free();
                }
            }
        }
    });
    // The frames come while this thread sleeps in a recv with a timeout (which says EINTR, not
    // restarted, when something interrupts it).
    std::thread sender([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        sendDatagrams(0, 100);
    });
    int idle = ns_->openSocket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(idle, 0);
    timeval timeout{0, 800'000};
    setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char byte;
    ssize_t got = recv(idle, &byte, 1, 0);
    int error = errno;
    close(idle);
    sender.join();
    stop = true;
    queueThread.join();
    EXPECT_EQ(got, -1);
    EXPECT_EQ(error, EAGAIN) << "the opener's recv ended with " << std::strerror(error) << ", not its timeout";
    EXPECT_EQ(sequences, numbers(0, 100)) << "frames lost or late on the queue's thread";
    ASSERT_EQ(setFlags(*driver_, 0), 0);  // back on this thread
    if (GetParam() == "uring") {
        EXPECT_EQ(driver_->pool()->inUse(), 0u);
    }
}

TEST_P(TapReceiveRingTest, ClosingWithFramesPostedRemovesTheInterface) {
    open();
    sendDatagrams(0, 100);
    EXPECT_FALSE(receiveDatagrams(1).empty());
    driver_.reset();
    EXPECT_NE(ns_->run("ip link show " + name_).status, 0) << "the driver's last reference to the tap is gone";
}

TEST_P(TapReceiveRingTest, ADryPoolHoldsFramesBackAndLosesNone) {
    open(",pool=64");
    Netbuf* burst[TapDriver::kBurst];
    EXPECT_EQ(driver_->receive(0, burst, TapDriver::kBurst), 0u);  // the driver takes its receive reserve
    // The application holds every netbuf the driver has not kept for receiving.
    std::vector<Netbuf*> held;
    while (Netbuf* netbuf = driver_->pool()->allocate()) held.push_back(netbuf);
    sendDatagrams(0, 200);
    std::vector<Netbuf*> first;
    std::vector<long> sequences = receiveDatagrams(200, &first, std::chrono::milliseconds(300));
    ASSERT_LT(sequences.size(), 200u) << "the receive reserve cannot hold 200 frames";
    EXPECT_GT(sequences.size(), 0u);
    EXPECT_EQ(driver_->receive(0, burst, TapDriver::kBurst), 0u) << "nothing to receive into: nothing received";
    for (Netbuf* netbuf : held) netbuf->free();
    for (Netbuf* netbuf : first) netbuf->free();
    std::vector<long> rest = receiveDatagrams(200 - sequences.size());
    sequences.insert(sequences.end(), rest.begin(), rest.end());
    EXPECT_EQ(sequences, numbers(0, 200));
    EXPECT_EQ(driver_->receiveStatistics(0).drops + driver_->receiveStatistics(0).errors, 0u);
}

INSTANTIATE_TEST_SUITE_P(Rx, TapReceiveRingTest, ::testing::Values("uring", "readv"),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

// Runs @p body in a child process where io_uring_setup fails with ENOSYS, as under Docker's
// default seccomp profile. @return the child's exit status (what body returned), or -1.
int withoutIoUring(const std::function<int()>& body) {
    pid_t child = fork();
    if (child == 0) {
        sock_filter filter[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
            _exit(100);
        _exit(body());
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

TEST(TapReceiveRingRefusalTest, AForcedRingWhereIoUringIsRefusedFailsWithENOTSUPAndAutoFallsBack) {
    NEXNET_REQUIRE_KERNEL_PEER();
    std::string name = uniqueTapName("n");
    int forced = withoutIoUring([&] {
        auto driver = builtinDrivers().open("tap:" + name + ",rx=uring");
        if (driver.ok()) return 1;
        if (driver.error() != ENOTSUP) return 2;
        return driver.message().find("rx=readv") == std::string::npos ? 3 : 0;
    });
    EXPECT_EQ(forced, 0) << "1: opened, 2: another errno, 3: the message does not say what to do";
    int automatic = withoutIoUring([&] {
        auto driver = builtinDrivers().open("tap:" + name);
        if (!driver.ok()) return 1;
        auto* tap = static_cast<TapDriver*>(driver.value().get());
        if (tap->receivesThroughRing()) return 2;
        return driver.value()->modeDescription().find("receive: one readv per frame (io_uring") == std::string::npos
            ? 3
            : 0;
    });
    EXPECT_EQ(automatic, 0) << "1: refused, 2: claims the ring, 3: the mode does not say why readv";
}

}  // namespace
