#pragma once
/// @file XdpProgram.h
/// @brief XdpProgram: the XDP program that steers an interface's frames to the xdp: driver's sockets.

#include "netbuf/Result.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct bpf_object;

namespace nexnet {

/// Where the kernel runs an XDP program: in the NIC driver (native) or on socket buffers after the
/// driver made them (generic, any interface, slower).
enum class XdpAttachMode { native, generic };

/// One rule of the filter mode: frames to destination @p port of @p protocol (IPPROTO_UDP or
/// IPPROTO_TCP, over IPv4 or IPv6) go to nexnet.
struct XdpFilterRule {
    std::uint8_t protocol = 0;  ///< IPPROTO_UDP or IPPROTO_TCP.
    std::uint16_t port = 0;     ///< Destination port, host order.
    /// Equal when protocol and port are.
    bool operator==(const XdpFilterRule&) const = default;
};

/// The XDP program of one XdpDriver (drivers/xdp/bpf/nexnet_xsk.bpf.c, compiled at build time and
/// embedded in the library), loaded with libbpf and attached to the interface through a BPF link.
///
/// What goes to nexnet: a frame is redirected to the AF_XDP socket of the queue it arrived on when
/// that queue has one in the program's XSKMAP (addSocket), and passed to the kernel otherwise
/// (Documentation/networking/af_xdp.rst, "XSKMAP / BPF_MAP_TYPE_XSKMAP"). Without filter rules
/// (program nexnet_queue) whole queues go to nexnet; with rules (nexnet_filter) only matching UDP
/// or TCP frames do, and the kernel keeps everything else on those queues too.
///
/// Cleanup, also after a crash: the program is attached through a BPF link (BPF_LINK_CREATE,
/// Linux 5.9) that is never pinned, so the link's only reference is this process's file
/// descriptor. When the descriptor closes, by the destructor or because the process died of
/// anything, SIGKILL included, the kernel detaches the program and frees it with its maps. Nothing
/// is left on the interface or in bpffs, and there is nothing to clean at the next start. The cost:
/// the interface's XDP hook is ours alone while we run (libxdp's dispatcher, which chains programs,
/// pins them in bpffs and leaves them attached when its process is killed).
///
/// Threading: control path only (open, up, down, close); never on the data path.
class XdpProgram {
public:
    /// Most filter rules.
    static constexpr unsigned kMaxFilterRules = 16;

    /// Loads the program (nexnet_filter with @p filter's rules, nexnet_queue when it is empty)
    /// with an XSKMAP of @p queueSlots entries (queue ids 0 to queueSlots - 1), not yet attached.
    /// Errors: EPERM (no CAP_BPF / CAP_NET_ADMIN), EINVAL (more than kMaxFilterRules rules), or
    /// the kernel's errno; @p message says what failed, with libbpf's log.
    static Result<std::unique_ptr<XdpProgram>> load(const std::vector<XdpFilterRule>& filter, unsigned queueSlots,
                                                    std::string& message);
    /// Detaches the program (closes the link) and frees it.
    ~XdpProgram();
    XdpProgram(const XdpProgram&) = delete;
    XdpProgram& operator=(const XdpProgram&) = delete;

    /// Attaches the program to interface @p ifindex in @p mode. Errors: EOPNOTSUPP (no native XDP
    /// in the interface's driver), EBUSY or EEXIST (the interface has an XDP program already),
    /// EPERM (no CAP_NET_ADMIN), or the kernel's errno; @p message says which.
    int attach(unsigned ifindex, const std::string& interface, XdpAttachMode mode, std::string& message);
    /// Puts the AF_XDP socket @p socketFd in the XSKMAP at @p queue: that queue's frames go to it.
    /// @return 0 or the errno of the map update.
    int addSocket(unsigned queue, int socketFd);
    /// Removes the socket of @p queue: its frames go back to the kernel. @return 0 or an errno.
    int removeSocket(unsigned queue);

    /// "nexnet_queue" or "nexnet_filter".
    const char* name() const { return filters_ ? "nexnet_filter" : "nexnet_queue"; }
    /// True when only frames matching the filter rules are redirected.
    bool filters() const { return filters_; }
    /// The mode attach() used.
    XdpAttachMode mode() const { return mode_; }
    /// The kernel's id of the program (bpftool prog show id N), 0 before loading.
    std::uint32_t programId() const { return programId_; }
    /// The kernel's id of the link (bpftool link show id N), 0 before attach().
    std::uint32_t linkId() const { return linkId_; }

private:
    XdpProgram() = default;

    bpf_object* object_ = nullptr;
    int programFd_ = -1;
    int socketsFd_ = -1;
    int linkFd_ = -1;
    bool filters_ = false;
    XdpAttachMode mode_ = XdpAttachMode::native;
    std::uint32_t programId_ = 0;
    std::uint32_t linkId_ = 0;
};

}  // namespace nexnet
