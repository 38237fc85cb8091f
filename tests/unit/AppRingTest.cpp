// AppRing, AppRingServer and AppRingClient in one process over the null driver: ring logic,
// lifecycle, modes, ownership, waits and hostile shared memory, without privileges.
#include "AppRingFixture.h"

#include <poll.h>

#include <cstring>
#include <future>
#include <random>

using namespace nexnet;
using namespace nexnet::test;

extern "C" {
int app_ring_c_open(const char* path, app_ring** ring);
int app_ring_c_open_private(const char* path, app_ring** ring);
int app_ring_c_receive_entries_and_send_back(app_ring* ring, unsigned expected);
void app_ring_c_close(app_ring* ring);
}

namespace {

unsigned receiveAll(AppRingClient& client, std::vector<app_ring_packet>& out, unsigned want) {
    app_ring_packet burst[32];
    while (out.size() < want) {
        unsigned n = client.receive(burst, 32);
        if (n == 0) break;
        out.insert(out.end(), burst, burst + n);
    }
    return static_cast<unsigned>(out.size());
}

// Ring-1 entries as the framework wrote them.
AppRingEntry ring1Entry(AppRingClient& client, std::uint32_t position) {
    auto* entries = reinterpret_cast<const std::uint64_t*>(reinterpret_cast<const std::uint8_t*>(client.posted()) +
                                                           client.header().entries_offset);
    return AppRingEntry::load(entries[position & (client.header().slot_count - 1)]);
}

// The claim word of a ring-1 position.
AppRingClaim ring1Claim(AppRingClient& client, std::uint32_t position) {
    auto* claims = reinterpret_cast<const std::uint64_t*>(reinterpret_cast<const std::uint8_t*>(client.taken()) +
                                                          client.header().claims_offset);
    return AppRingClaim::load(claims[position & (client.header().slot_count - 1)]);
}

Netbuf* ethernetFrame(NetbufPool& pool, std::uint16_t type) {
    Netbuf* frame = pool.allocate();
    std::uint8_t bytes[60] = {};
    std::memset(bytes, 0xff, 6);
    bytes[12] = static_cast<std::uint8_t>(type >> 8);
    bytes[13] = static_cast<std::uint8_t>(type);
    frame->append(bytes, sizeof bytes);
    return frame;
}

}  // namespace

TEST(AppRingTest, WithoutRingsTheNetworkLayerProcessesTrafficAsUsual) {
    AppRingBench bench;
    bench.interface->poll();
    EXPECT_EQ(bench.server->ring("null0"), nullptr);
    EXPECT_EQ(bench.layer.frames, 32u);
}

TEST(AppRingTest, FirstApplicationCreatesTheRingsAndSeesTheirLayout) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(client) << std::strerror(client.error());
    ASSERT_NE(bench.server->ring("null0"), nullptr);
    const app_ring_header& header = client.value()->header();
    EXPECT_EQ(header.magic, APP_RING_MAGIC);
    EXPECT_EQ(header.mode, APP_RING_RX_INTERCEPT);
    EXPECT_EQ(header.buffer_count, bench.pool().capacity());
    EXPECT_EQ(header.buffer_size, bench.pool().bufferSize());
}

TEST(AppRingTest, JoiningWithoutRingsIsRefused) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_JOIN);
    ASSERT_FALSE(client);
    EXPECT_EQ(client.error(), ENOENT);
}

TEST(AppRingTest, UnknownInterfaceIsRefused) {
    AppRingBench bench;
    AppRingClient::Options options;
    options.mode = APP_RING_RX_INTERCEPT;
    auto client = bench.connect(options, "nope0");
    ASSERT_FALSE(client);
    EXPECT_EQ(client.error(), ENODEV);
}

TEST(AppRingTest, RingsOfAnotherModeAreRefusedButCanBeJoined) {
    AppRingBench bench;
    auto first = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(first);
    auto other = bench.connect(APP_RING_TX_INTERCEPT);
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error(), EBUSY);
    auto joined = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(joined);
    EXPECT_EQ(joined.value()->header().mode, APP_RING_RX_INTERCEPT);
}

TEST(AppRingTest, BadRingOptionsAreRejected) {
    AppRingBench bench;
    AppRing::Options options;
    options.slotCount = 100;
    auto ring = AppRing::create(*bench.interface, options);
    ASSERT_FALSE(ring);
    EXPECT_EQ(ring.error(), EINVAL);
}

