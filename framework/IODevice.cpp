#include "framework/IODevice.h"

namespace nexnet {

IODevice::~IODevice() = default;

int IODevice::attachToEventLoop(EventLoop* loop) {
    eventLoop_ = loop;
    return 0;
}

}  // namespace nexnet
