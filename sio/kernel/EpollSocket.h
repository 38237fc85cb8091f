#pragma once
/// @file EpollSocket.h
/// @brief EpollSocket: a kernel socket served with epoll and recvmmsg/sendmmsg (epoll mode).

#include "sio/kernel/KernelSocket.h"

namespace nexnet::sio {

/// Placeholder until epoll mode lands.
class EpollSocket : public KernelSocket {
public:
    /// State for socket @p fd.
    EpollSocket(int fd, int type, int family) : KernelSocket(fd, type, family) {}
    ssize_t send(const msghdr&, int) override { return -1; }
    int submit(sio_aiocb&) override { return -1; }
    void progress(bool) override {}
    void shutDown() override {}
    void deliver(Channel&) override {}
    int eventDescriptor(bool) const override { return -1; }

protected:
    void lend(std::uint32_t) override {}
    void stopReceiving() override {}
    void resumeReceiving() override {}
    int collect(std::unique_lock<std::mutex>&, bool) override { return ENOTSUP; }
};

}  // namespace nexnet::sio
