#include "netif/AppRingServer.h"

#include "framework/EventLoop.h"
#include "netif/NetworkInterface.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace nexnet {

namespace {

int openPidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// The metadata memfd reopened read-only: a new open file description, so the application can
// neither write it nor mprotect its mapping writable.
int readOnlyCopy(int fd) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return ::open(path, O_RDONLY | O_CLOEXEC);
}

int sendReply(int fd, const app_ring_reply& reply, const int* fds, unsigned count) {
    iovec iov{const_cast<app_ring_reply*>(&reply), sizeof reply};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 6)];
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    if (count > 0) {
        message.msg_control = control;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * count);
        cmsghdr* header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * count);
        std::memcpy(CMSG_DATA(header), fds, sizeof(int) * count);
    }
    return ::sendmsg(fd, &message, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof reply) ? 0 : EPIPE;
}

}  // namespace

AppRingServer::AppRingServer(EventLoop& loop, std::string path) : loop_(loop), path_(std::move(path)) {}

Result<std::unique_ptr<AppRingServer>> AppRingServer::create(EventLoop& loop, const std::string& path) {
    using R = Result<std::unique_ptr<AppRingServer>>;
    std::unique_ptr<AppRingServer> server(new AppRingServer(loop, path));
    if (int error = server->listen(); error != 0) return R::failure(error);
    return server;
}

int AppRingServer::listen() {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path_.size() >= sizeof address.sun_path) return ENAMETOOLONG;
    std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    listenFd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listenFd_ < 0) return errno;
    ::unlink(path_.c_str());
    if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return errno;
    if (::listen(listenFd_, 16) != 0) return errno;
    return loop_.watchReadable(listenFd_, [this] { accept(); });
}

AppRingServer::~AppRingServer() {
    while (!connections_.empty()) close(connections_.begin()->first);
    for (auto& [name, ring] : rings_) loop_.unwatch(ring->kickEventFd());
    rings_.clear();
    if (listenFd_ >= 0) {
        loop_.unwatch(listenFd_);
        ::close(listenFd_);
        ::unlink(path_.c_str());
    }
}

int AppRingServer::addInterface(NetworkInterface& interface) {
    return interfaces_.emplace(interface.name(), &interface).second ? 0 : EEXIST;
}

int AppRingServer::removeInterface(NetworkInterface& interface) {
    auto it = interfaces_.find(interface.name());
    if (it == interfaces_.end()) return ENOENT;
    std::vector<int> users;
    for (auto& [fd, connection] : connections_) {
        if (connection.interface == interface.name()) users.push_back(fd);
    }
    for (int fd : users) close(fd);
    rings_.erase(interface.name());
    interfaces_.erase(it);
    return 0;
}

AppRing* AppRingServer::ring(std::string_view name) const {
    auto it = rings_.find(name);
    return it == rings_.end() ? nullptr : it->second.get();
}

unsigned AppRingServer::applicationCount() const {
    unsigned count = 0;
    for (auto& [fd, connection] : connections_) count += connection.attached ? 1 : 0;
    return count;
}

std::vector<AppRingServer::ApplicationInfo> AppRingServer::applications() const {
    std::vector<ApplicationInfo> list;
    for (auto& [fd, connection] : connections_) {
        if (connection.attached) list.push_back({connection.interface, connection.pid, connection.uid});
    }
    return list;
}

void AppRingServer::accept() {
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
        ::close(fd);
        return;
    }
    Connection connection;
    connection.fd = fd;
    connection.pid = credentials.pid;
    connection.uid = credentials.uid;
    connections_[fd] = connection;
    if (loop_.watchReadable(fd, [this, fd] { readRequest(fd); }) != 0) {
        connections_.erase(fd);
        ::close(fd);
    }
}

