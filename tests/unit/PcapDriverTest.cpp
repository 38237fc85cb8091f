// The pcap driver ("pcap:FILE"): replay in order with nanosecond timestamps, pcapng input,
// loops, original timing, the tx file, oversize records, and open errors.
#include "drivers/BuiltinDrivers.h"
#include "drivers/pcap/PcapDriver.h"
#include "support/TestEnvironment.h"
#include "unit/PcapTestFiles.h"

#include <chrono>
#include <cstdlib>
#include <gtest/gtest.h>

using namespace nexnet;
using namespace nexnet::test;

namespace {

std::unique_ptr<PcapDriver> openPcap(const std::string& uri) {
    auto opened = builtinDrivers().open(uri);
    if (!opened) return nullptr;
    std::unique_ptr<PcapDriver> driver(dynamic_cast<PcapDriver*>(opened.value().release()));
    if (driver != nullptr) driver->resetAndEnable(true);
    return driver;
}

// Receives everything the driver hands up (bounded: at most @p limit frames).
std::vector<CaptureRecord> drain(PcapDriver& driver, std::size_t limit = 10'000'000) {
    std::vector<CaptureRecord> records;
    Netbuf* burst[32];
    for (unsigned n; records.size() < limit && (n = driver.receive(0, burst, 32)) > 0;) {
        for (unsigned i = 0; i < n; ++i) {
            records.push_back({{burst[i]->data(), burst[i]->data() + burst[i]->size()}, burst[i]->timestamp(), 0});
        }
        NetbufPool::freeToOwners(burst, n);
    }
    return records;
}

std::vector<CaptureRecord> someRecords(unsigned count, std::uint64_t start = 1700000000123456789ull) {
    std::vector<CaptureRecord> records;
    for (unsigned i = 0; i < count; ++i)
        records.push_back({testFrame(60 + (i * 37) % 1400, i), start + i * 1000003ull, 0});
    return records;
}

void expectSameFrames(const std::vector<CaptureRecord>& got, const std::vector<CaptureRecord>& want,
                      bool timestamps = true) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].bytes, want[i].bytes) << "frame " << i;
        if (timestamps) {
            ASSERT_EQ(got[i].nanoseconds, want[i].nanoseconds) << "frame " << i;
        }
    }
}

}  // namespace

TEST(PcapDriver, ReplaysEveryFrameInOrderWithNanosecondTimestamps) {
    TemporaryDirectory dir;
    auto records = someRecords(200);
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), records));
    auto driver = openPcap("pcap:" + dir.file("in.pcap"));
    ASSERT_NE(driver, nullptr);
    expectSameFrames(drain(*driver), records);
    EXPECT_TRUE(driver->finished());
    EXPECT_EQ(driver->linkStatus(), LinkStatus::down);
    EXPECT_EQ(driver->inputPackets(), 200u);
    EXPECT_EQ(driver->inputErrors(), 0u);
}

TEST(PcapDriver, MicrosecondFilesGiveNanosecondTimestamps) {
    TemporaryDirectory dir;
    auto records = someRecords(10, 1700000000123456000ull);  // whole microseconds
    ASSERT_TRUE(writeCapture(dir.file("micro.pcap"), records, PCAP_TSTAMP_PRECISION_MICRO));
    auto driver = openPcap("pcap:" + dir.file("micro.pcap"));
    ASSERT_NE(driver, nullptr);
    auto got = drain(*driver);
    ASSERT_EQ(got.size(), records.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(got[i].nanoseconds, records[i].nanoseconds / 1000 * 1000) << i;
}

TEST(PcapDriver, ReadsPcapngInput) {
    NEXNET_REQUIRE(hasProgram("editcap"), "editcap (package tshark / wireshark-common) is not installed");
    TemporaryDirectory dir;
    auto records = someRecords(50);
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), records));
    std::string command = "editcap -F pcapng " + dir.file("in.pcap") + " " + dir.file("in.pcapng") + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0);
    auto driver = openPcap("pcap:" + dir.file("in.pcapng"));
    ASSERT_NE(driver, nullptr);
    expectSameFrames(drain(*driver), records);
}

TEST(PcapDriver, LoopPlaysTheFileThatManyTimes) {
    TemporaryDirectory dir;
    auto records = someRecords(7);
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), records));
    auto driver = openPcap("pcap:" + dir.file("in.pcap") + ",loop=3");
    ASSERT_NE(driver, nullptr);
    std::vector<CaptureRecord> want;
    for (int i = 0; i < 3; ++i) want.insert(want.end(), records.begin(), records.end());
    expectSameFrames(drain(*driver), want);
    EXPECT_EQ(driver->loopsPlayed(), 3u);
}

TEST(PcapDriver, LoopZeroPlaysEndlessly) {
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(5)));
    auto driver = openPcap("pcap:" + dir.file("in.pcap") + ",loop=0");
    ASSERT_NE(driver, nullptr);
    EXPECT_GE(drain(*driver, 1000).size(), 1000u);
    EXPECT_FALSE(driver->finished());
}

