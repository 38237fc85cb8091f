#pragma once
/// @file PcapLiveDriver.h
/// @brief PcapLiveDriver ("pcap-live:IFNAME"): receives and sends on a live Linux interface
/// through libpcap.

#include "framework/DriverRegistry.h"
#include "framework/IOEthernet.h"

#include <cstdint>
#include <memory>
#include <string>

struct pcap;
struct pcap_pkthdr;

namespace nexnet {

/// A driver over an existing Linux Ethernet interface, through libpcap: frames are read from a
/// non-blocking, immediate-mode capture handle (pcap_dispatch, TPACKET_V3 ring under libpcap),
/// sent with pcap_inject, and the handle's pcap_get_selectable_fd() is the interrupt descriptor.
/// The portable, slow path to a real interface (one syscall per sent frame); SampleEthernet and
/// the VFIO driver are the fast ones.
///
/// URI: `pcap-live:IFNAME[,promisc=0|1][,pool=N]`
/// - promisc: receive frames for any address (default 1).
/// - pool: netbufs in the driver's pool (default 4096).
///
/// The driver takes the interface's hardware address as its own and receives inbound frames
/// only (PCAP_D_IN), so it does not hear what it sends. Timestamps are nanoseconds from the
/// kernel. A frame longer than the pool's data room is dropped and counted, never cut. Opening
/// needs CAP_NET_RAW.
///
/// One queue pair (one libpcap handle), so one thread: with several workers only worker 0 runs it.
class PcapLiveDriver : public IOEthernet {
public:
    /// What to open.
    struct Options {
        std::string interfaceName;      ///< Linux interface ("eth0", "veth1").
        bool promiscuous = true;        ///< Receive frames for any address.
        std::uint32_t poolSize = 4096;  ///< Netbufs in the driver's pool.
    };

    /// Opens @p options.interfaceName. Errors: ENODEV (no such interface), EPERM (no
    /// CAP_NET_RAW), ENETDOWN (interface down), EPROTONOSUPPORT (not Ethernet), EIO (other
    /// libpcap errors), EINVAL (bad options). @p message, when not null, receives libpcap's text.
    static Result<std::unique_ptr<PcapLiveDriver>> create(const Options& options, std::string* message = nullptr);
    /// Registers "pcap-live:" with @p registry; the factory's failures carry create()'s message.
    static int registerWith(DriverRegistry& registry);
    ~PcapLiveDriver() override;

    /// Starts or stops the capture.
    int resetAndEnable(bool enable) override;
    unsigned maxMtu() const override;
    /// pcap_get_selectable_fd(): readable when frames wait.
    int interruptEventFd(unsigned queue) const override;
    /// Always 0: the descriptor is readable whenever frames wait, nothing to switch.
    int setInterruptsEnabled(unsigned queue, bool enabled) override;

    /// Frames dropped because they did not fit the pool's data room.
    std::uint64_t oversizeDrops() const { return oversizeDrops_; }

protected:
    /// The frames libpcap has (one pcap_dispatch), each copied into a netbuf with its capture
    /// time. Frames too long for a netbuf, or with the pool empty, are reported as receive drops.
    unsigned receiveBurst(unsigned queue, Netbuf** out, unsigned max) override;
    /// Sends each frame with pcap_inject; stops at the first the kernel refuses for lack of room
    /// (the caller keeps it); a frame refused for another reason is reported as a transmit error
    /// and freed.
    unsigned transmitBurst(unsigned queue, Netbuf** packets, unsigned count) override;

private:
    explicit PcapLiveDriver(const Options& options);
    static void onFrame(unsigned char* context, const pcap_pkthdr* header, const unsigned char* bytes);

    Options options_;
    pcap* live_ = nullptr;
    int selectableFd_ = -1;
    std::uint32_t dataRoom_ = 0;
    std::uint64_t oversizeDrops_ = 0;
    // The burst being filled by onFrame (valid during receiveBurst only).
    Netbuf** burst_ = nullptr;
    unsigned burstCount_ = 0;
    unsigned queue_ = 0;
};

}  // namespace nexnet