TEST(AppRingTest, RxInterceptTakesReceivedFramesBeforeTheNetworkLayer) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(client);
    bench.interface->poll();
    EXPECT_EQ(bench.layer.frames, 0u);
    std::vector<app_ring_packet> packets;
    EXPECT_EQ(receiveAll(*client.value(), packets, 64), 32u);
    EXPECT_EQ(packets[0].length, 64u);
    EXPECT_EQ(packets[0].data[12], 0x88);  // the null driver's test frame
}

TEST(AppRingTest, ReinjectedFramesAreProcessedAsReceived) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(client);
    bench.interface->poll();
    std::vector<app_ring_packet> packets;
    receiveAll(*client.value(), packets, 32);
    ASSERT_EQ(client.value()->send(packets.data(), 32), 32u);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames == 32; }));
    EXPECT_EQ(bench.server->ring("null0")->statistics().removed, 32u);
}

TEST(AppRingTest, RemovedBufferRecordsItsApplicationAsOwner) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(client);
    bench.interface->poll();
    std::vector<app_ring_packet> packets;
    receiveAll(*client.value(), packets, 32);
    AppRing& ring = *bench.server->ring("null0");
    ring.service();
    // The only application removes without writing anything back: its tail says what it took.
    EXPECT_FALSE(ring.sharedConsumers());
    for (std::uint32_t position = 0; position < 32; ++position) {
        EXPECT_FALSE(ring1Claim(*client.value(), position).decides(position));
        EXPECT_EQ(ring1Entry(*client.value(), position).index, packets[position].index);
    }
    std::uint32_t owner = bench.pool().netbuf(packets[0].index)->owner();
    EXPECT_NE(owner, 0u);
    EXPECT_NE(owner, ring.deliveryOf(0)->ringOwnerId());
    // The application sees the same id through its read-only view of the metadata.
    auto* records = reinterpret_cast<const Netbuf*>(client.value()->metadata());
    EXPECT_EQ(records[packets[0].index].owner(), owner);
}

TEST(AppRingTest, AnotherApplicationCannotSendABufferItDoesNotOwn) {
    AppRingBench bench;
    auto holder = bench.connect(APP_RING_RX_INTERCEPT);
    auto thief = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(holder && thief);
    bench.interface->poll();
    std::vector<app_ring_packet> packets;
    receiveAll(*holder.value(), packets, 32);
    ASSERT_EQ(thief.value()->send(packets.data(), 1), 1u);
    bench.pumpUntil([&] { return bench.server->ring("null0")->statistics().refused == 1; }, 2);
    EXPECT_EQ(bench.server->ring("null0")->statistics().refused, 1u);
    EXPECT_EQ(bench.layer.frames, 0u);
    ASSERT_EQ(holder.value()->send(packets.data(), 32), 32u);  // still the holder's
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames == 32; }));
}

// An application may re-insert a buffer before the framework recorded its ring-1 claim: here
// another application is still between taking slot 0 and writing its claim, which holds back
// the in-order recording of every later slot.
TEST(AppRingTest, BufferReinsertedBeforeItsClaimWasRecordedIsStillAccepted) {
    AppRingBench bench;
    auto slow = bench.connect(APP_RING_RX_INTERCEPT);
    auto fast = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(slow && fast);
    slow.value()->receive(nullptr, 0);  // the single consumer hands over: ring 1 is shared from now on
    bench.interface->poll();
    ASSERT_TRUE(bench.pumpUntil([&] { return fast.value()->receivable() == 32; }));
    std::atomic_ref<std::uint32_t>(slow.value()->taken()->tail).fetch_add(1);  // took slot 0, no claim yet
    std::vector<app_ring_packet> packets;
    ASSERT_EQ(receiveAll(*fast.value(), packets, 31), 31u);
    ASSERT_EQ(fast.value()->send(packets.data(), 31), 31u);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames == 31; }));
    EXPECT_EQ(bench.server->ring("null0")->statistics().refused, 0u);
    // The same buffers sent again are no longer the application's.
    ASSERT_EQ(fast.value()->send(packets.data(), 1), 1u);
    bench.pumpUntil([&] { return bench.server->ring("null0")->statistics().refused == 1; }, 2);
    EXPECT_EQ(bench.server->ring("null0")->statistics().refused, 1u);
}

