// The sample without privileges: nexnet-sample answers the capture shipped in samples/data
// (made by nexnet-make-requests) through the pcap driver and writes its replies, which tshark
// reads back as the answers to each request, after the gratuitous ARP announcing its address.
#include "samples/data/RequestCapture.h"
#include "support/TestEnvironment.h"
#include "unit/PcapTestFiles.h"
#include "unit/PcapTsharkFields.h"

#include <algorithm>
#include <filesystem>
#include <gtest/gtest.h>

using namespace nexnet;
using namespace nexnet::test;

namespace {
const std::string kShipped = std::string(NEXNET_SOURCE_DIR) + "/samples/data/requests.pcap";
}

TEST(PcapSample, ShippedCaptureIsWhatTheGeneratorWrites) {
    TemporaryDirectory dir;
    ASSERT_EQ(RequestCapture::write(dir.file("requests.pcap"), RequestCapture::Options{}), 0);
    EXPECT_EQ(fileBytes(dir.file("requests.pcap")), fileBytes(kShipped));
}

TEST(PcapSample, NexnetSampleAnswersTheShippedCaptureIntoAPcapTsharkReads) {
    const std::string sample = std::string(NEXNET_BINARY_DIR) + "/samples/ethernet/nexnet-sample";
    NEXNET_REQUIRE(std::filesystem::exists(sample), "nexnet-sample is not built");
    NEXNET_REQUIRE(hasProgram("tshark"), "tshark is not installed (package tshark)");
    TemporaryDirectory dir;
    std::string command = "timeout 30 " + sample + " --driver pcap:" + kShipped + ",tx=" + dir.file("replies.pcap") +
        " --count 7 --duration 10 --quiet >" + dir.file("out.txt") + " 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;

    auto requests = readCapture(kShipped);
    auto replies = tsharkFields(dir.file("replies.pcap"));
    // First the gratuitous ARP the protocol layer sends when the address is set, then one reply
    // per request.
    // The UDP echoes come from the echo service after the stack's own answers of the same burst
    // (ARP, ping): each kind is compared in order.
    ASSERT_EQ(replies.size(), requests.size() + 1);
    EXPECT_EQ(replies[0][0], "02:70:63:61:70:00");
    EXPECT_EQ(replies[0][1], "ff:ff:ff:ff:ff:ff");
    replies.erase(replies.begin());
    std::vector<TsharkFields> expected;
    for (const auto& request : requests) expected.push_back(expectedFields(request.bytes));
    auto isUdp = [](const TsharkFields& fields) { return fields[4].empty() && !fields[5].empty(); };
    std::stable_partition(expected.begin(), expected.end(), [&](const TsharkFields& f) { return !isUdp(f); });
    std::stable_partition(replies.begin(), replies.end(), [&](const TsharkFields& f) { return !isUdp(f); });
    for (std::size_t i = 0; i < replies.size(); ++i) {
        const TsharkFields& request = expected[i];
        TsharkFields& reply = replies[i];
        EXPECT_EQ(reply[0], "02:70:63:61:70:00") << i;  // from the pcap driver's address
        EXPECT_EQ(reply[1], "02:00:00:00:00:01") << i;  // back to the client
        EXPECT_EQ(reply[2], request[3]) << i;           // addresses swapped
        EXPECT_EQ(reply[3], request[2]) << i;
        EXPECT_EQ(reply[4], request[4].empty() ? "" : "0") << i;  // echo request -> echo reply
        EXPECT_EQ(reply[5], request[5]) << i;                     // UDP echo: same payload
    }
}
