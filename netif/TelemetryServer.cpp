#include "netif/TelemetryServer.h"

#include "framework/EventLoop.h"
#include "netif/CaptureTap.h"
#include "netif/ControlQueue.h"
#include "netif/DescriptorWrite.h"
#include "netif/TelemetryRegistry.h"
#include "netif/TelemetryRequest.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#ifndef NEXNET_VERSION
#define NEXNET_VERSION "unknown"
#endif

namespace nexnet {

namespace {

constexpr std::size_t kMaxRequest = 64 * 1024;  // a request line longer than this is refused
constexpr unsigned kMaxConnections = 64;
constexpr int kWriteTimeout = 2000;  // ms a client may keep us waiting for room
constexpr auto kControlTimeout = std::chrono::seconds(2);

std::uint64_t realtimeNanoseconds() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return std::uint64_t(now.tv_sec) * 1'000'000'000u + std::uint64_t(now.tv_nsec);
}

sockaddr_un addressOf(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return address;
}

// True when a process accepts connections on @p path (then it is not ours to replace).
bool someoneListens(const std::string& path) {
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return false;
    sockaddr_un address = addressOf(path);
    bool listening = ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(probe);
    return listening;
}

}  // namespace

TelemetryServer::TelemetryServer(TelemetryRegistry& registry, ControlQueue& control, const Options& options)
    : registry_(registry), control_(control), options_(options), started_(realtimeNanoseconds()) {}

Result<std::unique_ptr<TelemetryServer>> TelemetryServer::start(TelemetryRegistry& registry, ControlQueue& control,
                                                                const Options& options) {
    using R = Result<std::unique_ptr<TelemetryServer>>;
    std::unique_ptr<TelemetryServer> server(new TelemetryServer(registry, control, options));
    auto loop = EventLoop::create();
    if (!loop) return R::failure(loop.error(), "telemetry event loop: " + loop.describe());
    server->loop_ = std::move(loop.value());
    if (int error = server->listen(); error != 0) {
        std::string why = error == EADDRINUSE ? "another process serves it" : std::strerror(error);
        return R::failure(error, "telemetry socket " + options.path + ": " + why);
    }
    auto timer = server->loop_->addTimer(
        std::chrono::milliseconds(100), [s = server.get()] { s->checkCaptures(); }, true);
    if (!timer) return R::failure(timer.error(), "telemetry timer: " + timer.describe());
    // The loop is touched only by the new thread from here on (thread creation orders the setup before it).
    server->thread_ = std::thread([s = server.get()] { s->loop_->run(); });
    return server;
}

int TelemetryServer::listen() {
    if (options_.path.size() >= sizeof(sockaddr_un::sun_path)) return ENAMETOOLONG;
    if (someoneListens(options_.path)) return EADDRINUSE;
    listenFd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listenFd_ < 0) return errno;
    ::unlink(options_.path.c_str());  // a socket file left by a process that died
    sockaddr_un address = addressOf(options_.path);
    // Made with no permissions at all, then opened up: never connectable by more than intended.
    mode_t old = ::umask(0777);
    int bound = ::bind(listenFd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    int error = errno;
    ::umask(old);
    if (bound != 0) return error;
    if (options_.socketGroup != static_cast<gid_t>(-1) &&
        ::chown(options_.path.c_str(), static_cast<uid_t>(-1), options_.socketGroup) != 0)
        return errno;
    if (::chmod(options_.path.c_str(), options_.socketMode) != 0) return errno;
    if (::listen(listenFd_, 16) != 0) return errno;
    return loop_->watchReadable(listenFd_, [this] { accept(); });
}

TelemetryServer::~TelemetryServer() {
    control_.close();  // the telemetry thread may wait for the control thread: that is us, now
    if (thread_.joinable()) {
        loop_->stop();
        thread_.join();
    }
    {
        std::lock_guard<std::mutex> lock(capturesLock_);
        for (auto& capture : captures_) capture->tap->detach();  // control thread: allowed
        captures_.clear();                                       // the writers finish their streams
    }
    for (auto& [fd, connection] : connections_) ::close(fd);
    connections_.clear();
    if (listenFd_ >= 0) {
        ::close(listenFd_);
        ::unlink(options_.path.c_str());
    }
}

TelemetryServer::Access TelemetryServer::accessOf(int fd, const ucred& peer) const {
    if (peer.uid == 0 || peer.uid == ::geteuid()) return Access::change;
    gid_t group = options_.socketGroup != static_cast<gid_t>(-1) ? options_.socketGroup : ::getegid();
    if (peer.gid == group) return Access::read;
    gid_t groups[256];
    socklen_t length = sizeof groups;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &length) == 0) {
        for (socklen_t i = 0; i < length / sizeof(gid_t); ++i) {
            if (groups[i] == group) return Access::read;
        }
    }
    return Access::none;
}