// The hand-over asks nothing of the first application: what was posted before it is the first
// one's, the newcomer removes what comes after at once.
TEST(AppRingTest, SecondApplicationReceivesAtOnceAndEachKeepsItsOwn) {
    AppRingBench bench;
    auto first = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(first);
    bench.interface->poll();
    app_ring_packet burst[32];
    ASSERT_EQ(first.value()->receive(burst, 16), 16u);  // as the single consumer, unclaimed
    std::vector<app_ring_packet> mine(burst, burst + 16);
    auto second = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(second);
    AppRing& ring = *bench.server->ring("null0");
    EXPECT_TRUE(ring.sharedConsumers());
    EXPECT_EQ(second.value()->receivable(), 0u);  // the 16 left are the first one's
    bench.interface->poll();
    app_ring_entry entries[32];
    ASSERT_EQ(second.value()->receiveEntries(entries, 32), 32u);  // at once: nobody answers anything
    AppRingClaim claim = ring1Claim(*second.value(), 32);
    EXPECT_TRUE(claim.decides(32));
    EXPECT_EQ(claim.token, second.value()->token());
    EXPECT_EQ(claim.count, 32u);
    std::vector<app_ring_packet> theirs;
    for (unsigned i = 0; i < 32; ++i) theirs.push_back(second.value()->packet(entries[i]));
    ASSERT_EQ(first.value()->receive(burst, 32), 16u);  // its own 16, as before
    mine.insert(mine.end(), burst, burst + 16);
    EXPECT_EQ(first.value()->receive(burst, 32), 0u);
    // Neither may send the other's buffers.
    ASSERT_EQ(second.value()->send(&mine[0], 1), 1u);   // removed by the first as single consumer
    ASSERT_EQ(second.value()->send(&mine[20], 1), 1u);  // the first one's after the hand-over
    ASSERT_EQ(first.value()->send(&theirs[0], 1), 1u);
    EXPECT_TRUE(bench.pumpUntil([&] { return ring.statistics().refused == 3; }));
    ASSERT_EQ(first.value()->send(mine.data(), 32), 32u);
    ASSERT_EQ(second.value()->send(theirs.data(), 32), 32u);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames == 64; }));
    EXPECT_EQ(ring.statistics().refused, 3u);
}

TEST(AppRingTest, SleepingFirstApplicationKeepsNobodyWaiting) {
    AppRingBench bench;
    auto first = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(first);
    auto waiting = std::async(std::launch::async, [&] { return first.value()->waitReceive(std::chrono::seconds(5)); });
    auto second = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(second);
    bench.interface->poll();
    EXPECT_TRUE(bench.pumpUntil([&] { return second.value()->receivable() == 32; }));
    EXPECT_EQ(waiting.get(), 0);  // woken by the entries, never called receive
    app_ring_entry entries[32];
    EXPECT_EQ(second.value()->receiveEntries(entries, 32), 32u);
}

TEST(AppRingTest, FirstApplicationEndingAfterTheHandOverLeavesNothingBehind) {
    AppRingBench bench;
    std::uint32_t available = bench.pool().available();
    auto first = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(first);
    bench.interface->poll();
    app_ring_packet held[16];
    ASSERT_EQ(first.value()->receive(held, 16), 16u);
    auto second = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(second);
    first.value().reset();  // held 16, and 16 more were its own
    ASSERT_TRUE(bench.pumpUntil([&] { return bench.server->applicationCount() == 1; }));
    bench.interface->poll();
    ASSERT_TRUE(bench.pumpUntil([&] { return second.value()->receivable() == 32; }));
    std::vector<app_ring_packet> packets;
    ASSERT_EQ(receiveAll(*second.value(), packets, 32), 32u);
    ASSERT_EQ(second.value()->send(packets.data(), 32), 32u);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames == 32; }));
    second.value().reset();
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
    EXPECT_EQ(bench.pool().available(), available);  // the first one's 32 came back
}

