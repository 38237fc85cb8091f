// The pcap driver against files that would lose data or hang a program (issue 17, defects 5-7): a tx
// file that is the capture itself, a tx file fed without end, writes that fail, a FIFO, a pool too
// small or too large, and a capture with a long gap replayed in its own time (the program sleeps).
#include "drivers/BuiltinDrivers.h"
#include "drivers/pcap/PcapDriver.h"
#include "framework/EventLoop.h"
#include "support/ShellCommand.h"
#include "support/TestEnvironment.h"
#include "unit/PcapTestFiles.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace nexnet;
using namespace nexnet::test;

namespace {

const std::string kSample = std::string(NEXNET_BINARY_DIR) + "/samples/ethernet/nexnet-sample";
const std::string kForwarder = std::string(NEXNET_BINARY_DIR) + "/samples/forward/nexnet-fwd";
const std::string kRequests = std::string(NEXNET_SOURCE_DIR) + "/samples/data/requests.pcap";

std::vector<CaptureRecord> someRecords(unsigned count) {
    std::vector<CaptureRecord> records;
    for (unsigned i = 0; i < count; ++i)
        records.push_back({testFrame(100, i), 1700000000000000000ull + i * 1000ull, 0});
    return records;
}

std::unique_ptr<PcapDriver> openPcap(const std::string& uri, std::string* message = nullptr) {
    auto opened = builtinDrivers().open(uri);
    if (!opened) {
        if (message != nullptr) *message = opened.describe();
        return nullptr;
    }
    std::unique_ptr<PcapDriver> driver(static_cast<PcapDriver*>(opened.value().release()));
    driver->resetAndEnable(true);
    return driver;
}

// Sends @p count frames of @p size bytes through @p driver in bursts of 32. @return accepted.
std::uint64_t sendFrames(PcapDriver& driver, unsigned count, unsigned size = 100) {
    std::uint64_t accepted = 0;
    while (count > 0) {
        Netbuf* burst[32];
        unsigned n = std::min(count, 32u);
        for (unsigned i = 0; i < n; ++i) {
            burst[i] = driver.allocateNetbuf();
            EXPECT_NE(burst[i], nullptr);
            std::vector<std::uint8_t> frame = testFrame(size, i);
            burst[i]->append(frame.data(), size);
        }
        accepted += driver.send(0, burst, n);
        count -= n;
    }
    return accepted;
}

std::uint64_t cpuNanoseconds(int who) {
    rusage usage{};
    getrusage(who, &usage);
    auto ns = [](const timeval& t) { return std::uint64_t(t.tv_sec) * 1000000000u + std::uint64_t(t.tv_usec) * 1000u; };
    return ns(usage.ru_utime) + ns(usage.ru_stime);
}

TEST(PcapLimits, ATxFileThatIsTheCaptureItselfIsRefusedAndTheCaptureKept) {
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(5)));
    auto before = fileBytes(dir.file("in.pcap"));
    ASSERT_EQ(symlink(dir.file("in.pcap").c_str(), dir.file("alias.pcap").c_str()), 0);
    for (const std::string& tx : {dir.file("in.pcap"), dir.file("alias.pcap"), dir.file("./in.pcap")}) {
        auto driver = builtinDrivers().open("pcap:" + dir.file("in.pcap") + ",tx=" + tx);
        ASSERT_FALSE(driver) << tx;
        EXPECT_EQ(driver.error(), EINVAL);
        EXPECT_NE(driver.message().find("is the capture being read"), std::string::npos) << driver.message();
        EXPECT_EQ(fileBytes(dir.file("in.pcap")), before) << tx << " replaced the capture";
    }
}

TEST(PcapLimits, TheTxFileStopsAtTxLimitDropsTheRestAndSaysSo) {
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(1)));
    auto driver = openPcap("pcap:" + dir.file("in.pcap") + ",tx=" + dir.file("out.pcap") + ",txlimit=10000");
    ASSERT_NE(driver, nullptr);
    EXPECT_EQ(sendFrames(*driver, 1000), 1000u) << "every frame is taken: the driver never blocks its caller";
    struct stat info {};
    ASSERT_EQ(stat(dir.file("out.pcap").c_str(), &info), 0);
    EXPECT_LE(info.st_size, 10000) << "the file grew past txlimit";
    // 24 bytes of file header, then 16 + 100 per record: 86 records fit in 10000 bytes.
    EXPECT_EQ(readCapture(dir.file("out.pcap")).size(), 86u);
    EXPECT_EQ(driver->outputPackets(), 86u);
    EXPECT_EQ(driver->outputDrops(), 1000u - 86u);
    EXPECT_NE(driver->faultDescription().find("reached txlimit=10000"), std::string::npos)
        << driver->faultDescription();
}