void AppRingServer::readRequest(int fd) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    Connection& connection = it->second;
    app_ring_request request{};
    ssize_t got = ::recv(fd, &request, sizeof request, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (connection.attached || got != static_cast<ssize_t>(sizeof request)) {
        close(fd);  // end of file (unmap), or a second message: both end the mapping
        return;
    }
    app_ring_reply reply{};
    reply.magic = APP_RING_MAGIC;
    int fds[6] = {-1, -1, -1, -1, -1, -1};
    reply.error = handleRequest(connection, request, reply, fds);
    if (reply.error != 0) refused_++;
    int error = sendReply(fd, reply, fds, reply.error == 0 ? 6 : 0);
    if (fds[2] >= 0) ::close(fds[2]);
    if (reply.error != 0 || error != 0) close(fd);
}

int AppRingServer::handleRequest(Connection& connection, const app_ring_request& request, app_ring_reply& reply,
                                 int fds[6]) {
    if (request.magic != APP_RING_MAGIC || request.version != APP_RING_VERSION) return EINVAL;
    bool allowed = connection.uid == 0 || connection.uid == ::geteuid() || allowedUsers_.count(connection.uid) > 0;
    if (!allowed) return EACCES;
    std::string name(request.interface, strnlen(request.interface, sizeof request.interface));
    auto interface = interfaces_.find(name);
    if (interface == interfaces_.end()) return ENODEV;
    if (request.mode > APP_RING_NON_NETWORK) return EINVAL;
    auto existing = rings_.find(name);
    app_ring_mode mode = existing != rings_.end() ? existing->second->mode() : static_cast<app_ring_mode>(request.mode);
    if (request.mode != APP_RING_JOIN && request.mode != mode) return EBUSY;
    if (mode == APP_RING_JOIN) return ENOENT;  // nothing to join
    if (mode == APP_RING_BYPASS && connection.uid != 0) return EPERM;
    connection.pidfd = openPidfd(connection.pid);
    if (connection.pidfd < 0) return errno;
    if (existing == rings_.end()) {  // claim 2: create if absent
        AppRing::Options options;
        options.mode = mode;
        if (request.slot_count != 0) options.slotCount = request.slot_count;
        if (request.min_posted != 0) options.minPosted = request.min_posted;
        auto made = AppRing::create(*interface->second, options);
        if (!made) return made.error();
        AppRing* ring = made.value().get();
        if (int error = loop_.watchReadable(ring->kickEventFd(), [ring] {
                ring->acknowledgeKick();
                ring->service();
            }); error != 0) return error;
        existing = rings_.emplace(name, std::move(made.value())).first;
    }
    AppRing& ring = *existing->second;
    auto application = ring.attach(connection.pid);
    if (!application) return application.error();
    connection.interface = name;
    connection.slot = application.value().slot;
    connection.attached = true;
    int fd = connection.fd;
    if (int error = loop_.watchReadable(connection.pidfd, [this, fd] { close(fd); }); error != 0) return error;
    reply.app_slot = application.value().slot;
    reply.token = application.value().token;
    reply.region_size = ring.regionSize();
    reply.data_size = ring.pool().dataRegion().size();
    reply.metadata_size = ring.pool().metadataRegion().size();
    fds[0] = ring.regionFd();
    fds[1] = ring.pool().dataRegion().fd();
    fds[2] = readOnlyCopy(ring.pool().metadataRegion().fd());
    fds[3] = ring.kickEventFd();
    fds[4] = application.value().ring1EventFd;
    fds[5] = application.value().ring2EventFd;
    return fds[2] < 0 ? errno : 0;
}

void AppRingServer::close(int fd) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    Connection connection = it->second;
    connections_.erase(it);
    loop_.unwatch(fd);
    if (connection.pidfd >= 0) {
        loop_.unwatch(connection.pidfd);
        ::close(connection.pidfd);
    }
    ::close(fd);
    if (!connection.attached) return;
    auto ring = rings_.find(connection.interface);
    if (ring == rings_.end()) return;
    ring->second->detach(connection.slot);  // claim 11: its buffers come back
    if (ring->second->applicationCount() == 0) {  // claims 3, 18, 20: the last one unmapped
        loop_.unwatch(ring->second->kickEventFd());
        rings_.erase(ring);
    }
}

}  // namespace nexnet