TEST(AppRingTest, Ring1EntryAndClaimAreOneWordEach) {
    EXPECT_TRUE(AppRingEntry::fits(128, 65549));  // the largest frame a tap with GSO delivers
    EXPECT_TRUE(AppRingEntry::fits(0x7fff, 0x1ffff));
    EXPECT_FALSE(AppRingEntry::fits(0x8000, 0));
    EXPECT_FALSE(AppRingEntry::fits(0, 0x20000));
    AppRingEntry entry = AppRingEntry::packet(4095, 128, 1514);
    EXPECT_EQ(AppRingEntry::fromWord(entry.toWord()).offset(), 128u);
    EXPECT_EQ(AppRingEntry::fromWord(entry.toWord()).length(), 1514u);
    app_ring_entry c{};
    std::uint64_t word = entry.toWord();
    std::memcpy(&c, &word, sizeof c);  // the C layout: index first
    EXPECT_EQ(c.index, 4095u);
    EXPECT_EQ(APP_RING_PLACE_LENGTH(c.place), 1514u);
    app_ring_claim claim{};
    word = AppRingClaim{77, 0xbeef, 32}.toWord();
    std::memcpy(&claim, &word, sizeof claim);
    EXPECT_EQ(claim.position, 77u);
    EXPECT_EQ(claim.token, 0xbeefu);
    EXPECT_EQ(claim.count, 32u);
}

// Only the first CAS that names a position decides it; a word from an earlier lap decides nothing.
TEST(AppRingTest, AClaimDecidesItsPositionOnce) {
    std::uint64_t word = AppRingClaim{77u - 1024u, 5, 32}.toWord();  // the same slot, a lap before
    EXPECT_TRUE((AppRingClaim{77, 9, 4}.decide(word)));
    EXPECT_FALSE((AppRingClaim{77, 0, 0}.decide(word)));  // the framework comes too late
    EXPECT_EQ(AppRingClaim::fromWord(word).token, 9u);
}

TEST(AppRingTest, CApplicationTakesRawEntriesAndSendsThemBack) {
    AppRingBench bench;
    app_ring* ring = nullptr;
    auto opening = std::async(std::launch::async, [&] { return app_ring_c_open(bench.path.c_str(), &ring); });
    while (opening.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready)
        bench.loop->runOnce(std::chrono::milliseconds(5));
    ASSERT_EQ(opening.get(), 0);
    bench.interface->poll();
    EXPECT_EQ(app_ring_c_receive_entries_and_send_back(ring, 32), 0);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames == 32; }));
    EXPECT_EQ(bench.server->ring("null0")->statistics().refused, 0u);
    app_ring_c_close(ring);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
}

TEST(AppRingTest, CApplicationMayAskForRingsOfItsOwn) {
    AppRingBench bench;
    app_ring* ring = nullptr;
    auto opening = std::async(std::launch::async, [&] { return app_ring_c_open_private(bench.path.c_str(), &ring); });
    while (opening.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready)
        bench.loop->runOnce(std::chrono::milliseconds(5));
    ASSERT_EQ(opening.get(), 0);
    EXPECT_TRUE(bench.server->ring("null0")->privateRings());
    bench.interface->poll();
    EXPECT_EQ(app_ring_c_receive_entries_and_send_back(ring, 32), 0);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames == 32; }));
    app_ring_c_close(ring);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
}

TEST(AppRingTest, RingsLastUntilTheLastApplicationUnmaps) {
    AppRingBench bench;
    auto first = bench.connect(APP_RING_RX_INTERCEPT);
    auto second = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(first && second);
    first.value().reset();
    bench.pumpUntil([&] { return bench.server->applicationCount() == 1; }, 2);
    EXPECT_NE(bench.server->ring("null0"), nullptr);
    second.value().reset();
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
    bench.interface->poll();
    EXPECT_EQ(bench.layer.frames, 32u);  // claim 4 again
}

TEST(AppRingTest, UnmappingReturnsEveryBufferTheApplicationHeld) {
    AppRingBench bench;
    std::uint32_t available = bench.pool().available();
    auto client = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(client);
    for (int i = 0; i < 4; ++i) bench.interface->poll();
    std::vector<app_ring_packet> packets;
    receiveAll(*client.value(), packets, 64);  // 64 held, 64 still posted
    EXPECT_LT(bench.pool().available(), available);
    client.value().reset();
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
    EXPECT_EQ(bench.pool().available(), available);
}

TEST(AppRingTest, FullRing1DropsAndCounts) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_RX_INTERCEPT, 0, 32);
    ASSERT_TRUE(client);
    bench.interface->poll();
    bench.interface->poll();
    EXPECT_EQ(bench.server->ring("null0")->statistics().ring1Full, 32u);
    EXPECT_EQ(client.value()->receivable(), 32u);
}

