#include "toe/TcpOffloadEngine.h"

#include "framework/EventLoop.h"
#include "inet/EthernetView.h"
#include "inet/InetStack.h"
#include "inet/Ipv4View.h"
#include "inet/NetworkOrder.h"
#include "inet/TcpView.h"
#include "inet/TransportChecksum.h"
#include "netbuf/Netbuf.h"
#include "netif/HostStackBridge.h"
#include "netif/InputConsumer.h"
#include "netif/NetworkInterface.h"
#include "toe/TcpClock.h"
#include "toe/TcpControlBlock.h"
#include "toe/TcpRepair.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <sys/socket.h>

namespace nexnet {

// The host -> wire direction of the claim: what the kernel sends on the bridge's host tap for an
// offloaded 4-tuple (an ACK or window update from the repaired socket, a frame queued before the
// claim) never reaches the wire. An input consumer of the host interface ahead of the bridge's.
class TcpOffloadEngine::KernelOutputFilter : public InputConsumer {
public:
    explicit KernelOutputFilter(TcpOffloadEngine& engine) : engine_(engine) {}
    void consumeInput(NetworkInterface&, unsigned, Netbuf** packets, unsigned count) override {
        if (engine_.claims_.empty()) return;
        for (unsigned i = 0; i < count; ++i) {
            if (packets[i] == nullptr || !engine_.kernelFrameClaimed(packets[i])) continue;
            packets[i]->free();
            packets[i] = nullptr;
            engine_.statistics_.kernelFramesDropped++;
        }
    }

private:
    TcpOffloadEngine& engine_;
};

namespace {

std::uint32_t slotOf(TcpOffloadHandle handle) { return static_cast<std::uint32_t>(handle.value & 0xffffffffu) - 1; }
std::uint32_t generationOf(TcpOffloadHandle handle) { return static_cast<std::uint32_t>(handle.value >> 32); }

}  // namespace

TcpOffloadEngine::TcpOffloadEngine(InetStack& stack, HostStackBridge& bridge, const Options& options)
    : stack_(stack),
      bridge_(bridge),
      options_(options),
      sink_(options.sink),
      output_(stack),
      blocks_(options.maxConnections),
      generations_(options.maxConnections, 1) {
    claims_.reserve(options.maxConnections);
}

Result<std::unique_ptr<TcpOffloadEngine>> TcpOffloadEngine::create(InetStack& stack, HostStackBridge& bridge,
                                                                   const Options& options) {
    using R = Result<std::unique_ptr<TcpOffloadEngine>>;
    if (!stack.besideBridge()) return R::failure(EINVAL, "the stack does not run beside a HostStackBridge");
    if (options.hostPriority >= 100)
        return R::failure(EINVAL, "the kernel-side filter must come before the bridge (priority < 100)");
    if (options.maxConnections == 0) return R::failure(EINVAL, "maxConnections is 0");
    std::unique_ptr<TcpOffloadEngine> engine(new TcpOffloadEngine(stack, bridge, options));
    if (engine->sink_ == nullptr) {
        auto queue = TcpCompletionQueue::create(options.completionCapacity);
        if (!queue) return R::failure(queue);
        engine->queue_ = std::move(queue.value());
        engine->sink_ = engine->queue_.get();
    }
    if (int error = stack.setProtocol(Ipv4View::kTcp, engine.get())) return R::failure(error, "InetStack::setProtocol");
    engine->filter_ = std::make_unique<KernelOutputFilter>(*engine);
    bridge.host().addInputConsumer(engine->filter_.get(), options.hostPriority);
    engine->recorded_ = engine->capabilities();
    stack.interface().setTcpOffload(&engine->recorded_);
    return engine;
}

TcpOffloadEngine::~TcpOffloadEngine() {
    detach();
    for (auto& block : blocks_)
        if (block) block->close();  // RST where the peer has not closed: better than silence
    output_.flush();
    claims_.clear();
    blocks_.clear();
    stack_.setProtocol(Ipv4View::kTcp, nullptr);
    if (stack_.interface().tcpOffload() == &recorded_) stack_.interface().setTcpOffload(nullptr);
    bridge_.host().removeInputConsumer(filter_.get());
}

// ---- connections --------------------------------------------------------------------------------

Result<TcpOffloadHandle> TcpOffloadEngine::offload(int fd) {
    using R = Result<TcpOffloadHandle>;
    sockaddr_in local{}, remote{};
    socklen_t size = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size) != 0) return R::failure(errno, "getsockname");
    size = sizeof remote;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &size) != 0) return R::failure(errno, "getpeername");
    if (local.sin_family != AF_INET) return R::failure(EAFNOSUPPORT, "only IPv4 connections are offloaded");
    if (!stack_.isOurAddress(local.sin_addr))
        return R::failure(EADDRNOTAVAIL, "the connection does not run through this interface");
    if (claimFor(remote.sin_addr.s_addr, ntohs(remote.sin_port), local.sin_addr.s_addr, ntohs(local.sin_port), true))
        return R::failure(EALREADY, "the connection is already offloaded");
    std::uint32_t slot = 0;
    while (slot < blocks_.size() && (blocks_[slot] || generations_[slot] == 0)) ++slot;
    if (slot == blocks_.size()) return R::failure(ENOSPC, "the engine carries its maximum of connections");
    // Claim first: from here the kernel sees none of the peer's segments and sends nothing for the
    // 4-tuple, so the queues capture reads cannot grow behind its back (TcpRepair.h). The slot's
    // generation is 0 until the control block exists: claimed segments meanwhile are dropped,
    // unacknowledged, and the peer sends them again.
    std::uint32_t generation = generations_[slot];
    generations_[slot] = 0;
    claims_.push_back(
        Claim{local.sin_addr.s_addr, remote.sin_addr.s_addr, ntohs(local.sin_port), ntohs(remote.sin_port), slot});
    auto state = TcpRepair::capture(fd);
    if (!state) {
        claims_.pop_back();
        generations_[slot] = generation;
        return R::failure(state);
    }
    generations_[slot] = generation;
    TcpOffloadHandle handle{static_cast<std::uint64_t>(generation) << 32 | (slot + 1)};
    blocks_[slot] = std::make_unique<TcpControlBlock>(std::move(state.value()), fd, handle, output_, *sink_);
    statistics_.offloaded++;
    blocks_[slot]->transmit();  // the kernel's unsent bytes are the engine's now
    output_.flush();
    return handle;
}

