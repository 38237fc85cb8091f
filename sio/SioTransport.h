#pragma once
/// @file SioTransport.h
/// @brief SioTransport: a kind of descriptor the sio/aio calls serve (kernel sockets, nexnet
/// endpoints), chosen by what the descriptor is.

#include "netbuf/Result.h"

#include <memory>

namespace nexnet {

class SioSocket;

/// Serves the sio/aio calls for one kind of descriptor. The calls ask each transport in turn
/// (the most recently added first) whether it claims a descriptor the first time they see it,
/// and keep the SioSocket the claiming transport opens until sio_close.
///
/// Built in: kernel sockets (io_uring, or epoll with recvmmsg/sendmmsg: sio_mode()). A nexnet
/// UDP endpoint is named by a real descriptor too (so poll works on it); its transport claims
/// exactly the descriptors its endpoints own and is added before the kernel's, so it is asked
/// first.
class SioTransport {
public:
    virtual ~SioTransport() = default;
    /// A short name for messages ("io_uring", "epoll", "nexnet endpoint").
    virtual const char* name() const = 0;
    /// True when this transport serves @p fd. Cheap (a table lookup, an fstat); called once per
    /// descriptor.
    virtual bool claims(int fd) const = 0;
    /// Makes the state for @p fd. Errors: an errno (ENOTSOCK, ENOTSUP with a message set).
    virtual Result<std::unique_ptr<SioSocket>> open(int fd) = 0;
};

/// Adds @p transport; it is asked before the ones added earlier. Thread-safe.
void addSioTransport(std::unique_ptr<SioTransport> transport);

}  // namespace nexnet