TEST(AppRingTest, TxInterceptTakesOutputBeforeTheDriverSendsIt) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_TX_INTERCEPT);
    ASSERT_TRUE(client);
    Netbuf* frame = ethernetFrame(bench.pool(), 0x0800);
    bench.interface->outputBurst(&frame, 1);
    EXPECT_EQ(bench.interface->transmitStatistics().packets, 0u);
    std::vector<app_ring_packet> packets;
    ASSERT_EQ(receiveAll(*client.value(), packets, 1), 1u);
    ASSERT_EQ(client.value()->send(packets.data(), 1), 1u);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.interface->transmitStatistics().packets == 1; }));
    bench.interface->poll();
    EXPECT_EQ(bench.layer.frames, 32u);  // receive is untouched
}

TEST(AppRingTest, BypassHidesEverythingFromTheNetworkLayer) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_BYPASS);
    ASSERT_TRUE(client) << std::strerror(client.error());
    bench.interface->poll();
    Netbuf* frame = ethernetFrame(bench.pool(), 0x0800);
    bench.interface->outputBurst(&frame, 1);
    EXPECT_EQ(bench.layer.frames, 0u);
    EXPECT_EQ(bench.interface->transmitStatistics().packets, 0u);
    EXPECT_EQ(bench.server->ring("null0")->statistics().bypassDrops, 1u);
    std::vector<app_ring_packet> packets;
    ASSERT_EQ(receiveAll(*client.value(), packets, 32), 32u);
    ASSERT_EQ(client.value()->send(packets.data(), 32), 32u);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.interface->transmitStatistics().packets == 32; }));
    EXPECT_EQ(bench.layer.frames, 0u);
}

TEST(AppRingTest, NonNetworkModeKeepsTheMinimumOfBuffersPosted) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_NON_NETWORK, 16);
    ASSERT_TRUE(client);
    EXPECT_GE(client.value()->receivable(), 16u);
    std::vector<app_ring_packet> packets;
    receiveAll(*client.value(), packets, 16);
    EXPECT_TRUE(packets[0].flags & APP_RING_SLOT_EMPTY);
    EXPECT_TRUE(bench.pumpUntil([&] { return client.value()->receivable() >= 16; }));
    // The application fills an empty buffer with its own frame and sends it.
    app_ring_packet frame = client.value()->packet(packets[0].index, 60);
    std::memset(frame.data, 0xff, 60);
    ASSERT_EQ(client.value()->send(&frame, 1), 1u);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.interface->transmitStatistics().packets == 1; }));
}

TEST(AppRingTest, NonNetworkModeLeavesIpAndArpToTheNetworkLayer) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_NON_NETWORK, 8);
    ASSERT_TRUE(client);
    Netbuf* frames[2] = {ethernetFrame(bench.pool(), 0x0800), ethernetFrame(bench.pool(), 0x88b5)};
    std::uint32_t before = client.value()->receivable();
    bench.interface->inputBurst(bench.interface->driver(), 0, frames, 2);
    EXPECT_EQ(bench.layer.frames, 1u);
    EXPECT_EQ(client.value()->receivable(), before + 1);
}

TEST(AppRingTest, DroppedSlotGivesTheBufferBack) {
    AppRingBench bench;
    std::uint32_t available = bench.pool().available();
    auto client = bench.connect(APP_RING_BYPASS);
    ASSERT_TRUE(client);
    bench.interface->poll();
    std::vector<app_ring_packet> packets;
    receiveAll(*client.value(), packets, 32);
    for (auto& packet : packets) packet.flags = APP_RING_SLOT_DROP;
    ASSERT_EQ(client.value()->send(packets.data(), 32), 32u);
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0")->statistics().returned == 32; }));
    EXPECT_EQ(bench.interface->transmitStatistics().packets, 0u);
    client.value().reset();
    bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; });
    EXPECT_EQ(bench.pool().available(), available);
}

TEST(AppRingTest, WaitReceiveTimesOutWhenNothingArrives) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(client);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(client.value()->waitReceive(std::chrono::milliseconds(50)), ETIMEDOUT);
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(45));
}