TcpControlBlock* TcpOffloadEngine::find(TcpOffloadHandle handle) const {
    std::uint32_t slot = slotOf(handle);
    if (!handle || slot >= blocks_.size() || generations_[slot] != generationOf(handle)) return nullptr;
    return blocks_[slot].get();
}

void TcpOffloadEngine::release(std::uint32_t slot) {
    for (std::size_t i = 0; i < claims_.size(); ++i) {
        if (claims_[i].slot != slot) continue;
        claims_[i] = claims_.back();
        claims_.pop_back();
        break;
    }
    blocks_[slot].reset();  // closes the placeholder silently
    if (++generations_[slot] == 0) generations_[slot] = 1;
}

void TcpOffloadEngine::releaseClosed() {
    for (std::uint32_t slot = 0; slot < blocks_.size(); ++slot) {
        if (blocks_[slot] && blocks_[slot]->phase() == TcpControlBlock::Phase::closed) {
            release(slot);
            statistics_.closed++;
        }
    }
}

int TcpOffloadEngine::postReceive(TcpOffloadHandle connection, void* buffer, std::size_t length, std::uint64_t cookie) {
    TcpControlBlock* block = find(connection);
    if (block == nullptr) return ENOENT;
    int error = block->postReceive(static_cast<std::uint8_t*>(buffer), length, cookie);
    output_.flush();
    return error;
}

int TcpOffloadEngine::postSend(TcpOffloadHandle connection, const void* buffer, std::size_t length,
                               std::uint64_t cookie) {
    TcpControlBlock* block = find(connection);
    if (block == nullptr) return ENOENT;
    int error = block->postSend(static_cast<const std::uint8_t*>(buffer), length, cookie);
    output_.flush();
    return error;
}

int TcpOffloadEngine::shutdown(TcpOffloadHandle connection) {
    TcpControlBlock* block = find(connection);
    if (block == nullptr) return ENOENT;
    int error = block->shutdownSend();
    output_.flush();
    return error;
}

int TcpOffloadEngine::flush(TcpOffloadHandle connection) {
    TcpControlBlock* block = find(connection);
    return block == nullptr ? ENOENT : block->flush();
}

Result<int> TcpOffloadEngine::handBack(TcpOffloadHandle connection, int fd) {
    TcpControlBlock* block = find(connection);
    if (block == nullptr) return Result<int>::failure(ENOENT, "no such connection");
    if (block->phase() != TcpControlBlock::Phase::established &&
        block->phase() != TcpControlBlock::Phase::handBackPending)
        return Result<int>::failure(EINVAL, "the connection is closing: the kernel cannot take it back");
    TcpConnectionState state = block->handBackState();
    // The port must be free for the new socket: the placeholder goes first, silently. The claim
    // stays until restore is done, so nothing of the peer's reaches a kernel without the socket;
    // the new socket's window probe leaves after the claim ends (this thread reads the host tap).
    TcpRepair::closeSilently(block->releasePlaceholder());
    auto restored = TcpRepair::restore(state, fd, true);
    release(slotOf(connection));
    if (restored) statistics_.handedBack++;
    return restored;
}

int TcpOffloadEngine::close(TcpOffloadHandle connection) {
    TcpControlBlock* block = find(connection);
    if (block == nullptr) return ENOENT;
    block->close();
    output_.flush();
    if (block->phase() == TcpControlBlock::Phase::reset || block->phase() == TcpControlBlock::Phase::closed) {
        release(slotOf(connection));
        statistics_.closed++;
    }
    return 0;
}

const TcpConnectionStatistics* TcpOffloadEngine::statistics(TcpOffloadHandle connection) const {
    TcpControlBlock* block = find(connection);
    return block == nullptr ? nullptr : &block->statistics();
}

