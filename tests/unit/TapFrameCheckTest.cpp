// TapFrameCheck, the tap driver's judgement of each frame a read hands it, without a tap: every
// reason to refuse one, and the frames a kernel really sends accepted.
#include "drivers/tap/TapFrameCheck.h"

#include <gtest/gtest.h>

using namespace nexnet;
using Verdict = TapFrameCheck::Verdict;

namespace {

NetbufOffload partialChecksum(std::uint16_t start, std::uint16_t offset) {
    NetbufOffload offload;
    offload.flags = NetbufOffload::kNeedsChecksum;
    offload.csumStart = start;
    offload.csumOffset = offset;
    return offload;
}

NetbufOffload superPacket(std::uint8_t type, std::uint16_t segment) {
    NetbufOffload offload = partialChecksum(34, 16);
    offload.gsoType = type;
    offload.gsoSize = segment;
    return offload;
}

const TapFrameCheck kPlain{2048, 1500, false};
const TapFrameCheck kOffloads{65536 + 1024, 1500, true};

TEST(TapFrameCheck, FramesAKernelSendsAreAccepted) {
    EXPECT_EQ(kPlain.judge({}, 60), Verdict::accepted);
    EXPECT_EQ(kPlain.judge({}, 1514), Verdict::accepted);
    EXPECT_EQ(kPlain.judge({}, 1518), Verdict::accepted) << "with a VLAN tag";
    EXPECT_EQ(kOffloads.judge(partialChecksum(34, 16), 200), Verdict::accepted) << "TCP over IPv4, checksum to finish";
    EXPECT_EQ(kOffloads.judge(superPacket(NetbufOffload::kGsoTcpV4, 1448), 60000), Verdict::accepted);
    EXPECT_EQ(kOffloads.judge(superPacket(NetbufOffload::kGsoTcpV6 | 0x80, 1428), 30000), Verdict::accepted) << "ECN";
    EXPECT_EQ(kOffloads.judge(superPacket(5, 1400), 9000), Verdict::accepted) << "UDP_L4";
}

TEST(TapFrameCheck, AFrameThatFillsItsNetbufWasCut) {
    EXPECT_EQ(kPlain.judge({}, 2048), Verdict::truncated) << "tun reports at most the room it was given";
    EXPECT_EQ(kPlain.judge({}, 3000), Verdict::truncated) << "newer kernels report the whole length";
    EXPECT_EQ(kPlain.judge({}, 2047), Verdict::oversize) << "inside the netbuf, beyond the MTU";
}

TEST(TapFrameCheck, RuntsAndOversizeFramesAreRefused) {
    EXPECT_EQ(kPlain.judge({}, 13), Verdict::runt);
    EXPECT_EQ(kPlain.judge({}, 0), Verdict::runt);
    EXPECT_EQ(kPlain.judge({}, 1519), Verdict::oversize);
}

TEST(TapFrameCheck, AHeaderNoDeviceMayWriteIsRefused) {
    EXPECT_EQ(kOffloads.judge(partialChecksum(4000, 16), 100), Verdict::badOffload) << "checksum beyond the frame";
    EXPECT_EQ(kOffloads.judge(partialChecksum(90, 9), 100), Verdict::badOffload) << "its last byte beyond the frame";
    EXPECT_EQ(kOffloads.judge(partialChecksum(90, 8), 100), Verdict::accepted) << "its last byte the frame's last";
    EXPECT_EQ(kOffloads.judge(superPacket(2, 1448), 9000), Verdict::badOffload) << "no GSO type 2 in Linux";
    EXPECT_EQ(kOffloads.judge(superPacket(0x7f, 1448), 9000), Verdict::badOffload);
    EXPECT_EQ(kOffloads.judge(superPacket(NetbufOffload::kGsoTcpV4, 0), 9000), Verdict::badOffload)
        << "a super-packet without a segment size would make a layer cutting it loop forever";
    EXPECT_EQ(kPlain.judge(superPacket(NetbufOffload::kGsoTcpV4, 1448), 2000), Verdict::badOffload)
        << "a super-packet the driver did not ask for (vnet=0)";
}

}  // namespace
