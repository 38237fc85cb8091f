// The synchronous C API (see sio.h).
#include "sio/sio.h"

#include "sio/core/Failure.h"

extern "C" {

const char* sio_last_error(void) { return nexnet::sio::lastFailure(); }

}  // extern "C"