TEST(AppRingTest, WaitReceiveWakesWhenTheNetworkLayerInserts) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(client);
    auto waiter = std::async(std::launch::async, [&] { return client.value()->waitReceive(std::chrono::seconds(5)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto start = std::chrono::steady_clock::now();
    bench.interface->poll();
    EXPECT_EQ(waiter.get(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(AppRingTest, WaitSendWakesWhenTheNetworkLayerRemoves) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_RX_INTERCEPT, 0, 32);
    ASSERT_TRUE(client);
    bench.interface->poll();
    std::vector<app_ring_packet> packets;
    receiveAll(*client.value(), packets, 32);
    ASSERT_EQ(client.value()->sendWithoutKick(packets.data(), 32), 32u);  // ring 2 now full
    auto waiter = std::async(std::launch::async, [&] { return client.value()->waitSend(std::chrono::seconds(5)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    client.value()->kick();
    bench.pumpUntil([&] { return waiter.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready; });
    EXPECT_EQ(waiter.get(), 0);
}

TEST(AppRingTest, ReceiveEventFdWorksWithPoll) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(client);
    client.value()->armReceive();
    pollfd descriptor{client.value()->receiveEventFd(), POLLIN, 0};
    EXPECT_EQ(poll(&descriptor, 1, 0), 0);
    bench.interface->poll();
    EXPECT_EQ(poll(&descriptor, 1, 1000), 1);
}

TEST(AppRingTest, GarbageInSharedMemoryIsCountedNeverFollowed) {
    AppRingBench bench;
    std::uint32_t available = bench.pool().available();
    auto honest = bench.connect(APP_RING_RX_INTERCEPT);
    auto hostile = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(honest && hostile);
    std::mt19937 random(7);
    const app_ring_header& header = hostile.value()->header();
    auto* taken = reinterpret_cast<std::uint32_t*>(hostile.value()->taken());
    std::size_t takenWords = (header.claims_offset + header.slot_count * 8) / 4;
    auto* own = reinterpret_cast<std::uint32_t*>(hostile.value()->application());
    std::size_t ownWords = (header.slots_offset + header.slot_count * 16) / 4;
    app_ring_packet burst[32];
    for (int round = 0; round < 300; ++round) {
        std::uint32_t head = hostile.value()->posted()->head;
        for (int i = 0; i < 64; ++i) {
            std::uint32_t value = random();
            if (i % 3 == 0) value = head - random() % 2048;
            if (i % 3 == 1) value %= 2 * bench.pool().capacity();
            (i % 4 == 0 ? own[random() % ownWords] : taken[random() % takenWords]) = value;
        }
        app_ring_packet forged = hostile.value()->packet(random() % bench.pool().capacity(), random() % 3000);
        hostile.value()->send(&forged, 1);
        bench.interface->poll();
        unsigned n = honest.value()->receive(burst, 32);
        if (n > 0) honest.value()->send(burst, n);
        bench.loop->runOnce(std::chrono::milliseconds(0));
    }
    const AppRing::Statistics& stats = bench.server->ring("null0")->statistics();
    EXPECT_GT(stats.invalid + stats.refused, 0u);
    honest.value().reset();
    hostile.value().reset();
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
    EXPECT_EQ(bench.pool().available(), available);  // nothing stolen, nothing leaked
}

// ---- no application can stop the rings for another (issue 17) ---------------------------------

// A first application that never calls into the library again keeps nobody waiting: the
// newcomer removes new frames at once.
TEST(AppRingTest, NewcomerReceivesWhileTheFirstApplicationNeverCallsAgain) {
    AppRingBench bench;
    auto first = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(first);
    bench.interface->poll();
    app_ring_packet burst[32];
    ASSERT_EQ(first.value()->receive(burst, 16), 16u);
    auto second = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(second);
    bench.interface->poll();
    std::vector<app_ring_packet> packets;
    EXPECT_EQ(receiveAll(*second.value(), packets, 32), 32u);
}

// A first application that lies about how far it removed (its single_tail far ahead) and then
// goes silent: the newcomer receives and returns everything, nothing refused, and ring 1 keeps
// taking frames for much longer than its size.
TEST(AppRingTest, LyingFirstApplicationStarvesNobody) {
    AppRingBench bench;
    std::uint32_t available = bench.pool().available();
    auto liar = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(liar);
    bench.interface->poll();
    app_ring_packet burst[32];
    ASSERT_EQ(liar.value()->receive(burst, 16), 16u);
    auto honest = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(honest);
    std::atomic_ref<std::uint32_t>(liar.value()->taken()->single_tail).store(liar.value()->posted()->head + 1000);
    AppRing& ring = *bench.server->ring("null0");
    for (int round = 0; round < 80; ++round) {  // 2,560 frames through 1,024 slots
        bench.interface->poll();
        std::vector<app_ring_packet> packets;
        ASSERT_EQ(receiveAll(*honest.value(), packets, 32), 32u) << "round " << round;
        ASSERT_EQ(honest.value()->send(packets.data(), 32), 32u);
        bench.loop->runOnce(std::chrono::milliseconds(0));
    }
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames == 80 * 32; }));
    EXPECT_EQ(ring.statistics().refused, 0u);
    EXPECT_EQ(ring.statistics().ring1Full, 0u);
    liar.value().reset();
    honest.value().reset();
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
    EXPECT_EQ(bench.pool().available(), available);
}

// An application that ends between taking entries (its CAS on the tail) and claiming them: the
// framework takes them back; the others go on and nothing is lost for good.
TEST(AppRingTest, EntriesTakenAndNeverClaimedAreTakenBack) {
    AppRingBench bench;
    std::uint32_t available = bench.pool().available();
    auto honest = bench.connect(APP_RING_RX_INTERCEPT);
    auto victim = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(honest && victim);
    bench.interface->poll();
    std::atomic_ref<std::uint32_t>(victim.value()->taken()->tail).fetch_add(8);  // took 8, died before claiming
    victim.value().reset();
    ASSERT_TRUE(bench.pumpUntil([&] { return bench.server->applicationCount() == 1; }));
    AppRing& ring = *bench.server->ring("null0");
    EXPECT_EQ(ring.statistics().abandoned, 8u);
    for (int round = 0; round < 40; ++round) {
        std::vector<app_ring_packet> packets;
        unsigned n = receiveAll(*honest.value(), packets, 64);
        if (n > 0) {
            ASSERT_EQ(honest.value()->send(packets.data(), n), n);
        }
        bench.interface->poll();
        bench.loop->runOnce(std::chrono::milliseconds(0));
    }
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames == 40 * 32 - 8; }));
    honest.value().reset();
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
    EXPECT_EQ(bench.pool().available(), available);
}

