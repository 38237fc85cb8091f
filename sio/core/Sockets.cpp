// Stage-1 placeholder: no sockets yet.
#include "sio/core/EventSource.h"
#include "sio/core/Memory.h"

namespace nexnet::sio {
bool deliverFrom(std::uintptr_t, Channel&) { return false; }
bool recycleTo(std::uintptr_t, Memory&, std::size_t) { return false; }
}  // namespace nexnet::sio
