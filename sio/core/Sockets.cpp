// Stage-1 placeholder: no sockets yet.
#include "sio/core/EventSource.h"

namespace nexnet::sio {
bool deliverFrom(std::uintptr_t, Channel&) { return false; }
}  // namespace nexnet::sio
