#pragma once
/// @file SioDescriptor.h
/// @brief SioDescriptor: a socket used with the sio calls (sio.h), for C++: receives return
/// SioBuffer objects, sio_close when it goes.

#include "netbuf/Result.h"
#include "sio/SioBuffer.h"
#include "sio/sio.h"

#include <cerrno>
#include <cstddef>
#include <utility>

namespace nexnet {

/// Owns a socket descriptor used with the sio calls: sio_close when it goes. Movable, not
/// copyable.
class SioDescriptor {
public:
    /// Owns @p fd (a socket).
    explicit SioDescriptor(int fd = -1) : fd_(fd) {}
    /// Takes over @p other's descriptor.
    SioDescriptor(SioDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    /// Closes its descriptor, takes over @p other's.
    SioDescriptor& operator=(SioDescriptor&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    SioDescriptor(const SioDescriptor&) = delete;
    SioDescriptor& operator=(const SioDescriptor&) = delete;
    /// sio_close.
    ~SioDescriptor() { reset(); }

    /// The descriptor.
    int fd() const { return fd_; }

    /// sio_recvfrom: the next datagram (or stream bytes), at most @p size bytes, in a buffer
    /// the implementation chose (released when the SioBuffer goes); @p from / @p fromLength as
    /// recvfrom(2) (may be null). Errors: as sio_recvfrom.
    Result<SioBuffer> receive(std::size_t size = 65536, int flags = 0, sockaddr* from = nullptr,
                              socklen_t* fromLength = nullptr) {
        void* data;
        ssize_t n = sio_recvfrom(fd_, &data, size, flags, from, fromLength);
        if (n < 0) return Result<SioBuffer>::failure(errno);
        return SioBuffer(dma_find(data), data, static_cast<std::size_t>(n));
    }

    /// sio_sendto of @p length bytes of @p buffer (to @p to, or the connected peer when null).
    /// @return bytes sent, or the errno.
    Result<std::size_t> send(const SioBuffer& buffer, std::size_t length, int flags = 0, const sockaddr* to = nullptr,
                             socklen_t toLength = 0) {
        ssize_t n = sio_sendto(fd_, buffer.data(), length, flags, to, toLength);
        if (n < 0) return Result<std::size_t>::failure(errno);
        return static_cast<std::size_t>(n);
    }

private:
    void reset() {
        if (fd_ >= 0) sio_close(fd_);
        fd_ = -1;
    }
    int fd_;
};

}  // namespace nexnet
