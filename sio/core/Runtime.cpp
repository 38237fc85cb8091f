#include "sio/core/Runtime.h"

namespace nexnet::sio {

Runtime& Runtime::instance() {
    // Never destroyed: objects the program still holds at exit must stay valid for its other
    // threads and atexit handlers.
    static Runtime* runtime = new Runtime();
    return *runtime;
}

void Runtime::addRange(std::uintptr_t handle, const void* start, std::size_t bytes) {
    std::unique_lock<std::shared_mutex> lock(rangesLock_);
    ranges_.push_back({handle, static_cast<const std::uint8_t*>(start), bytes});
}

void Runtime::removeRange(std::uintptr_t handle) {
    std::unique_lock<std::shared_mutex> lock(rangesLock_);
    std::erase_if(ranges_, [&](const Range& r) { return r.handle == handle; });
}

std::uintptr_t Runtime::findMemory(const void* p) {
    auto byte = static_cast<const std::uint8_t*>(p);
    std::shared_lock<std::shared_mutex> lock(rangesLock_);
    for (const Range& r : ranges_)
        if (byte >= r.start && byte < r.start + r.bytes) return r.handle;
    return 0;
}

}  // namespace nexnet::sio