TEST(PcapLimits, TheDefaultTxLimitIsOneGibibyte) {
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(1)));
    auto driver = openPcap("pcap:" + dir.file("in.pcap") + ",tx=" + dir.file("out.pcap"));
    ASSERT_NE(driver, nullptr);
    ASSERT_NE(driver->transmitFile(), nullptr);
    EXPECT_EQ(driver->transmitFile()->sizeLimit(), 1ull << 30);
}

TEST(PcapLimits, FramesTheTxFileCannotTakeAreTransmitErrorsNotSentFrames) {
    NEXNET_REQUIRE(access("/dev/full", W_OK) == 0, "/dev/full is not writable here");
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(1)));
    auto driver = openPcap("pcap:" + dir.file("in.pcap") + ",tx=/dev/full");
    ASSERT_NE(driver, nullptr);
    EXPECT_EQ(sendFrames(*driver, 100), 100u);
    EXPECT_EQ(driver->outputPackets(), 0u) << "nothing reached the file";
    EXPECT_EQ(driver->outputErrors(), 100u);
    EXPECT_NE(driver->faultDescription().find("/dev/full: cannot write: No space left on device"), std::string::npos)
        << driver->faultDescription();
    EXPECT_EQ(driver->pool()->inUse(), 0u) << "the failed frames were freed";
}

TEST(PcapLimits, AFifoIsRefusedAtOnceInsteadOfWaitedOn) {
    TemporaryDirectory dir;
    ASSERT_EQ(mkfifo(dir.file("fifo").c_str(), 0600), 0);
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(1)));
    // Both would block in open(2) forever without a process at the other end.
    auto reading = builtinDrivers().open("pcap:" + dir.file("fifo"));
    ASSERT_FALSE(reading);
    EXPECT_EQ(reading.error(), EINVAL);
    EXPECT_NE(reading.message().find("is a FIFO"), std::string::npos) << reading.message();
    auto writing = builtinDrivers().open("pcap:" + dir.file("in.pcap") + ",tx=" + dir.file("fifo"));
    ASSERT_FALSE(writing);
    EXPECT_EQ(writing.error(), ENXIO);
    EXPECT_NE(writing.message().find("a FIFO no process reads"), std::string::npos) << writing.message();
    auto device = builtinDrivers().open("pcap:/dev/zero");
    ASSERT_FALSE(device);
    EXPECT_NE(device.message().find("is a character device"), std::string::npos) << device.message();
}

TEST(PcapLimits, APoolSmallerThanABurstIsRefusedWithTheReason) {
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(1)));
    const std::vector<std::string> uris = {"null:,pool=8", "pcap:" + dir.file("in.pcap") + ",pool=31",
                                           "tap:nx0,pool=16", "tap:nx0,queues=2,pool=63", "pcap-live:lo,pool=1"};
    for (const std::string& uri : uris) {
        auto driver = builtinDrivers().open(uri);
        ASSERT_FALSE(driver) << uri;
        EXPECT_EQ(driver.error(), EINVAL) << uri;
        EXPECT_NE(driver.message().find("netbufs (a receive burst for each queue"), std::string::npos)
            << driver.message();
    }
    EXPECT_TRUE(builtinDrivers().open("null:,pool=32")) << "one burst is enough";
}

TEST(PcapLimits, APoolLargerThanTheMachineIsRefusedBeforeItIsMade) {
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(1)));
    for (const std::string& uri :
         {std::string("null:,pool=4294967294"), "pcap:" + dir.file("in.pcap") + ",pool=4000000000"}) {
        auto driver = builtinDrivers().open(uri);
        ASSERT_FALSE(driver) << uri;
        EXPECT_EQ(driver.error(), ENOMEM) << uri;
        EXPECT_NE(driver.message().find("available (MemAvailable"), std::string::npos) << driver.message();
    }
}