void TelemetryServer::accept() {
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    ucred peer{};
    socklen_t length = sizeof peer;
    if (connections_.size() >= kMaxConnections || ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        ::close(fd);
        return;
    }
    Connection connection{fd, peer.pid, peer.uid, accessOf(fd, peer), {}, false};
    if (connection.access == Access::none) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        std::string line =
            TelemetryRequest::error(EACCES,
                                    "permission denied: user " + std::to_string(peer.uid) +
                                        " may not read the telemetry of process " + std::to_string(::getpid()));
        (void)writeAll(fd, line.data(), line.size(), kWriteTimeout);
        ::close(fd);
        return;
    }
    if (loop_->watchReadable(fd, [this, fd] { readable(fd); }) != 0) {
        ::close(fd);
        return;
    }
    connections_.emplace(fd, std::move(connection));
}

void TelemetryServer::readable(int fd) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    Connection& connection = it->second;
    char buffer[4096];
    ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (got <= 0) {
        close(fd);
        return;
    }
    if (connection.capturing) return;  // a capturing client has nothing more to say
    connection.input.append(buffer, static_cast<std::size_t>(got));
    std::size_t newline;
    while (!connection.capturing && (newline = connection.input.find('\n')) != std::string::npos) {
        std::string line = connection.input.substr(0, newline);
        connection.input.erase(0, newline + 1);
        handle(connection, line);
        if (connections_.find(fd) == connections_.end()) return;  // closed while answering
    }
    if (connection.input.size() > kMaxRequest) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        reply(connection, TelemetryRequest::error(EMSGSIZE, "request longer than 64 KiB"));
        close(fd);
    }
}

void TelemetryServer::reply(Connection& connection, const std::string& line) {
    std::string text = line + "\n";
    if (writeAll(connection.fd, text.data(), text.size(), kWriteTimeout) != 0) close(connection.fd);
}

void TelemetryServer::handle(Connection& connection, std::string_view line) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    auto request = TelemetryRequest::parse(line);
    if (!request) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        reply(connection, TelemetryRequest::error(request.error(), request.message()));
        return;
    }
    if (request->command != TelemetryRequest::Command::describe && connection.access != Access::change) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        reply(connection,
              TelemetryRequest::error(EPERM,
                                      "permission denied: only user " + std::to_string(::geteuid()) +
                                          " and root may change or capture process " + std::to_string(::getpid()) +
                                          "'s interfaces"));
        return;
    }
    switch (request->command) {
    case TelemetryRequest::Command::describe:
        reply(connection, describe(request->interface));
        break;
    case TelemetryRequest::Command::set: {
        auto done = control_.call<Status>([this, r = request.value()] { return registry_.set(r.interface, r.setting); },
                                          kControlTimeout);
        if (!done) reply(connection, TelemetryRequest::error(ETIMEDOUT, "the process's control loop did not answer"));
        else if (!done->ok()) reply(connection, TelemetryRequest::error(done->error(), done->describe()));
        else reply(connection, TelemetryRequest::success());
        break;
    }
    case TelemetryRequest::Command::capture: {
        std::string answer;
        if (!capture(connection, request.value(), answer)) reply(connection, answer);
        break;
    }
    }
}

std::string TelemetryServer::describe(std::string_view interface) {
    std::string only(interface);
    auto snapshot = control_.call<std::vector<TelemetryReport::Interface>>(
        [this, only] { return registry_.snapshot(only); }, kControlTimeout);
    if (!snapshot) return TelemetryRequest::error(ETIMEDOUT, "the process's control loop did not answer");
    if (!only.empty() && snapshot->empty())
        return TelemetryRequest::error(
            ENODEV,
            "no interface " + only + " in process " + std::to_string(::getpid()) + " (" + options_.processName + ")");
    TelemetryReport report;
    report.pid = ::getpid();
    report.process = options_.processName;
    report.uid = ::geteuid();
    report.version = NEXNET_VERSION;
    report.startedNanoseconds = started_;
    report.interfaces = std::move(*snapshot);
    registry_.addCounters(report.interfaces);
    for (auto& i : report.interfaces) i.captures = capturesOn(i.name);
    report.nanoseconds = realtimeNanoseconds();
    return report.toJson();
}

void TelemetryServer::close(int fd) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    loop_->unwatch(fd);
    if (it->second.capturing) {
        std::lock_guard<std::mutex> lock(capturesLock_);
        for (auto& capture : captures_) {
            if (capture->connection == fd) capture->peerGone = true;  // checkCaptures ends it
        }
    }
    ::close(fd);
    connections_.erase(it);
}

}  // namespace nexnet
