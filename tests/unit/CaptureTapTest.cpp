// CaptureTap: an interface's received and sent frames in a pcap file, BPF filters switched while
// running, on/off, and drops counted when the queue is full (the data path never waits).
#include "drivers/BuiltinDrivers.h"
#include "drivers/pcap/PcapDriver.h"
#include "netif/CaptureTap.h"
#include "netif/NetworkInterface.h"
#include "samples/data/RequestCapture.h"
#include "unit/PcapTestFiles.h"

#include <gtest/gtest.h>
#include <random>
#include <chrono>
#include <thread>

using namespace nexnet;
using namespace nexnet::test;

namespace {

// An interface over the pcap driver replaying @p records (tx frames go nowhere).
struct ReplayInterface {
    TemporaryDirectory& dir;
    std::unique_ptr<NetworkInterface> interface;

    ReplayInterface(TemporaryDirectory& d, const std::vector<CaptureRecord>& records) : dir(d) {
        writeCapture(dir.file("in.pcap"), records);
        auto driver = builtinDrivers().open("pcap:" + dir.file("in.pcap"));
        if (!driver) return;
        interface = std::make_unique<NetworkInterface>(std::move(driver.value()));
        interface->setUp();
    }
    PcapDriver& driver() { return static_cast<PcapDriver&>(interface->driver()); }
    void replayAll() {
        for (int turns = 0; turns < 1000000 && !driver().finished(); ++turns) interface->poll();
    }
    // Sends copies of @p frames through the interface's output path; every one must be taken.
    void send(const std::vector<std::vector<std::uint8_t>>& frames) { EXPECT_EQ(sendSome(frames), frames.size()); }
    // Sends copies of @p frames through the interface's output path. @return how many the
    // interface took: while a control call holds it (a filter being set), it drops and counts.
    std::size_t sendSome(const std::vector<std::vector<std::uint8_t>>& frames) {
        std::size_t taken = 0;
        for (const auto& frame : frames) {
            Netbuf* netbuf = interface->driver().pool()->allocate();
            EXPECT_NE(netbuf, nullptr);
            if (netbuf == nullptr) break;
            EXPECT_EQ(netbuf->append(frame.data(), static_cast<std::uint32_t>(frame.size())), 0);
            taken += interface->outputBurst(&netbuf, 1);
        }
        return taken;
    }
};

std::unique_ptr<CaptureTap> makeTap(const std::string& path, const std::string& filter = "", bool receive = true,
                                    bool transmit = true, std::size_t queueBytes = 4u << 20,
                                    std::uint32_t snaplen = 65535) {
    CaptureTap::Options options;
    options.path = path;
    options.filter = filter;
    options.receive = receive;
    options.transmit = transmit;
    options.queueBytes = queueBytes;
    options.snaplen = snaplen;
    auto tap = CaptureTap::create(options);
    return tap ? std::move(tap.value()) : nullptr;
}

std::vector<CaptureRecord> conversation() {
    std::vector<CaptureRecord> records;
    std::uint64_t stamp = 1700000000000000001ull;
    for (auto& frame : RequestCapture::requests(RequestCapture::Options{})) records.push_back({frame, stamp++, 0});
    return records;
}

std::vector<std::vector<std::uint8_t>> bytesOf(const std::vector<CaptureRecord>& records) {
    std::vector<std::vector<std::uint8_t>> frames;
    for (const auto& r : records) frames.push_back(r.bytes);
    return frames;
}

}  // namespace

TEST(CaptureTap, WritesReceivedFramesInOrderWithTheirTimestamps) {
    TemporaryDirectory dir;
    std::vector<CaptureRecord> records;
    for (unsigned i = 0; i < 500; ++i)
        records.push_back({testFrame(60 + i % 1000, i), 1700000000000000000ull + i * 7, 0});
    ReplayInterface replay(dir, records);
    ASSERT_NE(replay.interface, nullptr);
    auto tap = makeTap(dir.file("rx.pcap"), "", true, false);
    ASSERT_NE(tap, nullptr);
    ASSERT_EQ(tap->attach(*replay.interface), 0);
    replay.replayAll();
    ASSERT_EQ(tap->flush(), 0);
    auto got = readCapture(dir.file("rx.pcap"));
    ASSERT_EQ(got.size(), records.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].bytes, records[i].bytes) << i;
        ASSERT_EQ(got[i].nanoseconds, records[i].nanoseconds) << i;
    }
    EXPECT_EQ(tap->written(), 500u);
    EXPECT_EQ(tap->drops(), 0u);
}

TEST(CaptureTap, WritesTransmittedFrames) {
    TemporaryDirectory dir;
    ReplayInterface replay(dir, {});
    ASSERT_NE(replay.interface, nullptr);
    auto tap = makeTap(dir.file("tx.pcap"), "", false, true);
    ASSERT_NE(tap, nullptr);
    tap->attach(*replay.interface);
    auto frames = bytesOf(conversation());
    replay.send(frames);
    ASSERT_EQ(tap->flush(), 0);
    auto got = readCapture(dir.file("tx.pcap"));
    ASSERT_EQ(got.size(), frames.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].bytes, frames[i]) << i;
}

