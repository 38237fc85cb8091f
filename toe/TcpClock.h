#pragma once
/// @file TcpClock.h
/// @brief The clock of the TCP offload engine: CLOCK_MONOTONIC, as Linux's TCP uses.

#include <cstdint>
#include <ctime>

namespace nexnet {

/// Microseconds of CLOCK_MONOTONIC (a vDSO read, no system call): the engine's timers and RTT
/// samples. Linux's TCP timestamps run on the same clock in milliseconds (tcp_clock_ms), so the
/// engine continues a socket's TCP_TIMESTAMP by adding the offset between the two.
inline std::uint64_t tcpClockMicroseconds() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(now.tv_nsec) / 1000;
}

}  // namespace nexnet
