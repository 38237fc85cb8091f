// VM test: nexnet-sample (the sample ethernet host) on a VFIO NIC, answering ARP, ping and UDP
// echo sent by nexnet's own driver on the other NIC of the same QEMU hub. Run by
// tests/vm/run-guest.sh --nics 2 --file nexnet-sample (see tests/vm/CMakeLists.txt).

#include "GuestFrames.h"
#include "drivers/BuiltinDrivers.h"
#include "drivers/vfio/VfioDriver.h"
#include "framework/IOEthernet.h"
#include "support/FrameBuilder.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

using namespace nexnet;
using namespace nexnet::test;
using namespace std::chrono_literals;

namespace {

const FrameBuilder::Ip kSampleIp{10, 77, 0, 2};
const FrameBuilder::Ip kPeerIp{10, 77, 0, 1};

FrameBuilder::Mac macOf(const EthernetAddress& address) {
    FrameBuilder::Mac mac;
    std::memcpy(mac.data(), address.bytes.data(), 6);
    return mac;
}

/// nexnet-sample on vfio:BDF in a child process, stopped with SIGINT and reaped when destroyed.
class SampleProcess {
public:
    explicit SampleProcess(const std::string& uri) {
        pid_ = fork();
        if (pid_ == 0) {
            execl("/test/nexnet-sample", "nexnet-sample", "--driver", uri.c_str(), "--ip", "10.77.0.2/24", "--duration",
                  "120", "--quiet", nullptr);
            _exit(127);
        }
    }
    ~SampleProcess() { stop(); }
    /// Stops the sample; @return its exit status, or -1.
    int stop() {
        if (pid_ <= 0) return status_;
        kill(pid_, SIGINT);
        int status = 0;
        if (waitpid(pid_, &status, 0) == pid_ && WIFEXITED(status)) status_ = WEXITSTATUS(status);
        pid_ = -1;
        return status_;
    }
    bool started() const { return pid_ > 0; }

private:
    pid_t pid_ = -1;
    int status_ = -1;
};

}  // namespace

TEST(VfioSample, SampleAnswersArpPingAndUdpFromTheOtherNic) {
    ASSERT_EQ(access("/test/nexnet-sample", X_OK), 0) << "run with --file nexnet-sample";
    const std::vector<std::string> bdfs = allBdfs();
    ASSERT_GE(bdfs.size(), 2u) << "run with --nics 2";
    SampleProcess sample("vfio:" + bdfs[0]);
    ASSERT_TRUE(sample.started());
    auto opened = builtinDrivers().open("vfio:" + bdfs[1]);
    ASSERT_TRUE(opened.ok()) << opened.message();
    std::unique_ptr<IOEthernet> peer(dynamic_cast<IOEthernet*>(opened->release()));
    ASSERT_TRUE(peer);
    ASSERT_EQ(peer->resetAndEnable(true), 0);
    const FrameBuilder::Mac self = macOf(peer->hardwareAddress());

    // ARP: the sample takes its time to start; ask until it answers (at most 20 s under TCG).
    FrameBuilder::Mac sampleMac{};
    auto isArpReply = [&](const std::uint8_t* f, std::size_t n) {
        if (n < 42 || f[12] != 0x08 || f[13] != 0x06 || f[21] != 2 || std::memcmp(f + 28, kSampleIp.data(), 4) != 0)
            return false;
        std::memcpy(sampleMac.data(), f + 22, 6);
        return true;
    };
    bool answered = false;
    for (int i = 0; i < 100 && !answered; ++i) {
        ASSERT_TRUE(sendFrame(*peer, FrameBuilder::arpRequest(self, kPeerIp, kSampleIp)));
        answered = receiveUntil(*peer, isArpReply, 200ms);
    }
    ASSERT_TRUE(answered) << "no ARP reply from nexnet-sample on vfio:" << bdfs[0];

    // Ping: every echo request answered with its sequence number and payload.
    const FrameBuilder::Frame data(56, 0x5a);
    for (std::uint16_t sequence = 1; sequence <= 10; ++sequence) {
        ASSERT_TRUE(
            sendFrame(*peer, FrameBuilder::icmpEcho(sampleMac, self, kPeerIp, kSampleIp, 0x77, sequence, data)));
        auto isReply = [&](const std::uint8_t* f, std::size_t n) {
            return n >= 42 + data.size() && f[12] == 0x08 && f[13] == 0x00 && f[23] == 1 && f[34] == 0 &&
                std::memcmp(f + 26, kSampleIp.data(), 4) == 0 && ((f[40] << 8) | f[41]) == sequence &&
                std::memcmp(f + 42, data.data(), data.size()) == 0;
        };
        EXPECT_TRUE(receiveUntil(*peer, isReply)) << "echo reply " << sequence;
    }

    // UDP echo on port 7: the payload comes back to the sending port.
    const FrameBuilder::Frame payload = {'n', 'e', 'x', 'n', 'e', 't', '-', 'v', 'f', 'i', 'o'};
    ASSERT_TRUE(sendFrame(*peer, FrameBuilder::udp(sampleMac, self, kPeerIp, kSampleIp, 40000, 7, payload)));
    auto isEcho = [&](const std::uint8_t* f, std::size_t n) {
        return n >= 42 + payload.size() && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17 &&
            ((f[36] << 8) | f[37]) == 40000 && std::memcmp(f + 42, payload.data(), payload.size()) == 0;
    };
    EXPECT_TRUE(receiveUntil(*peer, isEcho)) << "no UDP echo";
    EXPECT_EQ(sample.stop(), 0) << "nexnet-sample must end cleanly on SIGINT";
}
