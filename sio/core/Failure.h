#pragma once
/// @file Failure.h
/// @brief How the C API fails: errno plus a message for the calling thread (sio_last_error).

namespace nexnet::sio {

/// Sets errno to @p error and the calling thread's message (what sio_last_error returns) to
/// the printf-style @p format. @return -1, what the C calls return on failure.
int fail(int error, const char* format, ...) __attribute__((format(printf, 2, 3)));

/// Sets errno and a message naming @p call and @p error's strerror (for failures of the
/// system calls underneath). @return -1.
int failSystem(int error, const char* call);

/// The calling thread's last message ("" when none).
const char* lastFailure();

}  // namespace nexnet::sio
