// tshark reads every pcap file nexnet writes (the pcap driver's tx file, a CaptureTap file), and
// the fields it decodes are those of the frames sent.
#include "drivers/BuiltinDrivers.h"
#include "drivers/pcap/PcapDriver.h"
#include "netif/CaptureTap.h"
#include "netif/NetworkInterface.h"
#include "samples/data/RequestCapture.h"
#include "support/TestEnvironment.h"
#include "unit/PcapTestFiles.h"
#include "unit/PcapTsharkFields.h"

#include <gtest/gtest.h>

using namespace nexnet;
using namespace nexnet::test;

namespace {

// ARP, ICMP echo and UDP frames with varied payloads (UDP payloads of 0 to 1400 bytes).
std::vector<std::vector<std::uint8_t>> framesToSend() {
    RequestCapture::Options options;
    options.echoRequests = 5;
    options.udpRequests = 5;
    auto frames = RequestCapture::requests(options);
    for (std::size_t size : {0u, 1u, 17u, 1400u})
        frames.push_back(
            RequestCapture::udpDatagram(options, 5000, 9, std::string(size, static_cast<char>('a' + size % 26))));
    return frames;
}

std::vector<Netbuf*> netbufsOf(NetbufPool& pool, const std::vector<std::vector<std::uint8_t>>& frames) {
    std::vector<Netbuf*> netbufs;
    for (const auto& frame : frames) {
        Netbuf* nb = pool.allocate();
        if (nb == nullptr) break;
        nb->append(frame.data(), static_cast<std::uint32_t>(frame.size()));
        netbufs.push_back(nb);
    }
    return netbufs;
}

void expectTsharkSees(const std::string& path, const std::vector<std::vector<std::uint8_t>>& frames) {
    auto rows = tsharkFields(path);
    ASSERT_EQ(rows.size(), frames.size()) << path;
    for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i], expectedFields(frames[i])) << "frame " << i;
}

}  // namespace

TEST(PcapTshark, ReadsThePcapDriversTxFileWithTheFieldsSent) {
    NEXNET_REQUIRE(hasProgram("tshark"), "tshark is not installed (package tshark)");
    TemporaryDirectory dir;
    ASSERT_TRUE(writeCapture(dir.file("empty.pcap"), {}));
    auto frames = framesToSend();
    {
        auto driver = builtinDrivers().open("pcap:" + dir.file("empty.pcap") + ",tx=" + dir.file("tx.pcap"));
        ASSERT_TRUE(driver);
        auto netbufs = netbufsOf(*driver.value()->pool(), frames);
        ASSERT_EQ(driver.value()->send(0, netbufs.data(), static_cast<unsigned>(netbufs.size())), netbufs.size());
    }
    expectTsharkSees(dir.file("tx.pcap"), frames);
}

TEST(PcapTshark, ReadsCaptureTapFilesWithTheFieldsSentAndReceived) {
    NEXNET_REQUIRE(hasProgram("tshark"), "tshark is not installed (package tshark)");
    TemporaryDirectory dir;
    auto frames = framesToSend();
    std::vector<CaptureRecord> records;
    for (const auto& frame : frames) records.push_back({frame, 1700000000000000000ull + records.size(), 0});
    ASSERT_TRUE(writeCapture(dir.file("in.pcap"), records));
    auto driver = builtinDrivers().open("pcap:" + dir.file("in.pcap"));
    ASSERT_TRUE(driver);
    NetworkInterface interface(std::move(driver.value()));
    ASSERT_EQ(interface.setUp(), 0);
    CaptureTap::Options options;
    options.path = dir.file("tap.pcap");
    auto tap = CaptureTap::create(options);
    ASSERT_TRUE(tap);
    tap.value()->attach(interface);
    auto& pcap = static_cast<PcapDriver&>(interface.driver());
    for (int turns = 0; turns < 10000 && !pcap.finished(); ++turns) interface.poll();  // received ...
    auto netbufs = netbufsOf(*interface.driver().pool(), frames);                      // ... then sent
    ASSERT_EQ(interface.outputBurst(netbufs.data(), static_cast<unsigned>(netbufs.size())), netbufs.size());
    ASSERT_EQ(tap.value()->flush(), 0);
    auto both = frames;
    both.insert(both.end(), frames.begin(), frames.end());
    expectTsharkSees(dir.file("tap.pcap"), both);
}