TEST(CaptureTap, TakesNothingFromTheInput) {
    TemporaryDirectory dir;
    ReplayInterface replay(dir, conversation());
    ASSERT_NE(replay.interface, nullptr);
    auto tap = makeTap(dir.file("rx.pcap"));
    tap->attach(*replay.interface);
    replay.replayAll();
    // Nobody else consumed the frames: the interface freed them all as unclaimed.
    EXPECT_EQ(replay.interface->receiveStatistics().drops, conversation().size());
    EXPECT_EQ(replay.driver().pool()->inUse(), 0u);
}

TEST(CaptureTap, FilterKeepsOnlyMatchingFrames) {
    TemporaryDirectory dir;
    ReplayInterface replay(dir, conversation());
    ASSERT_NE(replay.interface, nullptr);
    auto tap = makeTap(dir.file("icmp.pcap"), "icmp");
    tap->attach(*replay.interface);
    replay.replayAll();
    ASSERT_EQ(tap->flush(), 0);
    auto got = readCapture(dir.file("icmp.pcap"));
    ASSERT_EQ(got.size(), 3u);
    for (const auto& record : got) EXPECT_EQ(record.bytes[23], IPPROTO_ICMP);
    EXPECT_EQ(tap->filtered(), conversation().size() - 3);
}

TEST(CaptureTap, FilterSwitchesWhileRunning) {
    TemporaryDirectory dir;
    ReplayInterface replay(dir, {});
    ASSERT_NE(replay.interface, nullptr);
    auto tap = makeTap(dir.file("switch.pcap"), "arp");
    tap->attach(*replay.interface);
    auto frames = bytesOf(conversation());  // arp, icmp, udp, icmp, udp, icmp, udp
    replay.send(frames);
    ASSERT_EQ(tap->setFilter("udp port 7"), 0);
    EXPECT_EQ(tap->filter(), "udp port 7");
    replay.send(frames);
    ASSERT_EQ(tap->flush(), 0);
    auto got = readCapture(dir.file("switch.pcap"));
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].bytes, frames[0]);
    EXPECT_EQ(got[1].bytes, frames[2]);
    EXPECT_EQ(got[2].bytes, frames[4]);
    EXPECT_EQ(got[3].bytes, frames[6]);
}

TEST(CaptureTap, BadFilterIsEinvalAndTheOldFilterStays) {
    TemporaryDirectory dir;
    auto tap = makeTap(dir.file("x.pcap"), "icmp");
    ASSERT_NE(tap, nullptr);
    std::string message;
    EXPECT_EQ(tap->setFilter("icmp and and", &message), EINVAL);
    EXPECT_FALSE(message.empty());
    EXPECT_EQ(tap->filter(), "icmp");
    CaptureTap::Options options;
    options.path = dir.file("y.pcap");
    options.filter = "no such primitive";
    auto bad = CaptureTap::create(options);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), EINVAL);
}

TEST(CaptureTap, DirectionsSwitchOnAndOffWhileRunning) {
    TemporaryDirectory dir;
    ReplayInterface replay(dir, {});
    ASSERT_NE(replay.interface, nullptr);
    auto tap = makeTap(dir.file("onoff.pcap"));
    tap->attach(*replay.interface);
    auto frames = bytesOf(conversation());
    replay.send({frames[0]});
    tap->setTransmitEnabled(false);
    EXPECT_FALSE(tap->transmitEnabled());
    replay.send({frames[1]});
    tap->setTransmitEnabled(true);
    replay.send({frames[2]});
    ASSERT_EQ(tap->flush(), 0);
    auto got = readCapture(dir.file("onoff.pcap"));
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].bytes, frames[0]);
    EXPECT_EQ(got[1].bytes, frames[2]);
}

TEST(CaptureTap, DetachStopsCapture) {
    TemporaryDirectory dir;
    ReplayInterface replay(dir, {});
    ASSERT_NE(replay.interface, nullptr);
    auto tap = makeTap(dir.file("detach.pcap"));
    tap->attach(*replay.interface);
    auto frames = bytesOf(conversation());
    replay.send({frames[0]});
    tap->detach();
    replay.send({frames[1]});
    ASSERT_EQ(tap->flush(), 0);
    EXPECT_EQ(readCapture(dir.file("detach.pcap")).size(), 1u);
}

