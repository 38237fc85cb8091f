#include "netif/TelemetryClient.h"

#include "netif/DescriptorWrite.h"
#include "netif/Telemetry.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace nexnet {

namespace {

int waitReadable(int fd, std::chrono::milliseconds timeout) {
    pollfd readable{fd, POLLIN, 0};
    int ready = ::poll(&readable, 1, static_cast<int>(timeout.count()));
    if (ready < 0) return errno;
    return ready == 0 ? ETIMEDOUT : 0;
}

}  // namespace

std::vector<std::string> TelemetryClient::searchDirectories() {
    if (const char* explicitDirectory = std::getenv("NEXNET_RUNTIME_DIR");
        explicitDirectory != nullptr && *explicitDirectory)
        return {explicitDirectory};
    std::vector<std::string> directories = {"/run/nexnet"};
    std::string own = Telemetry::runtimeDirectory();
    if (own != directories.front()) directories.push_back(own);
    return directories;
}

std::vector<TelemetryClient::Endpoint> TelemetryClient::discover() {
    std::vector<Endpoint> found;
    for (const std::string& directory : searchDirectories()) {
        DIR* listing = ::opendir(directory.c_str());
        if (listing == nullptr) continue;
        while (dirent* entry = ::readdir(listing)) {
            std::string name = entry->d_name;
            if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".sock") != 0) continue;
            char* end = nullptr;
            long pid = std::strtol(name.c_str(), &end, 10);
            if (pid <= 0 || end != name.c_str() + name.size() - 5) continue;
            if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) continue;  // left by a dead process
            found.push_back({static_cast<pid_t>(pid), directory + "/" + name});
        }
        ::closedir(listing);
    }
    std::sort(found.begin(), found.end(), [](auto& a, auto& b) { return a.pid < b.pid; });
    return found;
}

Result<std::unique_ptr<TelemetryClient>> TelemetryClient::connect(const std::string& path) {
    using R = Result<std::unique_ptr<TelemetryClient>>;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) return R::failure(ENAMETOOLONG, path + ": path too long");
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return R::failure(errno, "socket: " + std::string(std::strerror(errno)));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        int error = errno;
        ::close(fd);
        std::string why = error == ECONNREFUSED ? "its process is gone"
            : error == EACCES                   ? "permission denied (the socket's owner and group only)"
                                                : std::strerror(error);
        return R::failure(error, path + ": " + why);
    }
    return std::unique_ptr<TelemetryClient>(new TelemetryClient(fd));
}

TelemetryClient::~TelemetryClient() { ::close(fd_); }

Result<std::string> TelemetryClient::request(const TelemetryRequest& request, std::chrono::milliseconds timeout) {
    using R = Result<std::string>;
    std::string line = request.toJson() + "\n";
    if (int error = writeAll(fd_, line.data(), line.size(), static_cast<int>(timeout.count())); error != 0) {
        // A server that refused us wrote why before closing: read it rather than report EPIPE.
        if (error != EPIPE && error != ECONNRESET)
            return R::failure(error, "cannot send the request: " + std::string(std::strerror(error)));
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t newline;
    while ((newline = pending_.find('\n')) == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || waitReadable(fd_, left) == ETIMEDOUT)
            return R::failure(ETIMEDOUT, "no reply from the process");
        char buffer[65536];
        ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return R::failure(EPIPE, "the process closed the connection");
        pending_.append(buffer, static_cast<std::size_t>(got));
    }
    std::string reply = pending_.substr(0, newline);
    pending_.erase(0, newline + 1);
    return reply;
}

Result<TelemetryReport> TelemetryClient::describe(const std::string& interface) {
    using R = Result<TelemetryReport>;
    TelemetryRequest ask;
    ask.interface = interface;
    auto reply = request(ask);
    if (!reply) return R::failure(reply);
    if (Status status = TelemetryRequest::status(reply.value()); !status)
        return R::failure(status.error(), status.message());
    return TelemetryReport::fromJson(reply.value());
}

Status TelemetryClient::set(const std::string& interface, const TelemetrySetting& setting) {
    TelemetryRequest ask;
    ask.command = TelemetryRequest::Command::set;
    ask.interface = interface;
    ask.setting = setting;
    auto reply = request(ask);
    if (!reply) return Status::from(reply);
    return TelemetryRequest::status(reply.value());
}

Status TelemetryClient::startCapture(const TelemetryRequest& capture) {
    auto reply = request(capture);
    if (!reply) return Status::from(reply);
    return TelemetryRequest::status(reply.value());
}

Result<std::size_t> TelemetryClient::readStream(void* buffer, std::size_t size, std::chrono::milliseconds timeout) {
    using R = Result<std::size_t>;
    if (!pending_.empty()) {  // stream bytes that came with the reply line
        std::size_t n = std::min(size, pending_.size());
        std::memcpy(buffer, pending_.data(), n);
        pending_.erase(0, n);
        return n;
    }
    for (;;) {
        if (int error = waitReadable(fd_, timeout); error != 0) return R::failure(error);
        ssize_t got = ::recv(fd_, buffer, size, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return R::failure(errno);
        return static_cast<std::size_t>(got);
    }
}

}  // namespace nexnet
