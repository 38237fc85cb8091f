#include "sio/kernel/KernelTransport.h"

#include "sio/core/Failure.h"
#include "sio/core/Mode.h"
#include "sio/kernel/EpollSocket.h"
#include "sio/kernel/UringSocket.h"
#include "sio/sio.h"

#include <cerrno>
#include <sys/socket.h>
#include <sys/stat.h>

namespace nexnet::sio {

const char* KernelTransport::name() const {
    return Mode::instance().current() == SIO_MODE_URING ? "io_uring" : "epoll";
}

bool KernelTransport::claims(int fd) const {
    struct stat st {};
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

Result<std::unique_ptr<SioSocket>> KernelTransport::open(int fd) {
    int type = 0, family = 0;
    socklen_t length = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0)
        return Result<std::unique_ptr<SioSocket>>::failure(errno);
    length = sizeof family;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &length) != 0)
        return Result<std::unique_ptr<SioSocket>>::failure(errno);
    if (type != SOCK_DGRAM && type != SOCK_STREAM && type != SOCK_SEQPACKET) {
        fail(ENOTSUP, "socket %d: type %d is neither datagram nor stream", fd, type);
        return Result<std::unique_ptr<SioSocket>>::failure(ENOTSUP);
    }
    if (Mode::instance().current() == SIO_MODE_URING)
        return std::unique_ptr<SioSocket>(std::make_unique<UringSocket>(fd, type, family));
    return std::unique_ptr<SioSocket>(std::make_unique<EpollSocket>(fd, type, family));
}

}  // namespace nexnet::sio
