#pragma once
/// @file DescriptorWrite.h
/// @brief writeAll: writes a whole buffer to a file, pipe or socket, waiting for room a bounded time.

#include <cstddef>

namespace nexnet {

/// Writes all @p size bytes of @p data to @p fd: a socket with MSG_NOSIGNAL (a reader that went
/// away is EPIPE, not SIGPIPE), anything else with write(2). On a non-blocking descriptor it
/// waits for room (poll) at most @p timeoutMilliseconds at a time: a reader that stopped reading
/// is ETIMEDOUT. Retries EINTR. For control paths and writer threads, never the data path.
/// @return 0 or the errno.
int writeAll(int fd, const void* data, std::size_t size, int timeoutMilliseconds);

}  // namespace nexnet
