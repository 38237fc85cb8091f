#pragma once
/// @file AppRingServer.h
/// @brief AppRingServer: hands interfaces' application rings to other processes over a UNIX socket.

#include "netbuf/Result.h"
#include "netif/AppRing.h"

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace nexnet {

class EventLoop;
class NetworkInterface;

/// The framework's end of the app-rings API: a UNIX-domain stream socket on which an application
/// asks to map an interface's rings (struct app_ring_request in app_ring.h) and receives its
/// regions (the posted region and the pool's metadata read-only: reopened through /proc/self/fd
/// so the application can neither write them nor mprotect them writable), the pool's data region
/// and its eventfds, by SCM_RIGHTS.
///
/// - Access, checked twice: the socket file's permissions (Options::socketMode and socketGroup:
///   the kernel refuses to connect without write permission), then the peer's credentials
///   (SO_PEERCRED, and SO_PEERGROUPS for its supplementary groups): root, this process's user, a
///   user allowed with allowUser() or a member of a group allowed with allowGroup(). Bypass mode
///   needs root (claim 19: supervisor privileges).
/// - Sharing: an interface's rings are shared by the applications that map them, unless the
///   first one asks for rings of its own (APP_RING_PRIVATE) or the interface was added with
///   InterfaceOptions::privateRings: then each application gets a ring 1 of its own.
/// - Lifecycle: the first application to ask for an interface's rings creates them (claim 2);
///   others map the same rings (a request for another mode gets EBUSY); an application unmaps by
///   closing its connection; the rings are destroyed when no application has them mapped
///   (claims 3, 18, 20). Without rings the interface works as usual (claim 4).
/// - Reclaim: the server watches each application's pidfd as well as its connection, so the
///   buffers of an application that ends, kill -9 included, return at once (claim 11).
///
/// Runs on @p loop's thread, the thread of the interfaces it serves. Its owner keeps the
/// interfaces alive longer than the server.
class AppRingServer {
public:
    /// How the socket is made.
    struct Options {
        mode_t socketMode = 0600;  ///< Permissions of the socket file (connecting needs write permission).
        gid_t socketGroup = static_cast<gid_t>(-1);  ///< Group of the socket file (-1: the process's).
    };
    /// How an interface's rings are offered.
    struct InterfaceOptions {
        bool privateRings = false;  ///< Every application gets a ring 1 of its own, whatever it asks.
    };

    /// Listens on @p path (an existing socket file there is replaced) on @p loop.
    /// Errors: ENAMETOOLONG, or the errno of socket/bind/chmod/chown/listen/epoll.
    static Result<std::unique_ptr<AppRingServer>> create(EventLoop& loop, const std::string& path,
                                                         const Options& options);
    /// As create(loop, path, Options{}): a socket only this process's user (and root) may use.
    static Result<std::unique_ptr<AppRingServer>> create(EventLoop& loop, const std::string& path) {
        return create(loop, path, Options{});
    }
    /// Closes every connection (their applications' buffers return), destroys the rings, removes
    /// the socket file.
    ~AppRingServer();
    AppRingServer(const AppRingServer&) = delete;
    AppRingServer& operator=(const AppRingServer&) = delete;

    /// Offers @p interface's rings to applications, under its name. @return 0 or EEXIST.
    int addInterface(NetworkInterface& interface, const InterfaceOptions& options);
    /// As addInterface(interface, InterfaceOptions{}).
    int addInterface(NetworkInterface& interface) { return addInterface(interface, InterfaceOptions{}); }
    /// Stops offering @p interface: disconnects its applications and destroys its rings.
    /// @return 0 or ENOENT.
    int removeInterface(NetworkInterface& interface);
    /// Lets processes of user @p uid map rings (root and this process's user always may).
    void allowUser(uid_t uid) { allowedUsers_.insert(uid); }
    /// Lets processes whose primary or supplementary group is @p gid map rings. The socket file
    /// must let them connect too (Options::socketGroup with socketMode 0660).
    void allowGroup(gid_t gid) { allowedGroups_.insert(gid); }

    /// The rings of interface @p name, or nullptr when no application has them mapped.
    AppRing* ring(std::string_view name) const;
    /// Applications connected and attached.
    unsigned applicationCount() const;
    /// Requests refused (bad message, credentials, mode).
    std::uint64_t refused() const { return refused_; }
    /// The socket path.
    const std::string& path() const { return path_; }

private:
    struct Connection {
        int fd = -1;
        int pidfd = -1;
        pid_t pid = 0;
        uid_t uid = 0;
        bool groupAllowed = false;
        std::string interface;
        std::uint32_t slot = 0;
        bool attached = false;
    };

    struct Offer {
        NetworkInterface* interface = nullptr;
        InterfaceOptions options;
    };

    AppRingServer(EventLoop& loop, std::string path);
    int listen(const Options& options);
    bool inAllowedGroup(int fd, gid_t primary) const;
    void accept();
    void readRequest(int fd);
    int handleRequest(Connection& connection, const app_ring_request& request, app_ring_reply& reply, int* fds);
    Result<AppRing*> ringFor(const std::string& name, const app_ring_request& request, uid_t uid);
    void close(int fd);

    EventLoop& loop_;
    std::string path_;
    int listenFd_ = -1;
    std::set<uid_t> allowedUsers_;
    std::set<gid_t> allowedGroups_;
    std::map<std::string, Offer, std::less<>> interfaces_;
    std::map<std::string, std::unique_ptr<AppRing>, std::less<>> rings_;
    std::map<int, Connection> connections_;
    std::uint64_t refused_ = 0;
};

}  // namespace nexnet
