#include "netif/DescriptorWrite.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace nexnet {

int writeAll(int fd, const void* data, std::size_t size, int timeoutMilliseconds) {
    const auto* bytes = static_cast<const char*>(data);
    bool socket = true;
    while (size > 0) {
        ssize_t n = socket ? ::send(fd, bytes, size, MSG_NOSIGNAL) : ::write(fd, bytes, size);
        if (n < 0 && errno == ENOTSOCK && socket) {
            socket = false;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            pollfd room{fd, POLLOUT, 0};
            int ready = ::poll(&room, 1, timeoutMilliseconds);
            if (ready == 0) return ETIMEDOUT;
            if (ready < 0 && errno != EINTR) return errno;
            continue;
        }
        if (n < 0) return errno;
        bytes += n;
        size -= static_cast<std::size_t>(n);
    }
    return 0;
}

}  // namespace nexnet
