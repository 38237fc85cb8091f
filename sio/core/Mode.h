#pragma once
/// @file Mode.h
/// @brief Mode: which transport kernel sockets use (io_uring or epoll), found by probing the
/// running kernel, and why.

#include <mutex>
#include <string>

namespace nexnet::sio {

/// What the running kernel's io_uring offers, probed once (the kernel may be newer or older
/// than the headers nexnet was built with, and may forbid io_uring).
struct UringFeatures {
    /// io_uring_setup works.
    bool available = false;
    /// Provided-buffer rings (IORING_REGISTER_PBUF_RING, Linux 5.19).
    bool bufferRings = false;
    /// Multishot recv/recvmsg (IORING_RECV_MULTISHOT, Linux 6.0).
    bool multishotReceive = false;
    /// IORING_OP_SEND_ZC and IORING_OP_SENDMSG_ZC (Linux 6.0).
    bool sendZeroCopy = false;
    /// The notification of a zero-copy send can say whether the kernel copied after all
    /// (IORING_SEND_ZC_REPORT_USAGE, Linux 6.2).
    bool zeroCopyReport = false;
    /// The errno io_uring_setup failed with (0 when it worked).
    int setupError = 0;
};

/// Decides, on first use, whether kernel sockets run on io_uring or on epoll with
/// recvmmsg/sendmmsg, and keeps the sentence that says why (sio_mode_message).
///
/// io_uring mode needs io_uring_setup to work (not disabled by sysctl kernel.io_uring_disabled,
/// not refused by a seccomp profile), provided-buffer rings and multishot receive (the paper's
/// "the implementation chooses the receive buffer"). Zero-copy send (SEND_ZC) is used when
/// present; without it sends copy, and the message says so. NEXNET_SIO_MODE=epoll in the
/// environment forces epoll mode.
class Mode {
public:
    /// The one instance.
    static Mode& instance();
    /// SIO_MODE_URING or SIO_MODE_EPOLL.
    int current();
    /// Why (a sentence).
    std::string message();
    /// What io_uring offers here (probed once).
    const UringFeatures& features();
    /// Switches mode; @p socketsInUse must be 0. @return 0, or an errno (EBUSY, EINVAL,
    /// ENOTSUP with the message saying what io_uring lacks).
    int set(int mode, std::size_t socketsInUse);
    /// Why io_uring mode cannot run here ("" when it can).
    std::string uringMissing();

private:
    Mode() = default;
    void probeOnce();

    std::mutex mutex_;
    bool probed_ = false;
    int mode_ = 0;
    std::string message_;
    std::string uringMissing_;  // why io_uring mode cannot run, "" when it can
    UringFeatures features_;
};

}  // namespace nexnet::sio
