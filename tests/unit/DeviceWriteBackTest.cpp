// What a VFIO device writes back, read without a device: the used ring of a split virtqueue
// (VirtqueueUsedRing, VirtioNetDriver) and the receive descriptors of an e1000e (E1000eWriteBack,
// E1000eDriver). A device gone wrong gets a verdict the driver counts, never an index outside the
// driver's arrays or a buffer it did not fill.
#include "drivers/vfio/E1000eWriteBack.h"
#include "drivers/vfio/VirtqueueUsedRing.h"

#include <gtest/gtest.h>

#include <vector>

using namespace nexnet;
using Verdict = VirtqueueUsedRing::Verdict;

namespace {

// A queue of 8 descriptors whose used ring the test writes as the device would.
struct UsedRing {
    std::uint16_t header[2] = {0, 0};
    virtio::UsedElement elements[8] = {};
    VirtqueueUsedRing ring;

    explicit UsedRing(std::uint16_t start = 0) {
        header[1] = start;
        ring.attach(header, elements, 8, start);
    }
    void use(std::uint32_t id, std::uint32_t length) {
        elements[header[1] & 7] = {id, length};
        header[1]++;
    }
};

TEST(VirtqueueUsedRing, ChainsTheDeviceUsedComeBackInOrderAcrossTheIndexWrap) {
    UsedRing used(65534);
    for (std::uint16_t id = 0; id < 8; ++id) used.ring.posted(id);
    used.use(5, 100);
    used.use(2, 60);
    used.use(7, 1514);
    ASSERT_EQ(used.ring.ready(used.ring.deviceIndex()), 3u);
    VirtqueueUsedRing::Element element;
    EXPECT_EQ(used.ring.next(element), Verdict::taken);
    EXPECT_EQ(element.id, 5u);
    EXPECT_EQ(element.length, 100u);
    EXPECT_EQ(used.ring.next(element), Verdict::taken);
    EXPECT_EQ(used.ring.next(element), Verdict::taken);
    EXPECT_EQ(element.id, 7u);
    EXPECT_EQ(used.ring.ready(used.ring.deviceIndex()), 0u);
    EXPECT_EQ(used.ring.lastUsed(), 1u) << "65534 + 3, modulo 2^16";
    EXPECT_FALSE(used.ring.held(5));
    EXPECT_TRUE(used.ring.held(0));
}

TEST(VirtqueueUsedRing, AnIdOutsideTheQueueIsRefused) {
    UsedRing used;
    used.use(8, 100);
    used.use(0xffffffff, 100);
    VirtqueueUsedRing::Element element;
    EXPECT_EQ(used.ring.next(element), Verdict::badId);
    EXPECT_EQ(used.ring.next(element), Verdict::badId);
}

TEST(VirtqueueUsedRing, AChainUsedTwiceOrNeverMadeAvailableIsRefused) {
    UsedRing used;
    used.ring.posted(3);
    used.use(3, 100);
    used.use(3, 100);  // the same chain again, before the driver gave it back
    used.use(4, 100);  // never made available
    VirtqueueUsedRing::Element element;
    EXPECT_EQ(used.ring.next(element), Verdict::taken);
    EXPECT_EQ(used.ring.next(element), Verdict::notOutstanding);
    EXPECT_EQ(used.ring.next(element), Verdict::notOutstanding);
    used.ring.posted(3);  // given back: the device may use it again
    used.use(3, 100);
    EXPECT_EQ(used.ring.next(element), Verdict::taken);
}

TEST(VirtqueueUsedRing, AnIndexRunningPastTheRingIsAnOverrunNotElementsToRead) {
    UsedRing used(100);
    EXPECT_EQ(used.ring.ready(108), 8u) << "a whole ring is possible";
    EXPECT_EQ(used.ring.ready(109), VirtqueueUsedRing::kOverrun);
    EXPECT_EQ(used.ring.ready(99), VirtqueueUsedRing::kOverrun) << "an index moved backwards";
    EXPECT_EQ(used.ring.lastUsed(), 100u);
}

TEST(VirtqueueUsedRing, AReceiveLengthMustHoldTheHeaderAndAnEthernetHeaderAndFitTheBuffer) {
    using Frame = VirtqueueUsedRing::Frame;
    EXPECT_EQ(VirtqueueUsedRing::judgeFrame(12 + 60, 12, 2060), Frame::fits);
    EXPECT_EQ(VirtqueueUsedRing::judgeFrame(2060, 12, 2060), Frame::fits);
    EXPECT_EQ(VirtqueueUsedRing::judgeFrame(12 + 13, 12, 2060), Frame::runt);
    EXPECT_EQ(VirtqueueUsedRing::judgeFrame(0, 12, 2060), Frame::runt);
    EXPECT_EQ(VirtqueueUsedRing::judgeFrame(2061, 12, 2060), Frame::oversize);
    EXPECT_EQ(VirtqueueUsedRing::judgeFrame(0xffffffff, 12, 2060), Frame::oversize);
}

using WriteBack = E1000eWriteBack::Verdict;
constexpr std::uint8_t kDoneEnd = E1000eWriteBack::kDone | E1000eWriteBack::kEndOfPacket;

TEST(E1000eWriteBack, AWholeGoodFrameIsAccepted) {
    EXPECT_EQ(E1000eWriteBack::judge(kDoneEnd, 0, 60, 2048), WriteBack::accepted);
    EXPECT_EQ(E1000eWriteBack::judge(kDoneEnd, 0, 2048, 2048), WriteBack::accepted);
}

TEST(E1000eWriteBack, EachThingADeviceMayGetWrongHasItsVerdict) {
    EXPECT_EQ(E1000eWriteBack::judge(0, 0, 60, 2048), WriteBack::notDone);
    EXPECT_EQ(E1000eWriteBack::judge(E1000eWriteBack::kDone, 0, 60, 2048), WriteBack::fragment);
    EXPECT_EQ(E1000eWriteBack::judge(kDoneEnd, 0x01, 60, 2048), WriteBack::deviceError);
    EXPECT_EQ(E1000eWriteBack::judge(kDoneEnd, 0, 13, 2048), WriteBack::runt);
    EXPECT_EQ(E1000eWriteBack::judge(kDoneEnd, 0, 0, 2048), WriteBack::runt) << "was handed up as an empty frame";
    EXPECT_EQ(E1000eWriteBack::judge(kDoneEnd, 0, 2049, 2048), WriteBack::oversize);
}

TEST(E1000eWriteBack, ABurstNeverReachesTheDescriptorTheDeviceWasNotGiven) {
    // The smallest ring (8) under the largest burst (64) read DD up to 64 times around it.
    EXPECT_EQ(E1000eWriteBack::readable(8, 64), 7u);
    EXPECT_EQ(E1000eWriteBack::readable(512, 64), 64u);
    EXPECT_EQ(E1000eWriteBack::readable(0, 64), 0u);
}

}  // namespace
