#include "framework/IODevice.h"

#include "framework/EventLoop.h"

#include <cerrno>

namespace nexnet {

IODevice::~IODevice() { clearTimeout(); }

int IODevice::attachToEventLoop(EventLoop* loop) {
    clearTimeout();
    eventLoop_ = loop;
    return eventLoopChanged();
}

int IODevice::eventLoopChanged() { return 0; }

void IODevice::timeoutOccurred() {}

int IODevice::setRelativeTimeout(std::chrono::milliseconds delay) {
    if (eventLoop_ == nullptr) return ENXIO;
    clearTimeout();
    auto timer = eventLoop_->addTimer(delay, [this] {
        timeout_ = 0;
        timeoutOccurred();
    });
    if (!timer) return timer.error();
    timeout_ = timer.value();
    return 0;
}

void IODevice::clearTimeout() {
    if (timeout_ != 0 && eventLoop_ != nullptr) eventLoop_->cancelTimer(timeout_);
    timeout_ = 0;
}

}  // namespace nexnet
