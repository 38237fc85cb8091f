#include "sio/nexnet/NexnetEndpoint.h"

#include "drivers/BuiltinDrivers.h"
#include "framework/EventLoop.h"
#include "inet/InetStack.h"
#include "inet/UdpEndpoint.h"
#include "netbuf/Netbuf.h"
#include "netbuf/NetbufPool.h"
#include "netif/NetworkInterface.h"

#include <cerrno>
#include <sys/eventfd.h>
#include <unistd.h>

namespace nexnet::sio {

using Opened = Result<std::unique_ptr<NexnetEndpoint>>;

Result<std::unique_ptr<NexnetEndpoint>> NexnetEndpoint::open(const char* uri, in_addr address, in_addr netmask,
                                                             std::uint16_t port) {
    std::unique_ptr<NexnetEndpoint> self(new NexnetEndpoint);
    auto driver = builtinDrivers().open(uri);
    if (!driver) return Opened::failure(driver);
    self->interface_ = std::make_unique<NetworkInterface>(std::move(driver.value()));
    if (self->interface_->driver().pool() == nullptr)
        return Opened::failure(ENOTSUP, "the driver receives into no pool of its own");
    if (int error = self->interface_->setUp(); error != 0) return Opened::failure(error, "bringing the interface up");
    auto stack = InetStack::create(*self->interface_, InetStack::Options{});
    if (!stack) return Opened::failure(stack);
    self->stack_ = std::move(stack.value());
    if (int error = self->stack_->setAddress(address, netmask); error != 0)
        return Opened::failure(error, "setting the address");
    auto endpoint = UdpEndpoint::open(*self->stack_, in_addr{INADDR_ANY}, port, UdpEndpoint::Options{});
    if (!endpoint) return Opened::failure(endpoint.error(), "binding the UDP port");
    self->endpoint_ = std::move(endpoint.value());
    auto loop = EventLoop::create();
    if (!loop) return Opened::failure(loop);
    self->loop_ = std::move(loop.value());
    self->wakeFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (self->wakeFd_ < 0) return Opened::failure(errno, "eventfd");
    self->queued_.reserve(kMaxQueued);
    self->queuedTo_.reserve(kMaxQueued);
    self->sending_.reserve(kMaxQueued);
    self->sendingTo_.reserve(kMaxQueued);
    self->thread_ = std::thread([raw = self.get()] { raw->run(); });
    // The loop's watches are made on its own thread: wait until they are (or failed).
    int error;
    while ((error = self->startError_.load(std::memory_order_acquire)) < 0) std::this_thread::yield();
    if (error != 0) return Opened::failure(error, "running the interface");  // the destructor joins the thread
    return self;
}

void NexnetEndpoint::run() {
    auto mode = interface_->attach(*loop_, NetworkInterface::Mode::interrupt);
    int error = !mode ? mode.error() : stack_->attach(*loop_);
    if (error == 0) error = loop_->watchReadable(wakeFd_, [this] { flushSends(); });
    startError_.store(error, std::memory_order_release);
    if (error != 0) return;
    loop_->run();
    flushSends();
    stack_->detach();
    interface_->detach();
}

void NexnetEndpoint::stop() {
    if (thread_.joinable()) {
        loop_->stop();
        thread_.join();
    }
    // The interface's thread is gone: this one is the interface's thread now.
    std::lock_guard<std::mutex> lock(sendLock_);
    for (Netbuf* netbuf : queued_) netbuf->free();
    queued_.clear();
    queuedTo_.clear();
}

NexnetEndpoint::~NexnetEndpoint() {
    stop();
    endpoint_.reset();
    stack_.reset();
    interface_.reset();
    loop_.reset();
    if (wakeFd_ >= 0) close(wakeFd_);
}

unsigned NexnetEndpoint::receive(UdpDatagram* out, unsigned max) { return endpoint_->receive(out, max); }

int NexnetEndpoint::readinessFd() const { return endpoint_->readinessFd(); }

std::shared_ptr<NetbufPool> NexnetEndpoint::pool() const { return interface_->driver().sharedPool(); }

std::uint64_t NexnetEndpoint::sendErrors() const {
    return endpoint_->statistics().sendErrors.load(std::memory_order_relaxed);
}

int NexnetEndpoint::send(Netbuf* payload, in_addr destination, std::uint16_t port) {
    bool wasEmpty;
    {
        std::lock_guard<std::mutex> lock(sendLock_);
        if (queued_.size() == kMaxQueued) {
            payload->free();
            return ENOBUFS;
        }
        wasEmpty = queued_.empty();
        queued_.push_back(payload);
        UdpDatagram to;
        to.source = destination;
        to.sourcePort = port;
        queuedTo_.push_back(to);
    }
    // One wake-up per batch: while the queue is not empty the interface's thread has one coming.
    if (wasEmpty) {
        std::uint64_t one = 1;
        [[maybe_unused]] ssize_t n = write(wakeFd_, &one, sizeof one);
    }
    return 0;
}

void NexnetEndpoint::flushSends() {
    std::uint64_t count;
    [[maybe_unused]] ssize_t n = read(wakeFd_, &count, sizeof count);
    {
        std::lock_guard<std::mutex> lock(sendLock_);
        sending_.swap(queued_);
        sendingTo_.swap(queuedTo_);
    }
    // sendBurstTo in bursts the stack takes at once (its Burst holds 64 frames).
    for (std::size_t done = 0; done < sending_.size();) {
        auto burst = static_cast<unsigned>(std::min<std::size_t>(64, sending_.size() - done));
        endpoint_->sendBurstTo(sending_.data() + done, sendingTo_.data() + done, burst);
        done += burst;
    }
    sending_.clear();
    sendingTo_.clear();
}

}  // namespace nexnet::sio
