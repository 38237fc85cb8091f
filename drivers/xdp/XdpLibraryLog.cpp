#include "drivers/xdp/XdpLibraryLog.h"

#include <cstdarg>
#include <cstdio>

namespace nexnet {

namespace {

constexpr std::size_t kMaxLog = 4096;  // a verifier log can be long: its start says what failed
thread_local std::string* tTarget = nullptr;

void append(const char* format, va_list arguments) {
    if (tTarget == nullptr || tTarget->size() >= kMaxLog) return;
    char line[512];
    std::vsnprintf(line, sizeof line, format, arguments);
    tTarget->append(line);
}

int fromLibbpf(enum libbpf_print_level level, const char* format, va_list arguments) {
    if (level != LIBBPF_DEBUG) append(format, arguments);
    return 0;
}

int fromLibxdp(enum libxdp_print_level level, const char* format, va_list arguments) {
    if (level != LIBXDP_DEBUG) append(format, arguments);
    return 0;
}

}  // namespace

XdpLibraryLog::XdpLibraryLog(std::string& into)
    : previousLibbpf_(libbpf_set_print(fromLibbpf)),
      previousLibxdp_(libxdp_set_print(fromLibxdp)),
      previousTarget_(tTarget) {
    tTarget = &into;
}

XdpLibraryLog::~XdpLibraryLog() {
    tTarget = previousTarget_;
    libbpf_set_print(previousLibbpf_);
    libxdp_set_print(previousLibxdp_);
}

}  // namespace nexnet
