// Truncated and corrupt capture files: a clear error at open (errno and a sentence), or, in the
// middle of a file, receive stops with the error counted; never a crash or a hang.
#include "drivers/BuiltinDrivers.h"
#include "drivers/pcap/PcapDriver.h"
#include "unit/PcapTestFiles.h"

#include <gtest/gtest.h>
#include <random>

using namespace nexnet;
using namespace nexnet::test;

namespace {

constexpr std::size_t kFileHeader = 24;
constexpr std::size_t kRecordHeader = 16;

std::vector<CaptureRecord> fiveFrames() {
    std::vector<CaptureRecord> records;
    for (unsigned i = 0; i < 5; ++i) records.push_back({testFrame(100, i), 1000 + i, 0});
    return records;
}

struct OpenAttempt {
    int error = 0;
    std::string message;
    std::unique_ptr<PcapDriver> driver;
};

OpenAttempt attemptOpen(const std::string& path) {
    PcapDriver::Options options;
    options.path = path;
    options.poolSize = 64;
    OpenAttempt attempt;
    auto driver = PcapDriver::create(options, &attempt.message);
    if (!driver) {
        attempt.error = driver.error();
        return attempt;
    }
    attempt.driver = std::move(driver.value());
    attempt.driver->resetAndEnable(true);
    return attempt;
}

// Frames received before the driver stops (bounded, so a bug cannot hang the test).
unsigned drainCount(PcapDriver& driver) {
    unsigned total = 0;
    Netbuf* burst[32];
    for (unsigned n, turns = 0; turns < 100000 && (n = driver.receive(0, burst, 32)) > 0; ++turns) {
        total += n;
        NetbufPool::freeToOwners(burst, n);
    }
    return total;
}

// A valid five-frame file with @p edit applied to its bytes.
std::string editedFile(const TemporaryDirectory& dir, const std::function<void(std::vector<std::uint8_t>&)>& edit) {
    std::string path = dir.file("edited.pcap");
    writeCapture(path, fiveFrames());
    auto bytes = fileBytes(path);
    edit(bytes);
    writeBytes(path, bytes);
    return path;
}

void putLittle32(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint32_t value) {
    for (unsigned i = 0; i < 4; ++i) bytes[at + i] = static_cast<std::uint8_t>(value >> (8 * i));
}

}  // namespace

TEST(PcapCorruptFile, MissingFileIsEnoentNamingTheFile) {
    TemporaryDirectory dir;
    auto attempt = attemptOpen(dir.file("absent.pcap"));
    EXPECT_EQ(attempt.error, ENOENT);
    EXPECT_NE(attempt.message.find("absent.pcap"), std::string::npos) << attempt.message;
}

TEST(PcapCorruptFile, DirectoryIsEisdir) {
    TemporaryDirectory dir;
    EXPECT_EQ(attemptOpen(dir.file("")).error, EISDIR);
}

TEST(PcapCorruptFile, EmptyFileIsEbadmsg) {
    TemporaryDirectory dir;
    writeBytes(dir.file("empty.pcap"), {});
    auto attempt = attemptOpen(dir.file("empty.pcap"));
    EXPECT_EQ(attempt.error, EBADMSG);
    EXPECT_FALSE(attempt.message.empty());
}

TEST(PcapCorruptFile, BadMagicIsEbadmsgWithLibpcapsReason) {
    TemporaryDirectory dir;
    auto path = editedFile(dir, [](auto& bytes) { putLittle32(bytes, 0, 0xdeadbeef); });
    auto attempt = attemptOpen(path);
    EXPECT_EQ(attempt.error, EBADMSG);
    EXPECT_NE(attempt.message.find("edited.pcap"), std::string::npos) << attempt.message;
    EXPECT_NE(attempt.message.find("format"), std::string::npos) << attempt.message;
}

TEST(PcapCorruptFile, FileHeaderCutShortIsEbadmsg) {
    TemporaryDirectory dir;
    auto path = editedFile(dir, [](auto& bytes) { bytes.resize(10); });
    EXPECT_EQ(attemptOpen(path).error, EBADMSG);
}

TEST(PcapCorruptFile, NonEthernetLinkTypeIsEprotonosupport) {
    TemporaryDirectory dir;
    auto path = editedFile(dir, [](auto& bytes) { putLittle32(bytes, 20, 101); });  // DLT_RAW
    auto attempt = attemptOpen(path);
    EXPECT_EQ(attempt.error, EPROTONOSUPPORT);
    EXPECT_NE(attempt.message.find("Ethernet"), std::string::npos) << attempt.message;
}

