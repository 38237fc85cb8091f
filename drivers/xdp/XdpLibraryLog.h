#pragma once
/// @file XdpLibraryLog.h
/// @brief XdpLibraryLog: what libbpf and libxdp would print, kept for an error message instead.

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <string>

namespace nexnet {

/// For the life of the object, libbpf's and libxdp's warnings on this thread (a verifier log, a
/// refused map) are appended to a string instead of going to stderr: nexnet never prints; the
/// xdp: driver puts them in the message of the error it returns. The previous print functions
/// come back when the object goes.
///
/// Both libraries have one print function per process: while a capture is alive, their messages
/// on other threads are dropped. Captures are short (opening a driver) and never on the data path.
class XdpLibraryLog {
public:
    /// Starts capturing into @p into (appended, at most about 4 KB).
    explicit XdpLibraryLog(std::string& into);
    /// Restores the print functions that were set before.
    ~XdpLibraryLog();
    XdpLibraryLog(const XdpLibraryLog&) = delete;
    XdpLibraryLog& operator=(const XdpLibraryLog&) = delete;

private:
    libbpf_print_fn_t previousLibbpf_;
    libxdp_print_fn_t previousLibxdp_;
    std::string* previousTarget_;
};

}  // namespace nexnet
