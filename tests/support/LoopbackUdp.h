#pragma once
/// @file LoopbackUdp.h
/// @brief UDP sockets on 127.0.0.1 for the sio tests, and datagram labels.

#include <arpa/inet.h>
#include <cstdio>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>

namespace nexnet::test {

/// A UDP socket bound to 127.0.0.1 on a port the kernel chose; @p address receives where.
inline int loopbackUdpSocket(sockaddr_in& address) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    address = sockaddr_in{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    return fd;
}

/// "x12" for prefix 'x' and 12: a datagram that says which it is. (GCC 12 warns, -Wrestrict, a
/// false positive, about "x" + std::to_string(i).)
inline std::string label(char prefix, std::size_t i) {
    char text[32];
    std::snprintf(text, sizeof text, "%c%zu", prefix, i);
    return text;
}

}  // namespace nexnet::test