// The framework takes back an entry whose claim is late: the late claimer learns it by its CAS
// and does not hand the packet out.
TEST(AppRingTest, ClaimArrivingAfterTheFrameworkTookTheEntryBackIsDropped) {
    AppRingBench bench;
    auto slow = bench.connect(APP_RING_RX_INTERCEPT, 0, 32);
    auto other = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(slow && other);
    bench.interface->poll();  // fills ring 1 (32 slots)
    auto& tail = slow.value()->taken()->tail;
    std::uint32_t taken = std::atomic_ref<std::uint32_t>(tail).fetch_add(32);  // as removeShared does, then stalls
    bench.interface->poll();  // ring 1 needs room: the 32 nobody claimed go back
    AppRing& ring = *bench.server->ring("null0");
    EXPECT_EQ(ring.statistics().abandoned, 32u);
    auto* claims = reinterpret_cast<std::uint64_t*>(reinterpret_cast<std::uint8_t*>(slow.value()->taken()) +
                                                    slow.value()->header().claims_offset);
    EXPECT_FALSE(
        (AppRingClaim{taken, static_cast<std::uint16_t>(slow.value()->token()), 32}.decide(claims[taken & 31])));
    std::vector<app_ring_packet> packets;
    EXPECT_EQ(receiveAll(*other.value(), packets, 64), 32u);  // the new ones
}

// A scribbled shared tail: the reader kicks, the framework puts the tail back, reading goes on.
TEST(AppRingTest, ScribbledSharedTailIsPutBack) {
    AppRingBench bench;
    auto honest = bench.connect(APP_RING_RX_INTERCEPT);
    auto hostile = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(honest && hostile);
    bench.interface->poll();
    std::atomic_ref<std::uint32_t>(hostile.value()->taken()->tail).store(0x80000000u);
    app_ring_packet burst[32];
    EXPECT_EQ(honest.value()->receive(burst, 32), 0u);
    ASSERT_TRUE(bench.pumpUntil([&] { return honest.value()->receivable() == 32; }));
    EXPECT_EQ(honest.value()->receive(burst, 32), 32u);
    EXPECT_GT(bench.server->ring("null0")->statistics().invalid, 0u);
}

