#include "sio/core/Failure.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace nexnet::sio {

namespace {

// Fixed size: failing must not allocate (it runs when memory may be short).
thread_local char message[256] = "";

}  // namespace

int fail(int error, const char* format, ...) {
    va_list arguments;
    va_start(arguments, format);
    std::vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
    errno = error;
    return -1;
}

int failSystem(int error, const char* call) {
    char text[96];
    return fail(error, "%s: %s", call, strerror_r(error, text, sizeof text));
}

const char* lastFailure() { return message; }

}  // namespace nexnet::sio
