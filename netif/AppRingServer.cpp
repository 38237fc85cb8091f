#include "netif/AppRingServer.h"

#include "framework/EventLoop.h"
#include "netif/NetworkInterface.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * APP_RING_REPLY_FDS)];
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

Result<std::unique_ptr<AppRingServer>> AppRingServer::create(EventLoop& loop, const std::string& path,
                                                             const Options& options) {
    using R = Result<std::unique_ptr<AppRingServer>>;
    std::unique_ptr<AppRingServer> server(new AppRingServer(loop, path));
    if (int error = server->listen(options); error != 0) return R::failure(error);
    return server;
}

int AppRingServer::listen(const Options& options) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path_.size() >= sizeof address.sun_path) return ENAMETOOLONG;
    std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    listenFd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listenFd_ < 0) return errno;
    ::unlink(path_.c_str());
    if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return errno;
    // Before listen(): nobody can connect through looser permissions in between.
    if (options.socketGroup != static_cast<gid_t>(-1) &&
        ::chown(path_.c_str(), static_cast<uid_t>(-1), options.socketGroup) != 0)
        return errno;
    if (::chmod(path_.c_str(), options.socketMode) != 0) return errno;
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

int AppRingServer::addInterface(NetworkInterface& interface, const InterfaceOptions& options) {
    return interfaces_.emplace(interface.name(), Offer{&interface, options}).second ? 0 : EEXIST;
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
    connection.groupAllowed = inAllowedGroup(fd, credentials.gid);
    connections_[fd] = connection;
    if (loop_.watchReadable(fd, [this, fd] { readRequest(fd); }) != 0) {
        connections_.erase(fd);
        ::close(fd);
    }
}

// The peer's primary group (SO_PEERCRED) or one of its supplementary groups (SO_PEERGROUPS, as
// they were when it connected) is allowed.
bool AppRingServer::inAllowedGroup(int fd, gid_t primary) const {
    if (allowedGroups_.empty()) return false;
    if (allowedGroups_.count(primary) > 0) return true;
    std::vector<gid_t> groups(64);
    socklen_t length = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length) != 0) {
        if (errno != ERANGE) return false;
        groups.resize(length / sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length) != 0) return false;
    }
    groups.resize(length / sizeof(gid_t));
    for (gid_t group : groups) {
        if (allowedGroups_.count(group) > 0) return true;
    }
    return false;
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
    int fds[APP_RING_REPLY_FDS] = {-1, -1, -1, -1, -1, -1, -1, -1};
    reply.error = handleRequest(connection, request, reply, fds);
    if (reply.error != 0) refused_++;
    int error = sendReply(fd, reply, fds, reply.error == 0 ? APP_RING_REPLY_FDS : 0);
    for (int copy : {fds[0], fds[4]}) {  // the read-only copies made for this reply
        if (copy >= 0) ::close(copy);
    }
    if (reply.error != 0 || error != 0) close(fd);
}

// The rings of interface @p name for @p request: the existing ones (same mode and sharing, or
// whatever exists for APP_RING_JOIN), or new ones (claim 2: create if absent).
Result<AppRing*> AppRingServer::ringFor(const std::string& name, const app_ring_request& request, uid_t uid) {
    using R = Result<AppRing*>;
    auto offer = interfaces_.find(name);
    if (offer == interfaces_.end()) return R::failure(ENODEV);
    if (request.mode > APP_RING_NON_NETWORK || (request.flags & ~std::uint32_t{APP_RING_PRIVATE}) != 0)
        return R::failure(EINVAL);
    bool wantsPrivate = (request.flags & APP_RING_PRIVATE) != 0;
    auto existing = rings_.find(name);
    if (existing != rings_.end()) {
        AppRing& ring = *existing->second;
        if (request.mode != APP_RING_JOIN && request.mode != ring.mode()) return R::failure(EBUSY);
        if (wantsPrivate && !ring.privateRings()) return R::failure(EBUSY);
        if (ring.mode() == APP_RING_BYPASS && uid != 0) return R::failure(EPERM);
        return &ring;
    }
    if (request.mode == APP_RING_JOIN) return R::failure(ENOENT);  // nothing to join
    if (request.mode == APP_RING_BYPASS && uid != 0) return R::failure(EPERM);
    AppRing::Options options;
    options.mode = static_cast<app_ring_mode>(request.mode);
    options.privateRings = wantsPrivate || offer->second.options.privateRings;
    if (request.slot_count != 0) options.slotCount = request.slot_count;
    if (request.min_posted != 0) options.minPosted = request.min_posted;
    auto made = AppRing::create(*offer->second.interface, options);
    if (!made) return R::failure(made.error(), made.message());
    AppRing* ring = made.value().get();
    if (int error = loop_.watchReadable(ring->kickEventFd(),
                                        [ring] {
                                            ring->acknowledgeKick();
                                            ring->service();
                                        });
        error != 0)
        return R::failure(error);
    rings_.emplace(name, std::move(made.value()));
    return ring;
}

int AppRingServer::handleRequest(Connection& connection, const app_ring_request& request, app_ring_reply& reply,
                                 int* fds) {
    if (request.magic != APP_RING_MAGIC || request.version != APP_RING_VERSION) return EINVAL;
    bool allowed = connection.uid == 0 || connection.uid == ::geteuid() || allowedUsers_.count(connection.uid) > 0 ||
        connection.groupAllowed;
    if (!allowed) return EACCES;
    std::string name(request.interface, strnlen(request.interface, sizeof request.interface));
    auto found = ringFor(name, request, connection.uid);
    if (!found) {
        if (rings_.count(name) > 0 && rings_.at(name)->applicationCount() == 0) {  // made for this request
            loop_.unwatch(rings_.at(name)->kickEventFd());
            rings_.erase(name);
        }
        return found.error();
    }
    AppRing& ring = *found.value();
    connection.pidfd = openPidfd(connection.pid);
    if (connection.pidfd < 0) return errno;
    auto application = ring.attach(connection.pid);
    if (!application) return application.error();
    connection.interface = name;
    connection.slot = application.value().slot;
    connection.attached = true;
    int fd = connection.fd;
    if (int error = loop_.watchReadable(connection.pidfd, [this, fd] { close(fd); }); error != 0) return error;
    const AppRing::Application& app = application.value();
    reply.app_slot = app.slot;
    reply.token = app.token;
    reply.data_size = ring.pool().dataRegion().size();
    reply.metadata_size = ring.pool().metadataRegion().size();
    fds[0] = readOnlyCopy(app.postedFd);
    fds[1] = app.takenFd;
    fds[2] = app.appFd;
    fds[3] = ring.pool().dataRegion().fd();
    fds[4] = readOnlyCopy(ring.pool().metadataRegion().fd());
    fds[5] = ring.kickEventFd();
    fds[6] = app.ring1EventFd;
    fds[7] = app.ring2EventFd;
    return fds[0] < 0 || fds[4] < 0 ? errno : 0;
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
    ring->second->detach(connection.slot);        // claim 11: its buffers come back
    if (ring->second->applicationCount() == 0) {  // claims 3, 18, 20: the last one unmapped
        loop_.unwatch(ring->second->kickEventFd());
        rings_.erase(ring);
    }
}

}  // namespace nexnet
