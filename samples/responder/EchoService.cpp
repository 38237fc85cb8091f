#include "samples/responder/EchoService.h"

#include "framework/EventLoop.h"
#include "inet/InetStack.h"

namespace nexnet {

EchoService::EchoService(InetStack& stack, std::unique_ptr<UdpEndpoint> endpoint)
    : stack_(stack), endpoint_(std::move(endpoint)) {}

Result<std::unique_ptr<EchoService>> EchoService::open(InetStack& stack, std::uint16_t port) {
    auto endpoint = UdpEndpoint::open(stack, in_addr{INADDR_ANY}, port, UdpEndpoint::Options{});
    if (!endpoint) return Result<std::unique_ptr<EchoService>>::failure(endpoint.error());
    return std::unique_ptr<EchoService>(new EchoService(stack, std::move(endpoint.value())));
}

EchoService::~EchoService() {
    if (loop_ != nullptr) loop_->unwatch(endpoint_->readinessFd());
}

int EchoService::attach(EventLoop& loop) {
    int error = loop.watchReadable(endpoint_->readinessFd(), [this] { serve(); });
    if (error == 0) loop_ = &loop;
    return error;
}

bool EchoService::isLoopPort(std::uint16_t port) const {
    switch (port) {
    case 0:   // not a port one can answer
    case 7:   // echo (RFC 862)
    case 13:  // daytime (RFC 867)
    case 17:  // quote of the day (RFC 865)
    case 19:  // chargen (RFC 864)
    case 37:  // time (RFC 868)
        return true;
    default:
        return port == endpoint_->localPort();
    }
}

unsigned EchoService::serve() {
    unsigned echoed = 0;
    UdpDatagram received[32];
    while (unsigned n = endpoint_->receive(received, 32)) {
        Netbuf* answers[32];
        UdpDatagram peers[32];
        unsigned kept = 0;
        for (unsigned i = 0; i < n; ++i) {
            const UdpDatagram& d = received[i];
            if (isLoopPort(d.sourcePort) || !stack_.isUnicastPeer(d.source) || !stack_.isOurAddress(d.destination)) {
                d.netbuf->free();
                statistics_.refused++;
                continue;
            }
            answers[kept] = d.netbuf;  // the payload goes back where it is: no copy
            peers[kept++] = d;
        }
        unsigned sent = endpoint_->sendBurstTo(answers, peers, kept);
        statistics_.echoed += sent;
        echoed += sent;
    }
    return echoed;
}

}  // namespace nexnet
