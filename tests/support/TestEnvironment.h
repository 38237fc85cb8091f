#pragma once
/// @file TestEnvironment.h
/// @brief What a test needs from the machine (root, tun, namespaces, tools), and the CI rule:
/// a test that cannot run here skips with a one-line reason, except under CI=true, where a
/// skip is a failure.

#include <gtest/gtest.h>

#include <string>

namespace nexnet::test {

/// True when the CI variable is "true" (CI must run every test).
bool inCi();
/// True when running as root (uid 0).
bool isRoot();
/// True when /dev/net/tun can be opened.
bool hasTun();
/// True when @p program is on PATH.
bool hasProgram(const std::string& program);
/// Empty when root, tun and network namespaces are usable, else the reason they are not.
std::string kernelPeerUnavailableReason();

}  // namespace nexnet::test

/// Skips the test with @p reason unless @p condition holds; under CI=true it fails instead.
/// A macro because GTEST_SKIP and FAIL must return from the test body itself.
#define NEXNET_REQUIRE(condition, reason)                                                  \
    do {                                                                                   \
        if (!(condition)) {                                                                \
            if (::nexnet::test::inCi()) FAIL() << "CI=true, but cannot run: " << (reason); \
            GTEST_SKIP() << (reason);                                                      \
        }                                                                                  \
    } while (0)

/// Requires root, /dev/net/tun and network namespaces (the Linux kernel as a peer).
#define NEXNET_REQUIRE_KERNEL_PEER()                                           \
    do {                                                                       \
        std::string nexnetWhy = ::nexnet::test::kernelPeerUnavailableReason(); \
        NEXNET_REQUIRE(nexnetWhy.empty(), nexnetWhy);                          \
    } while (0)
