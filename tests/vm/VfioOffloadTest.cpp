// VM tests of virtio-net's checksum and segmentation offloads, in the multi-queue tap set-up
// (run-guest.sh --nics mq, MultiqueueHarness.h): the kernel at the tap's other end checks what the
// device finished.

#include "MultiqueueHarness.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <vector>

using namespace nexnet;
using namespace nexnet::test;
using namespace std::chrono_literals;

// On a tap backend the device offers checksum offload (VIRTIO_NET_F_CSUM): an echo request whose
// ICMP checksum is left to the device (NEEDS_CSUM, csum_start/offset in the virtio header) is
// answered by the kernel; the same frame without the offload request has a wrong checksum and is
// dropped, so the answer proves the header reached the device as meant.
TEST(VfioMultiqueue, ChecksumLeftToTheDeviceIsCompletedBeforeTheKernelSeesIt) {
    auto nic = openMultiqueueNic(1);
    ASSERT_TRUE(nic);
    ASSERT_NE(nic->negotiatedFeatures() & virtio::F_CSUM, 0u) << "the tap backend offers VIRTIO_NET_F_CSUM";
    std::uint8_t hostMac[6] = {};
    ASSERT_TRUE(askHostMac(*nic, hostMac));
    auto sendEcho = [&](std::uint16_t sequence, bool offload) {
        std::vector<std::uint8_t> frame = mqEchoRequest(nic->hardwareAddress(), hostMac, 0x0ff1, sequence);
        frame[14 + 20 + 2] = frame[14 + 20 + 3] = 0;  // ICMP checksum: 0, to be computed (no pseudo-header)
        NetbufOffload request;
        if (offload) {
            request.flags = NetbufOffload::kNeedsChecksum;
            request.csumStart = 14 + 20;
            request.csumOffset = 2;
        }
        return sendWithOffload(*nic, frame, request);
    };
    auto replyTo = [](std::uint16_t sequence) {
        return [sequence](const std::uint8_t* f, std::size_t n) {
            return isIpv4From(f, n, 1) && f[34] == 0 && ((f[40] << 8) | f[41]) == sequence;
        };
    };
    ASSERT_TRUE(sendEcho(1, false));
    EXPECT_FALSE(receiveUntil(*nic, replyTo(1), 1500ms)) << "a zero ICMP checksum must be dropped by the kernel";
    for (std::uint16_t sequence = 2; sequence <= 4; ++sequence) {
        ASSERT_TRUE(sendEcho(sequence, true));
        EXPECT_TRUE(receiveUntil(*nic, replyTo(sequence))) << "offloaded checksum, echo " << sequence;
    }
}