TcpOffloadCapabilities TcpOffloadEngine::capabilities() const {
    TcpOffloadCapabilities capabilities;
    capabilities.maxConnections = options_.maxConnections;
    capabilities.maxPostedBuffers = TcpControlBlock::kMaxPosted;
    capabilities.reassemblySegments = TcpControlBlock::kMaxHeld;
    capabilities.minMss = 48;     // Linux never uses less (TCP_MIN_SND_MSS); the engine takes any segment size
    capabilities.maxMss = 65495;  // an IPv4 datagram of 65535 bytes less both headers
    capabilities.receivePlacement = true;
    capabilities.send = true;
    capabilities.timestamps = true;
    capabilities.windowScaling = true;
    capabilities.sackBlocks = true;
    capabilities.handBack = true;
    return capabilities;
}

unsigned TcpOffloadEngine::connections() const { return static_cast<unsigned>(claims_.size()); }

// ---- timers -------------------------------------------------------------------------------------

int TcpOffloadEngine::attach(EventLoop& loop) {
    detach();
    auto timer = loop.addTimer(
        std::chrono::milliseconds(10), [this] { tick(); }, true);
    if (!timer) return timer.error();
    loop_ = &loop;
    timer_ = timer.value();
    return 0;
}

void TcpOffloadEngine::detach() {
    if (loop_ != nullptr) loop_->cancelTimer(timer_);
    loop_ = nullptr;
}

void TcpOffloadEngine::tick() {
    std::uint64_t now = tcpClockMicroseconds();
    for (auto& block : blocks_)
        if (block) block->tick(now);
    output_.flush();
    releaseClosed();
}

// ---- the claim ----------------------------------------------------------------------------------

const TcpOffloadEngine::Claim* TcpOffloadEngine::claimFor(std::uint32_t source, std::uint16_t sourcePort,
                                                          std::uint32_t destination, std::uint16_t destinationPort,
                                                          bool fromPeer) const {
    for (const Claim& claim : claims_) {
        bool match = fromPeer ? claim.remoteAddress == source && claim.remotePort == sourcePort &&
                claim.localAddress == destination && claim.localPort == destinationPort
                              : claim.localAddress == source && claim.localPort == sourcePort &&
                claim.remoteAddress == destination && claim.remotePort == destinationPort;
        if (match) return &claim;
    }
    return nullptr;
}

bool TcpOffloadEngine::kernelFrameClaimed(Netbuf* frame) const {
    EthernetView ethernet = EthernetView::parse(*frame);
    if (!ethernet || ethernet.etherType() != EthernetView::kTypeIpv4) return false;
    Ipv4View ip = Ipv4View::parse(ethernet.payload());
    if (!ip || ip.protocol() != Ipv4View::kTcp || ip.payload().size() < 4) return false;
    const std::uint8_t* ports = ip.payload().data();
    return claimFor(ip.source().s_addr, loadBig16(ports), ip.destination().s_addr, loadBig16(ports + 2), false) !=
        nullptr;
}

bool TcpOffloadEngine::claims(const Ipv4View& ip) {
    if (claims_.empty() || ip.protocol() != Ipv4View::kTcp || ip.payload().size() < 4) return false;
    const std::uint8_t* ports = ip.payload().data();
    return claimFor(ip.source().s_addr, loadBig16(ports), ip.destination().s_addr, loadBig16(ports + 2), true) !=
        nullptr;
}

void TcpOffloadEngine::input(Netbuf* packet, const Ipv4View& ip) {
    TcpView tcp = TcpView::parse(ip.payload());
    const Claim* claim = tcp
        ? claimFor(ip.source().s_addr, tcp.sourcePort(), ip.destination().s_addr, tcp.destinationPort(), true)
        : nullptr;
    TcpControlBlock* block = claim != nullptr && generations_[claim->slot] != 0 ? blocks_[claim->slot].get() : nullptr;
    if (!tcp || block == nullptr) {
        (tcp ? statistics_.unclaimed : statistics_.malformed)++;
        return packet->free();
    }
    if (TransportChecksum::check(ip, ip.payload(), TcpView::kChecksumOffset, packet->offload()) ==
        TransportChecksum::Status::bad) {
        statistics_.checksumErrors++;
        return packet->free();
    }
    bool askedBefore = block->handBackReason() != TcpHandBackReason::none;
    block->input(packet, tcp);
    if (!askedBefore && block->handBackReason() == TcpHandBackReason::urgentData) statistics_.urgentHandBacks++;
    if (!askedBefore && block->handBackReason() == TcpHandBackReason::option) statistics_.optionHandBacks++;
}

void TcpOffloadEngine::finishInput() {
    bool closed = false;
    for (const Claim& claim : claims_) {
        TcpControlBlock* block = blocks_[claim.slot].get();
        if (block == nullptr) continue;
        block->finishInput();
        closed = closed || block->phase() == TcpControlBlock::Phase::closed;
    }
    output_.flush();
    if (closed) releaseClosed();  // our FIN was acknowledged: the 4-tuple goes back to the kernel
}

}  // namespace nexnet
