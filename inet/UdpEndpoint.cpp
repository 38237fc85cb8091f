#include "inet/UdpEndpoint.h"

#include "inet/InetStack.h"
#include "inet/Ipv4Builder.h"
#include "inet/Ipv4View.h"
#include "inet/UdpBuilder.h"
#include "netbuf/NetbufPool.h"

#include <cerrno>
#include <utility>
#include <sys/eventfd.h>
#include <unistd.h>

namespace nexnet {

UdpEndpoint::UdpEndpoint(InetStack& stack, in_addr local, std::uint16_t port, unsigned capacity)
    : stack_(stack),
      local_(local),
      port_(port),
      ring_(std::make_unique<UdpDatagram[]>(capacity)),
      mask_(capacity - 1) {}

Result<std::unique_ptr<UdpEndpoint>> UdpEndpoint::open(InetStack& stack, in_addr local, std::uint16_t port,
                                                       const Options& options) {
    using R = Result<std::unique_ptr<UdpEndpoint>>;
    if (local.s_addr != INADDR_ANY && local.s_addr != stack.address().s_addr) return R::failure(EADDRNOTAVAIL);
    unsigned capacity = 1;
    while (capacity < options.queueLimit) capacity <<= 1;
    if (port == 0) port = stack.ephemeralPort();
    if (port == 0) return R::failure(EADDRINUSE);
    std::unique_ptr<UdpEndpoint> endpoint(new UdpEndpoint(stack, local, port, capacity));
    endpoint->eventFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (endpoint->eventFd_ < 0) return R::failure(errno);
    if (int error = stack.bind(endpoint.get(), port)) {
        endpoint->port_ = 0;  // not ours to unbind
        return R::failure(error);
    }
    return endpoint;
}

UdpEndpoint::~UdpEndpoint() {
    if (port_ != 0) stack_.unbind(port_);
    for (std::uint64_t i = head_.load(); i != tail_.load(); ++i) ring_[i & mask_].netbuf->free();
    if (eventFd_ >= 0) close(eventFd_);
}

int UdpEndpoint::connect(in_addr peer, std::uint16_t port) {
    if ((peer.s_addr == INADDR_ANY) != (port == 0)) return EINVAL;
    peer_ = peer;
    peerPort_ = port;
    return 0;
}

bool UdpEndpoint::accepts(in_addr source, std::uint16_t sourcePort, in_addr destination) const {
    if (local_.s_addr != INADDR_ANY && destination.s_addr != local_.s_addr) return false;
    return peerPort_ == 0 || (source.s_addr == peer_.s_addr && sourcePort == peerPort_);
}

bool UdpEndpoint::enqueue(const UdpDatagram& datagram) {
    std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    // Counters have one writer (this thread): a plain add, no locked instruction per datagram.
    if (tail - head_.load(std::memory_order_acquire) > mask_) {
        statistics_.queueDrops.store(statistics_.queueDrops.load(std::memory_order_relaxed) + 1,
                                     std::memory_order_relaxed);
        return false;
    }
    ring_[tail & mask_] = datagram;
    tail_.store(tail + 1, std::memory_order_release);  // the slot is written before it is published
    statistics_.received.store(statistics_.received.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return true;
}

void UdpEndpoint::signal() {
    // Dekker with receive(): the datagrams published above are ordered before the look at the
    // flag, as the consumer's clearing of the flag is before its second look at the tail, so
    // either the consumer sees the datagrams or this sees the flag clear and writes.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (signalled_.exchange(true, std::memory_order_seq_cst)) return;
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(eventFd_, &one, sizeof one);  // cannot fail below 2^64-1
}

unsigned UdpEndpoint::receive(UdpDatagram* out, unsigned max) {
    std::uint64_t head = head_.load(std::memory_order_relaxed);
    std::uint64_t tail = tail_.load(std::memory_order_acquire);
    if (head == tail) {
        // Empty: make the fd unreadable, then look once more (see signal()).
        if (!signalled_.load(std::memory_order_relaxed)) return 0;
        std::uint64_t value;
        [[maybe_unused]] ssize_t n = read(eventFd_, &value, sizeof value);
        signalled_.store(false, std::memory_order_seq_cst);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        tail = tail_.load(std::memory_order_acquire);
        if (head == tail) return 0;
    }
    unsigned n = static_cast<unsigned>(tail - head < max ? tail - head : max);
    for (unsigned i = 0; i < n; ++i) out[i] = ring_[(head + i) & mask_];
    head_.store(head + n, std::memory_order_release);  // the slots are read before they are given back
    return n;
}

unsigned UdpEndpoint::pending() const {
    return static_cast<unsigned>(tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire));
}

int UdpEndpoint::error() { return error_.exchange(0, std::memory_order_relaxed); }

void UdpEndpoint::reportUnreachable(in_addr destination, std::uint16_t port) {
    // As Linux: only a connected socket hears of it (RFC 1122 4.1.3.3 leaves it to the application).
    if (peerPort_ != 0 && peer_.s_addr == destination.s_addr && peerPort_ == port)
        error_.store(ECONNREFUSED, std::memory_order_relaxed);
}

Netbuf* UdpEndpoint::allocate(std::uint32_t payloadBytes) { return stack_.allocate(payloadBytes); }

int UdpEndpoint::build(Netbuf* payload, in_addr destination, std::uint16_t port) {
    if (port == 0) return EINVAL;
    in_addr source = stack_.address();
    // A received netbuf sent back may still carry the device's receive flags.
    payload->offload() = NetbufOffload{};
    if (int error = UdpBuilder::push(*payload, port_, port, source, destination, stack_.transmitChecksum()))
        return error;
    Ipv4Builder::Fields ip{source, destination, Ipv4View::kUdp, stack_.ttl()};
    ip.identification = stack_.nextIdentification_++;
    ip.dontFragment = false;  // a datagram larger than the MTU is fragmented, as Linux does without PMTU discovery
    return Ipv4Builder::push(*payload, ip);
}

int UdpEndpoint::send(Netbuf* payload) {
    if (peerPort_ == 0) {
        payload->free();
        statistics_.sendErrors.fetch_add(1, std::memory_order_relaxed);
        return EDESTADDRREQ;
    }
    return sendTo(payload, peer_, peerPort_);
}

int UdpEndpoint::sendTo(Netbuf* payload, in_addr destination, std::uint16_t port) {
    if (int error = build(payload, destination, port)) {
        payload->free();
        statistics_.sendErrors.fetch_add(1, std::memory_order_relaxed);
        return error;
    }
    statistics_.sent.fetch_add(1, std::memory_order_relaxed);
    return stack_.sendIpv4(payload);
}

unsigned UdpEndpoint::sendBurst(Netbuf** payloads, unsigned count) {
    if (peerPort_ == 0) {
        NetbufPool::freeToOwners(payloads, count);
        statistics_.sendErrors.fetch_add(count, std::memory_order_relaxed);
        return 0;
    }
    return buildAndSend(payloads, count, [this](unsigned) { return std::pair{peer_, peerPort_}; });
}

unsigned UdpEndpoint::sendBurstTo(Netbuf** payloads, const UdpDatagram* destinations, unsigned count) {
    return buildAndSend(payloads, count, [destinations](unsigned i) {
        return std::pair{destinations[i].source, destinations[i].sourcePort};
    });
}

template <typename Destination>
unsigned UdpEndpoint::buildAndSend(Netbuf** payloads, unsigned count, Destination&& destination) {
    unsigned built = 0;
    for (unsigned i = 0; i < count; ++i) {
        auto [address, port] = destination(i);
        if (build(payloads[i], address, port) != 0) {
            payloads[i]->free();
            statistics_.sendErrors.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        payloads[built++] = payloads[i];
    }
    statistics_.sent.fetch_add(built, std::memory_order_relaxed);
    return stack_.sendIpv4(payloads, built);  // one outputBurst for the whole burst
}

}  // namespace nexnet