TEST(CaptureTap, FullQueueDropsAreCountedAndTrafficIsUntouched) {
    TemporaryDirectory dir;
    ReplayInterface replay(dir, {});
    ASSERT_NE(replay.interface, nullptr);
    // Room for two 64-byte records: the writer cannot keep up with a tight sending loop.
    auto tap = makeTap(dir.file("full.pcap"), "", false, true, 192, 64);
    ASSERT_NE(tap, nullptr);
    tap->attach(*replay.interface);
    constexpr unsigned kFrames = 20000;
    auto frame = testFrame(64, 1);
    Netbuf* burst[32];
    for (unsigned sent = 0; sent < kFrames; sent += 32) {
        ASSERT_EQ(replay.driver().pool()->allocateBulk(burst, 32), 0);
        for (auto* nb : burst) nb->append(frame.data(), 64);
        ASSERT_EQ(replay.interface->outputBurst(burst, 32), 32u);
    }
    const std::uint64_t offered = (kFrames + 31) / 32 * 32;
    ASSERT_EQ(tap->flush(), 0);
    EXPECT_GT(tap->drops(), 0u);
    EXPECT_EQ(tap->captured() + tap->drops(), offered);
    EXPECT_EQ(readCapture(dir.file("full.pcap")).size(), tap->captured());
    EXPECT_EQ(replay.driver().outputPackets(), offered);  // every frame still went out
}

TEST(CaptureTap, FramesLongerThanSnaplenAreCutWithTheirLengthKept) {
    TemporaryDirectory dir;
    ReplayInterface replay(dir, {});
    ASSERT_NE(replay.interface, nullptr);
    auto tap = makeTap(dir.file("snap.pcap"), "", true, true, 4096, 100);
    tap->attach(*replay.interface);
    auto frame = testFrame(1000, 5);
    replay.send({frame});
    ASSERT_EQ(tap->flush(), 0);
    auto got = readCapture(dir.file("snap.pcap"));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].bytes, std::vector<std::uint8_t>(frame.begin(), frame.begin() + 100));
    EXPECT_EQ(got[0].length, 1000u);
}

TEST(CaptureTap, FilterSwitchingRacingTheDataPathIsSafe) {
    TemporaryDirectory dir;
    ReplayInterface replay(dir, {});
    ASSERT_NE(replay.interface, nullptr);
    auto tap = makeTap(dir.file("race.pcap"), "udp");
    tap->attach(*replay.interface);
    std::atomic<bool> done{false};
    std::thread switcher([&] {
        const char* filters[] = {"udp", "icmp", "arp", "", "ether broadcast"};
        for (unsigned i = 0; !done.load(); ++i) {
            tap->setFilter(filters[i % 5]);
            std::this_thread::yield();  // leaves the data path a window between control calls
        }
    });
    auto frames = bytesOf(conversation());
    // 300 rounds, and on until some frames got between the control calls (bounded in time).
    std::size_t taken = 0, offered = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (int round = 0; (round < 300 || taken == 0) && std::chrono::steady_clock::now() < deadline; ++round) {
        taken += replay.sendSome(frames);
        offered += frames.size();
    }
    done = true;
    switcher.join();
    ASSERT_EQ(tap->flush(), 0);
    // Every frame the interface took was seen by the tap exactly once: captured, filtered out or
    // dropped; those refused while a filter was being set were counted as transmit drops instead.
    EXPECT_GT(taken, 0u);
    EXPECT_EQ(tap->captured() + tap->filtered() + tap->drops(), taken);
    EXPECT_EQ(replay.interface->driver().outputDrops(), offered - taken);
}

TEST(CaptureTapRing, KeepsOrderAndBytesAcrossWrapAround) {
    CaptureTapRing ring(4096);
    std::mt19937 random(7);
    std::uint64_t pushed = 0, popped = 0;
    for (int round = 0; round < 2000; ++round) {
        for (int k = 0; k < 3; ++k) {
            auto frame = testFrame(14 + random() % 600, pushed);
            if (ring.push(frame.data(), static_cast<std::uint32_t>(frame.size()), 9999, pushed)) ++pushed;
        }
        CaptureTapRing::Record record;
        for (int k = 0; k < 2 && ring.pop(record); ++k) {
            ASSERT_EQ(record.nanoseconds, popped);
            auto want = testFrame(record.captured, popped);
            ASSERT_EQ(std::vector<std::uint8_t>(record.data, record.data + record.captured), want);
            EXPECT_EQ(record.length, 9999u);
            ring.release();
            ++popped;
        }
    }
    EXPECT_GT(popped, 1000u);
}

TEST(CaptureTapRing, RefusesWhenFullAndAcceptsAgainAfterRelease) {
    CaptureTapRing ring(256);
    std::uint8_t frame[48] = {};
    unsigned stored = 0;
    while (ring.push(frame, sizeof frame, sizeof frame, stored)) ++stored;
    EXPECT_EQ(stored, 4u);  // 256 / (16 + 48)
    CaptureTapRing::Record record;
    ASSERT_TRUE(ring.pop(record));
    ring.release();
    EXPECT_TRUE(ring.push(frame, sizeof frame, sizeof frame, 99));
    EXPECT_FALSE(ring.push(frame, 200, 200, 0));  // larger than half the ring: never fits
}