// A tail moved back over entries others took: readers skip what is decided instead of taking
// it twice.
TEST(AppRingTest, RewoundSharedTailDoesNotHandOutEntriesTwice) {
    AppRingBench bench;
    auto honest = bench.connect(APP_RING_RX_INTERCEPT);
    auto hostile = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(honest && hostile);
    bench.interface->poll();
    std::vector<app_ring_packet> first;
    ASSERT_EQ(receiveAll(*honest.value(), first, 32), 32u);
    std::atomic_ref<std::uint32_t>(hostile.value()->taken()->tail).fetch_sub(32);
    bench.interface->poll();
    std::vector<app_ring_packet> second;
    ASSERT_EQ(receiveAll(*honest.value(), second, 64), 32u);
    for (const app_ring_packet& packet : second) {
        for (const app_ring_packet& earlier : first) EXPECT_NE(packet.index, earlier.index);
    }
}

// The framework ends (here: its server goes away) while the application waits: the wait returns
// EPIPE at once instead of sleeping on.
TEST(AppRingTest, WaitsReturnEpipeWhenTheFrameworkEnds) {
    AppRingBench bench;
    auto client = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(client);
    auto waiting =
        std::async(std::launch::async, [&] { return client.value()->waitReceive(std::chrono::seconds(30)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    bench.server.reset();
    ASSERT_EQ(waiting.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_EQ(waiting.get(), EPIPE);
    EXPECT_EQ(client.value()->waitSend(std::chrono::seconds(30), 4096), EPIPE);
}

// ---- rings of its own (APP_RING_PRIVATE) ----------------------------------------------------------

TEST(AppRingTest, PrivateRingsGiveEachApplicationARing1OfItsOwn) {
    AppRingBench bench;
    std::uint32_t available = bench.pool().available();
    AppRingClient::Options options;
    options.mode = APP_RING_RX_INTERCEPT;
    options.privateRings = true;
    auto a = bench.connect(options);
    auto b = bench.connect(APP_RING_JOIN);  // joins: gets rings of its own too
    ASSERT_TRUE(a && b);
    AppRing& ring = *bench.server->ring("null0");
    EXPECT_TRUE(ring.privateRings());
    EXPECT_NE(ring.deliveryOf(0), ring.deliveryOf(1));
    EXPECT_TRUE(a.value()->header().flags & APP_RING_PRIVATE);
    // What one writes in its taken region (claims, cursors) the other does not even map.
    std::atomic_ref<std::uint32_t>(a.value()->taken()->tail).store(12345);
    EXPECT_NE(std::atomic_ref<std::uint32_t>(b.value()->taken()->tail).load(), 12345u);
    for (int i = 0; i < 4; ++i) bench.interface->poll();
    std::vector<app_ring_packet> mine, theirs;
    EXPECT_EQ(receiveAll(*a.value(), mine, 128) + receiveAll(*b.value(), theirs, 128), 128u);
    EXPECT_FALSE(mine.empty());
    EXPECT_FALSE(theirs.empty());
    ASSERT_EQ(b.value()->send(mine.data(), 1), 1u);  // not its own
    EXPECT_TRUE(bench.pumpUntil([&] { return ring.statistics().refused == 1; }));
    ASSERT_EQ(a.value()->send(mine.data(), static_cast<unsigned>(mine.size())), mine.size());
    ASSERT_EQ(b.value()->send(theirs.data(), static_cast<unsigned>(theirs.size())), theirs.size());
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.layer.frames == 128; }));
    a.value().reset();
    b.value().reset();
    EXPECT_TRUE(bench.pumpUntil([&] { return bench.server->ring("null0") == nullptr; }));
    EXPECT_EQ(bench.pool().available(), available);
}

TEST(AppRingTest, RingsOfItsOwnAreRefusedWhenTheRingsAreShared) {
    AppRingBench bench;
    auto shared = bench.connect(APP_RING_RX_INTERCEPT);
    ASSERT_TRUE(shared);
    AppRingClient::Options options;
    options.privateRings = true;
    auto refused = bench.connect(options);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), EBUSY);
}

TEST(AppRingTest, AnInterfaceOfferedWithPrivateRingsNeverShares) {
    AppRingBench bench;
    bench.server->removeInterface(*bench.interface);
    AppRingServer::InterfaceOptions offer;
    offer.privateRings = true;
    bench.server->addInterface(*bench.interface, offer);
    auto a = bench.connect(APP_RING_RX_INTERCEPT);
    auto b = bench.connect(APP_RING_JOIN);
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(bench.server->ring("null0")->privateRings());
    EXPECT_FALSE(bench.server->ring("null0")->sharedConsumers());
}