// TCP segmentation offload (VIRTIO_NET_F_HOST_TSO4) on the tap backend: one 1800-byte TCP segment,
// larger than the 1500-byte MTU, sent as a GSO frame (gso_size 1000, checksum left to the device)
// to 10.77.1.1, which the namespace routes back to the guest. Forwarding it, the kernel cuts it into
// 1000 + 800 bytes (the guest negotiated no GSO receive) with correct checksums; the same frame
// without the GSO request is over the MTU with DF set, and the kernel answers "fragmentation needed".
TEST(VfioMultiqueue, TcpSegmentLargerThanTheMtuIsCutByGso) {
    auto nic = openMultiqueueNic(1);
    ASSERT_TRUE(nic);
    ASSERT_NE(nic->negotiatedFeatures() & virtio::F_HOST_TSO4, 0u) << "the tap backend offers VIRTIO_NET_F_HOST_TSO4";
    std::uint8_t hostMac[6] = {};
    ASSERT_TRUE(askHostMac(*nic, hostMac));
    constexpr unsigned kPayload = 1800, kTcp = 14 + 20;
    constexpr std::uint8_t kFarIp[4] = {10, 77, 1, 1};
    auto segment = [&](std::uint32_t sequence) {
        std::vector<std::uint8_t> f(kTcp + 20 + kPayload, 0);
        std::memcpy(f.data(), hostMac, 6);
        std::memcpy(f.data() + 6, nic->hardwareAddress().bytes.data(), 6);
        f[12] = 0x08, f[13] = 0x00;
        std::uint8_t* ip = f.data() + 14;
        const unsigned ipLength = 20 + 20 + kPayload;
        ip[0] = 0x45, ip[2] = ipLength >> 8, ip[3] = ipLength & 0xff, ip[6] = 0x40, ip[8] = 64, ip[9] = 6;
        std::memcpy(ip + 12, kMqGuestIp, 4);
        std::memcpy(ip + 16, kFarIp, 4);
        std::uint16_t c = internetChecksum(ip, 20);
        ip[10] = c >> 8, ip[11] = c & 0xff;
        std::uint8_t* tcp = f.data() + kTcp;
        tcp[0] = 40001 >> 8, tcp[1] = 40001 & 0xff, tcp[3] = 9;
        for (int i = 0; i < 4; ++i) tcp[4 + i] = static_cast<std::uint8_t>(sequence >> (24 - 8 * i));
        tcp[12] = 5 << 4, tcp[13] = 0x18, tcp[14] = tcp[15] = 0xff;  // PSH ACK
        for (unsigned i = 0; i < kPayload; ++i) tcp[20 + i] = static_cast<std::uint8_t>(i);
        // The checksum field holds the pseudo-header sum (not complemented): the device adds the rest.
        std::uint32_t sum = ((kMqGuestIp[0] << 8) | kMqGuestIp[1]) + ((kMqGuestIp[2] << 8) | kMqGuestIp[3]) +
            ((kFarIp[0] << 8) | kFarIp[1]) + ((kFarIp[2] << 8) | kFarIp[3]) + 6 + 20 + kPayload;
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        tcp[16] = static_cast<std::uint8_t>(sum >> 8), tcp[17] = static_cast<std::uint8_t>(sum);
        return f;
    };
    auto send = [&](std::uint32_t sequence, bool gso) {
        NetbufOffload request;
        request.flags = NetbufOffload::kNeedsChecksum;
        request.csumStart = kTcp;
        request.csumOffset = 16;
        if (gso) {
            request.gsoType = NetbufOffload::kGsoTcpV4;
            request.gsoSize = 1000;
        }
        return sendWithOffload(*nic, segment(sequence), request);  // the pool's buffers hold 2048 bytes
    };
    // Without GSO: too big to forward, DF set: ICMP destination unreachable, fragmentation needed.
    ASSERT_TRUE(send(0x1000, false));
    EXPECT_TRUE(receiveUntil(*nic, [](const std::uint8_t* r, std::size_t n) {
        return isIpv4From(r, n, 1) && r[34] == 3 && r[35] == 4;
    })) << "no 'fragmentation needed' for an 1840-byte DF packet";
    // With GSO: the forwarded segments come back, 1000 and 800 bytes, with valid TCP checksums.
    ASSERT_TRUE(send(0x2000, true));
    std::map<std::uint32_t, unsigned> segments;  // sequence -> payload bytes
    unsigned badChecksums = 0, partial = 0;
    auto deadline = std::chrono::steady_clock::now() + 3s;
    Netbuf* burst[32];
    while (segments.size() < 2 && std::chrono::steady_clock::now() < deadline) {
        unsigned got = nic->receive(0, burst, 32);
        for (unsigned i = 0; i < got; ++i) {
            Netbuf* nb = burst[i];
            std::uint8_t* r = nb->data();
            const std::size_t n = nb->size();
            bool ours = n >= 54 && r[12] == 0x08 && r[13] == 0x00 && r[23] == 6 && std::memcmp(r + 30, kFarIp, 4) == 0;
            const unsigned ipLength = ours ? (r[16] << 8) | r[17] : 0, headerLength = (r[14] & 0x0f) * 4u;
            if (ours && ipLength + 14u <= n) {
                // A partial checksum (NEEDS_CSUM) is completed as a receiving stack would: the sum
                // from csumStart to the end (the field holds the pseudo-header part) goes into it.
                const NetbufOffload& offload = nb->offload();
                if (offload.needsChecksum() && offload.csumStart < 14u + ipLength) {
                    partial++;
                    std::uint16_t c = internetChecksum(r + offload.csumStart, 14u + ipLength - offload.csumStart);
                    r[offload.csumStart + offload.csumOffset] = c >> 8;
                    r[offload.csumStart + offload.csumOffset + 1] = c & 0xff;
                }
                // Then checked independently: pseudo-header + segment must sum to zero.
                std::uint8_t* t = r + 14 + headerLength;
                const unsigned tcpLength = ipLength - headerLength;
                std::vector<std::uint8_t> pseudo(r + 26, r + 34);
                pseudo.push_back(0), pseudo.push_back(6), pseudo.push_back(tcpLength >> 8),
                    pseudo.push_back(tcpLength & 0xff);
                pseudo.insert(pseudo.end(), t, t + tcpLength);
                if (internetChecksum(pseudo.data(), pseudo.size()) != 0) badChecksums++;
                std::uint32_t sequence = (std::uint32_t{t[4]} << 24) | (t[5] << 16) | (t[6] << 8) | t[7];
                segments[sequence] = tcpLength - (t[12] >> 4) * 4u;
            }
            nb->free();
        }
        nic->send(0, nullptr, 0);
    }
    std::printf("gso: %zu segments back, %u with a partial checksum completed here\n", segments.size(), partial);
    EXPECT_EQ(badChecksums, 0u);
    ASSERT_EQ(segments.size(), 2u) << "the GSO frame was not forwarded as two segments";
    EXPECT_EQ(segments[0x2000], 1000u);
    EXPECT_EQ(segments[0x2000 + 1000], 800u);
}