// timing=original across a gap of 1.5 s: the driver's timer says when the next frame is due, so
// an event loop sleeps until then. Counted: the loop wakes once per frame (and the first turn),
// not millions of times, and the thread uses a fraction of the gap's CPU.
TEST(PcapLimits, OriginalTimingSleepsThroughAGapInTheCapture) {
    TemporaryDirectory dir;
    std::vector<CaptureRecord> records = {{testFrame(64, 0), 1700000000000000000ull, 0},
                                          {testFrame(64, 1), 1700000001500000000ull, 0}};
    ASSERT_TRUE(writeCapture(dir.file("gap.pcap"), records));
    auto driver = openPcap("pcap:" + dir.file("gap.pcap") + ",timing=original");
    ASSERT_NE(driver, nullptr);
    int fd = driver->interruptEventFd(0);
    ASSERT_GE(fd, 0) << "the driver has no interrupt descriptor: a loop can only spin on it";
    ASSERT_EQ(driver->setInterruptsEnabled(0, true), 0);

    struct Collector final : IONetworkClient {
        unsigned frames = 0;
        void inputBurst(IONetwork&, unsigned, Netbuf** netbufs, unsigned count) override {
            frames += count;
            NetbufPool::freeToOwners(netbufs, count);
        }
    } collector;
    driver->setClient(&collector);
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    unsigned wakeups = 0;
    ASSERT_EQ(loop.value()->watchReadable(fd,
                                          [&] {
                                              ++wakeups;
                                              driver->interruptOccurred(0);
                                          }),
              0);
    driver->attachToEventLoop(loop.value().get());

    std::uint64_t cpuBefore = cpuNanoseconds(RUSAGE_THREAD);
    auto start = std::chrono::steady_clock::now();
    while (collector.frames < 2 && std::chrono::steady_clock::now() - start < std::chrono::seconds(10))
        loop.value()->runOnce(std::chrono::milliseconds(500));
    std::uint64_t wall = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
    std::uint64_t cpu = cpuNanoseconds(RUSAGE_THREAD) - cpuBefore;
    driver->attachToEventLoop(nullptr);
    loop.value()->unwatch(fd);
    driver->setClient(nullptr);

    ASSERT_EQ(collector.frames, 2u);
    EXPECT_GE(wall, 1400000000u) << "the second frame came before its time";
    EXPECT_LE(wakeups, 6u) << "the loop woke " << wakeups << " times for two frames";
    EXPECT_LT(cpu, wall / 4) << "used " << cpu / 1000000 << " ms of CPU in " << wall / 1000000 << " ms";
}

TEST(PcapLimits, TheTimerIsQuietOnceTheReplayIsOver) {
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(3)));
    auto driver = openPcap("pcap:" + dir.file("in.pcap"));
    ASSERT_NE(driver, nullptr);
    Netbuf* burst[32];
    unsigned n = driver->receive(0, burst, 32);
    NetbufPool::freeToOwners(burst, n);
    EXPECT_EQ(driver->receive(0, burst, 32), 0u);
    ASSERT_TRUE(driver->finished());
    std::uint64_t expirations = 0;
    (void)!read(driver->interruptEventFd(0), &expirations, sizeof expirations);  // the start's
    pollfd waiting{driver->interruptEventFd(0), POLLIN, 0};
    EXPECT_EQ(poll(&waiting, 1, 50), 0) << "a finished replay must not wake an event loop";
}

// The programs: a forwarder feeding an endless source into a tx file stops at txlimit, says so and
// exits 1; a sample whose replies cannot be written counts them as errors and exits 1.
TEST(PcapLimits, TheForwarderStopsTheTxFileAtItsLimitAndExitsWithTheFault) {
    NEXNET_REQUIRE(std::filesystem::exists(kForwarder), "nexnet-fwd is not built");
    TemporaryDirectory dir;
    CommandResult run = runCommand("timeout 30 " + kForwarder + " pcap:" + kRequests +
                                   ",loop=0,tx=" + dir.file("out.pcap") + ",txlimit=100000 null: --duration 1");
    EXPECT_EQ(run.status, 1) << run.output;
    EXPECT_NE(run.output.find("reached txlimit=100000 bytes"), std::string::npos) << run.output;
    struct stat info {};
    ASSERT_EQ(stat(dir.file("out.pcap").c_str(), &info), 0);
    EXPECT_LE(info.st_size, 100000);
}