TEST(PcapCorruptFile, RecordCutMidwayStopsReceiveAndCountsTheError) {
    TemporaryDirectory dir;
    // Five records of 16 + 100 bytes: cut in the middle of the fourth one's data.
    auto path = editedFile(dir, [](auto& bytes) { bytes.resize(kFileHeader + 3 * 116 + kRecordHeader + 40); });
    auto attempt = attemptOpen(path);
    ASSERT_EQ(attempt.error, 0) << attempt.message;
    EXPECT_EQ(drainCount(*attempt.driver), 3u);
    EXPECT_TRUE(attempt.driver->finished());
    EXPECT_EQ(attempt.driver->inputErrors(), 1u);
    EXPECT_EQ(attempt.driver->receiveStatistics(0).errors, 1u);
    EXPECT_NE(attempt.driver->readError().find("truncated"), std::string::npos) << attempt.driver->readError();
    EXPECT_EQ(attempt.driver->linkStatus(), LinkStatus::down);
}

TEST(PcapCorruptFile, RecordHeaderCutMidwayStopsReceiveAndCountsTheError) {
    TemporaryDirectory dir;
    auto path = editedFile(dir, [](auto& bytes) { bytes.resize(kFileHeader + 2 * 116 + 7); });
    auto attempt = attemptOpen(path);
    ASSERT_EQ(attempt.error, 0) << attempt.message;
    EXPECT_EQ(drainCount(*attempt.driver), 2u);
    EXPECT_EQ(attempt.driver->inputErrors(), 1u);
    EXPECT_FALSE(attempt.driver->readError().empty());
}

TEST(PcapCorruptFile, RecordLengthBeyondAnyFrameStopsReceiveAndCountsTheError) {
    TemporaryDirectory dir;
    // The third record claims 16 MB captured: larger than libpcap allows for Ethernet.
    auto path = editedFile(dir, [](auto& bytes) { putLittle32(bytes, kFileHeader + 2 * 116 + 8, 16u << 20); });
    auto attempt = attemptOpen(path);
    ASSERT_EQ(attempt.error, 0) << attempt.message;
    EXPECT_EQ(drainCount(*attempt.driver), 2u);
    EXPECT_EQ(attempt.driver->inputErrors(), 1u);
    EXPECT_FALSE(attempt.driver->readError().empty());
}

TEST(PcapCorruptFile, RecordLargerThanSnaplenIsNeverHandedUpCut) {
    TemporaryDirectory dir;
    // A file with snaplen 128 holding a 70000-byte record: libpcap refuses or cuts it to the
    // snaplen; either way nexnet must not hand up a frame it did not read whole.
    std::vector<CaptureRecord> records = {
        {testFrame(100, 0), 1, 0}, {testFrame(70000, 1), 2, 0}, {testFrame(100, 2), 3, 0}};
    ASSERT_TRUE(writeCapture(dir.file("big.pcap"), records, PCAP_TSTAMP_PRECISION_NANO, 128));
    auto attempt = attemptOpen(dir.file("big.pcap"));
    ASSERT_EQ(attempt.error, 0) << attempt.message;
    Netbuf* burst[32];
    unsigned n = attempt.driver->receive(0, burst, 32);
    ASSERT_GE(n, 1u);
    for (unsigned i = 0; i < n; ++i) EXPECT_LE(burst[i]->size(), 128u);
    NetbufPool::freeToOwners(burst, n);
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(attempt.driver->inputErrors() + attempt.driver->partialDrops(), 1u);
}

TEST(PcapCorruptFile, RandomCorruptionNeverCrashes) {
    TemporaryDirectory dir;
    std::mt19937 random(20261123);
    std::vector<CaptureRecord> records;
    for (unsigned i = 0; i < 40; ++i) records.push_back({testFrame(60 + i * 13, i), 1000 + i, 0});
    writeCapture(dir.file("good.pcap"), records);
    const auto good = fileBytes(dir.file("good.pcap"));
    for (int round = 0; round < 300; ++round) {
        auto bytes = good;
        int edits = 1 + static_cast<int>(random() % 8);
        for (int e = 0; e < edits; ++e) bytes[random() % bytes.size()] = static_cast<std::uint8_t>(random());
        if (round % 3 == 0) bytes.resize(random() % bytes.size());
        writeBytes(dir.file("bad.pcap"), bytes);
        auto attempt = attemptOpen(dir.file("bad.pcap"));
        if (attempt.error != 0) {
            EXPECT_FALSE(attempt.message.empty());
            continue;
        }
        EXPECT_LE(drainCount(*attempt.driver), 40u);
        EXPECT_EQ(attempt.driver->pool()->inUse(), 0u);
    }
}
