#pragma once
/// @file KernelTransport.h
/// @brief KernelTransport: kernel sockets, served in io_uring or epoll mode (sio_mode()).

#include "sio/SioTransport.h"

namespace nexnet::sio {

/// Claims every kernel socket (a descriptor whose fstat says S_IFSOCK) and serves it with a
/// UringSocket in io_uring mode or an EpollSocket in epoll mode (Mode decides, once).
class KernelTransport : public SioTransport {
public:
    const char* name() const override;
    bool claims(int fd) const override;
    Result<std::unique_ptr<SioSocket>> open(int fd) override;
};

}  // namespace nexnet::sio