TEST(PcapLimits, TheSampleCountsRepliesItCannotWriteAsErrorsAndExitsWithTheFault) {
    NEXNET_REQUIRE(std::filesystem::exists(kSample), "nexnet-sample is not built");
    NEXNET_REQUIRE(access("/dev/full", W_OK) == 0, "/dev/full is not writable here");
    CommandResult run =
        runCommand("timeout 30 " + kSample + " pcap:" + kRequests + ",tx=/dev/full --count 7 --duration 5");
    EXPECT_EQ(run.status, 1) << run.output;
    // The seven replies and the gratuitous ARP announcing the address: none written, all counted.
    EXPECT_NE(run.output.find("if-tx=0 if-tx-errors=8"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("stopping with a fault: /dev/full: cannot write"), std::string::npos) << run.output;
}

// The sample in its default interrupt mode over a capture with a 2.5 s gap: it sleeps through the
// gap (CPU measured with getrusage on the child) and still gets both frames.
TEST(PcapLimits, TheSampleSleepsThroughAGapOfAnOriginalTimingReplay) {
    NEXNET_REQUIRE(std::filesystem::exists(kSample), "nexnet-sample is not built");
    TemporaryDirectory dir;
    std::vector<CaptureRecord> records = {{testFrame(64, 0), 1700000000000000000ull, 0},
                                          {testFrame(64, 1), 1700000002500000000ull, 0}};
    ASSERT_TRUE(writeCapture(dir.file("gap.pcap"), records));
    std::uint64_t before = cpuNanoseconds(RUSAGE_CHILDREN);
    CommandResult run =
        runCommand("timeout 30 " + kSample + " pcap:" + dir.file("gap.pcap") + ",timing=original --duration 3 --quiet");
    std::uint64_t cpu = cpuNanoseconds(RUSAGE_CHILDREN) - before;
    ASSERT_EQ(run.status, 0) << run.output;
    EXPECT_NE(run.output.find("interrupt mode"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("if-rx=2 "), std::string::npos) << run.output;
    EXPECT_LT(cpu, 750000000u) << "the sample used " << cpu / 1000000 << " ms of CPU in 3 s:\n" << run.output;
}

// Records cut in the file (dropped) and a record cut in the middle (a read error that ends the
// replay) reach the sample's statistics: the driver reports them, the interface's counters are
// the driver's, the sample prints them.
TEST(PcapLimits, CutRecordsAndReadErrorsReachTheSamplesStatistics) {
    NEXNET_REQUIRE(std::filesystem::exists(kSample), "nexnet-sample is not built");
    TemporaryDirectory dir;
    std::vector<CaptureRecord> records = {{testFrame(100, 1), 1, 0},
                                          {testFrame(60, 2), 2, 1514},
                                          {testFrame(100, 3), 3, 0},
                                          {testFrame(9000, 4), 4, 0},
                                          {testFrame(100, 5), 5, 0}};
    ASSERT_TRUE(writeCapture(dir.file("cut.pcap"), records));
    auto bytes = fileBytes(dir.file("cut.pcap"));
    bytes.resize(bytes.size() - 40);  // the last record ends in the middle: a read error
    std::FILE* file = std::fopen(dir.file("cut.pcap").c_str(), "wb");
    ASSERT_NE(file, nullptr);
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), file), bytes.size());
    std::fclose(file);
    CommandResult run = runCommand("timeout 30 " + kSample + " pcap:" + dir.file("cut.pcap") + " --duration 1 --quiet");
    ASSERT_EQ(run.status, 0) << run.output;
    // Received: records 1 and 3 (then dropped by the interface: frames for no one the sample
    // knows, without a taker); dropped by the driver: the snaplen-cut 2 and the oversize 4; an
    // error: 5.
    EXPECT_NE(run.output.find("if-rx=2 if-rx-errors=1 if-rx-drops=4 "), std::string::npos) << run.output;
}

}  // namespace