TEST(PcapDriver, OriginalTimingKeepsTheGapsBetweenFrames) {
    TemporaryDirectory dir;
    std::vector<CaptureRecord> records;
    for (unsigned i = 0; i < 3; ++i)
        records.push_back({testFrame(64, i), 1700000000000000000ull + i * 40'000'000ull, 0});
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), records));
    auto driver = openPcap("pcap:" + dir.file("in.pcap") + ",timing=original");
    ASSERT_NE(driver, nullptr);
    using Clock = std::chrono::steady_clock;
    auto start = Clock::now();
    std::vector<Clock::duration> arrivals;
    Netbuf* burst[32];
    while (arrivals.size() < 3 && Clock::now() - start < std::chrono::seconds(5)) {
        unsigned n = driver->receive(0, burst, 32);
        for (unsigned i = 0; i < n; ++i) arrivals.push_back(Clock::now() - start);
        NetbufPool::freeToOwners(burst, n);
    }
    ASSERT_EQ(arrivals.size(), 3u);
    EXPECT_LT(arrivals[0], std::chrono::milliseconds(30));
    EXPECT_GE(arrivals[1], std::chrono::milliseconds(40));
    EXPECT_GE(arrivals[2], std::chrono::milliseconds(80));
}

TEST(PcapDriver, TransmittedFramesAreWrittenToTheTxFile) {
    TemporaryDirectory dir;
    auto records = someRecords(100);
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), records));
    {
        auto driver = openPcap("pcap:" + dir.file("in.pcap") + ",tx=" + dir.file("out.pcap"));
        ASSERT_NE(driver, nullptr);
        Netbuf* burst[32];
        for (unsigned n; (n = driver->receive(0, burst, 32)) > 0;) ASSERT_EQ(driver->send(0, burst, n), n);
        EXPECT_EQ(driver->outputPackets(), 100u);
    }
    expectSameFrames(readCapture(dir.file("out.pcap")), records, false);
}

TEST(PcapDriver, WithoutTxFileTransmittedFramesAreCountedAndFreed) {
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(10)));
    auto driver = openPcap("pcap:" + dir.file("in.pcap"));
    ASSERT_NE(driver, nullptr);
    Netbuf* burst[32];
    unsigned n = driver->receive(0, burst, 32);
    ASSERT_EQ(driver->send(0, burst, n), n);
    EXPECT_EQ(driver->outputPackets(), 10u);
    EXPECT_EQ(driver->pool()->inUse(), 0u);
}

TEST(PcapDriver, FrameLargerThanTheDataRoomIsDroppedAndCountedNotCut) {
    TemporaryDirectory dir;
    std::vector<CaptureRecord> records = {
        {testFrame(100, 1), 1, 0}, {testFrame(9000, 2), 2, 0}, {testFrame(100, 3), 3, 0}};
    ASSERT_TRUE(writeCapture(dir.file("jumbo.pcap"), records));
    auto driver = openPcap("pcap:" + dir.file("jumbo.pcap"));
    ASSERT_NE(driver, nullptr);
    auto got = drain(*driver);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].bytes, records[0].bytes);
    EXPECT_EQ(got[1].bytes, records[2].bytes);
    EXPECT_EQ(driver->oversizeDrops(), 1u);
    EXPECT_EQ(driver->receiveStatistics(0).drops, 1u);
}

TEST(PcapDriver, MacOptionSetsTheHardwareAddressAndDefaultIsPcap) {
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(1)));
    auto byDefault = openPcap("pcap:" + dir.file("in.pcap"));
    ASSERT_NE(byDefault, nullptr);
    EXPECT_EQ(byDefault->hardwareAddress().toString(), "02:70:63:61:70:00");
    auto chosen = openPcap("pcap:" + dir.file("in.pcap") + ",mac=02:11:22:33:44:55");
    ASSERT_NE(chosen, nullptr);
    EXPECT_EQ(chosen->hardwareAddress().toString(), "02:11:22:33:44:55");
}

TEST(PcapDriver, BadOptionsAreEinval) {
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(1)));
    for (const char* options : {",timing=slow", ",loop=x", ",pool=0", ",mac=zz"}) {
        auto driver = builtinDrivers().open("pcap:" + dir.file("in.pcap") + options);
        ASSERT_FALSE(driver) << options;
        EXPECT_EQ(driver.error(), EINVAL) << options;
    }
}

TEST(PcapDriver, UnwritableTxFileIsAnOpenError) {
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(1)));
    PcapDriver::Options options;
    options.path = dir.file("in.pcap");
    options.txPath = dir.file("no/such/dir/out.pcap");
    std::string message;
    auto driver = PcapDriver::create(options, &message);
    ASSERT_FALSE(driver);
    EXPECT_EQ(driver.error(), ENOENT);
    EXPECT_NE(message.find("out.pcap"), std::string::npos) << message;
}

TEST(PcapDriver, EveryBufferGoesBackToThePool) {
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), someRecords(1000)));
    auto driver = openPcap("pcap:" + dir.file("in.pcap") + ",pool=64");
    ASSERT_NE(driver, nullptr);
    EXPECT_EQ(drain(*driver).size(), 1000u);
    EXPECT_EQ(driver->pool()->inUse(), 0u);
}

TEST(PcapDriver, RecordsCutInTheFileAreDroppedUnlessPartialIsOn) {
    TemporaryDirectory dir;
    std::vector<CaptureRecord> records = {
        {testFrame(100, 1), 1, 0}, {testFrame(60, 2), 2, 1514}, {testFrame(100, 3), 3, 0}};
    ASSERT_TRUE(writeCapture(dir.file("cut.pcap"), records));
    auto strict = openPcap("pcap:" + dir.file("cut.pcap"));
    ASSERT_NE(strict, nullptr);
    EXPECT_EQ(drain(*strict).size(), 2u);
    EXPECT_EQ(strict->partialDrops(), 1u);
    auto partial = openPcap("pcap:" + dir.file("cut.pcap") + ",partial=1");
    ASSERT_NE(partial, nullptr);
    auto got = drain(*partial);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[1].bytes, records[1].bytes);
}
