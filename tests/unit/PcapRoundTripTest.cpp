// pcap -> nexnet -> pcap: 100k frames read by one pcap driver and sent through another come out
// with the same bytes in the same order, in-process and through nexnet-fwd.
#include "drivers/BuiltinDrivers.h"
#include "drivers/pcap/PcapDriver.h"
#include "support/TestEnvironment.h"
#include "unit/PcapTestFiles.h"

#include <filesystem>
#include <gtest/gtest.h>

using namespace nexnet;
using namespace nexnet::test;

namespace {

constexpr unsigned kFrames = 100000;

std::vector<CaptureRecord> manyFrames() {
    std::vector<CaptureRecord> records;
    records.reserve(kFrames);
    for (unsigned i = 0; i < kFrames; ++i)
        records.push_back({testFrame(60 + (i * 7919) % 240, i), 1700000000000000000ull + i, 0});
    return records;
}

void expectSameBytesInOrder(const std::string& path, const std::vector<CaptureRecord>& want) {
    std::string error;
    auto got = readCapture(path, &error);
    ASSERT_TRUE(error.empty()) << error;
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].bytes, want[i].bytes) << "frame " << i;
}

}  // namespace

TEST(PcapRoundTrip, HundredThousandFramesKeepBytesAndOrderInProcess) {
    TemporaryDirectory dir;
    auto records = manyFrames();
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), records));
    ASSERT_TRUE(writeCapture(dir.file("empty.pcap"), {}));
    {
        auto from = builtinDrivers().open("pcap:" + dir.file("in.pcap"));
        auto to = builtinDrivers().open("pcap:" + dir.file("empty.pcap") + ",tx=" + dir.file("out.pcap"));
        ASSERT_TRUE(from && to);
        static_cast<IOEthernet&>(*from.value()).resetAndEnable(true);
        static_cast<IOEthernet&>(*to.value()).resetAndEnable(true);
        Netbuf* burst[32];
        for (unsigned n; (n = from.value()->receive(0, burst, 32)) > 0;) {
            unsigned sent = to.value()->send(0, burst, n);
            ASSERT_EQ(sent, n);
        }
        EXPECT_EQ(to.value()->outputPackets(), kFrames);
    }
    expectSameBytesInOrder(dir.file("out.pcap"), records);
}

TEST(PcapRoundTrip, HundredThousandFramesKeepBytesAndOrderThroughNexnetFwd) {
    const std::string fwd = std::string(NEXNET_BINARY_DIR) + "/samples/forward/nexnet-fwd";
    NEXNET_REQUIRE(std::filesystem::exists(fwd), "nexnet-fwd is not built (samples/forward)");
    TemporaryDirectory dir;
    auto records = manyFrames();
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), records));
    ASSERT_TRUE(writeCapture(dir.file("empty.pcap"), {}));
    std::string command = "timeout 60 " + fwd + " pcap:" + dir.file("in.pcap") + " pcap:" + dir.file("empty.pcap") +
        ",tx=" + dir.file("out.pcap") + " --duration 2 >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    expectSameBytesInOrder(dir.file("out.pcap"), records);
}
