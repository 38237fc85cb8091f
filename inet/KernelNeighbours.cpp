#include "inet/KernelNeighbours.h"

#include <cerrno>
#include <cstring>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nexnet {

namespace {

// Closes the socket on every path out.
struct Socket {
    int fd;
    ~Socket() {
        if (fd >= 0) close(fd);
    }
};

bool usable(std::uint16_t state) {
    return (state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)) != 0;
}

// Appends the neighbour in @p message when it is an IPv4 one of @p ifindex with a MAC address.
void collect(const nlmsghdr* message, int ifindex, std::vector<KernelNeighbours::Neighbour>& out) {
    const auto* neighbour = static_cast<const ndmsg*>(NLMSG_DATA(message));
    if (neighbour->ndm_family != AF_INET || neighbour->ndm_ifindex != ifindex || !usable(neighbour->ndm_state)) return;
    KernelNeighbours::Neighbour entry;
    bool haveAddress = false, haveMac = false;
    int length = static_cast<int>(RTM_PAYLOAD(message));
    for (const rtattr* attribute = RTM_RTA(neighbour); RTA_OK(attribute, length);
         attribute = RTA_NEXT(attribute, length)) {
        if (attribute->rta_type == NDA_DST && RTA_PAYLOAD(attribute) == 4) {
            std::memcpy(&entry.address, RTA_DATA(attribute), 4);
            haveAddress = true;
        } else if (attribute->rta_type == NDA_LLADDR && RTA_PAYLOAD(attribute) == 6) {
            entry.mac = EthernetAddress::fromBytes(RTA_DATA(attribute));
            haveMac = true;
        }
    }
    if (haveAddress && haveMac) out.push_back(entry);
}

}  // namespace

Result<std::vector<KernelNeighbours::Neighbour>> KernelNeighbours::read(const std::string& interfaceName) {
    using R = Result<std::vector<Neighbour>>;
    int ifindex = static_cast<int>(if_nametoindex(interfaceName.c_str()));
    if (ifindex == 0) return R::failure(ENODEV);
    Socket netlink{socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)};
    if (netlink.fd < 0) return R::failure(errno);
    struct {
        nlmsghdr header;
        ndmsg body;
    } request{};
    request.header.nlmsg_len = sizeof request;
    request.header.nlmsg_type = RTM_GETNEIGH;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.nlmsg_seq = 1;
    request.body.ndm_family = AF_INET;
    request.body.ndm_ifindex = ifindex;
    if (send(netlink.fd, &request, sizeof request, 0) < 0) return R::failure(errno);

    std::vector<Neighbour> table;
    alignas(nlmsghdr) char buffer[16384];
    for (;;) {
        ssize_t received = recv(netlink.fd, buffer, sizeof buffer, 0);
        if (received < 0) {
            if (errno == EINTR) continue;
            return R::failure(errno);
        }
        auto length = static_cast<unsigned>(received);
        for (const auto* message = reinterpret_cast<const nlmsghdr*>(buffer); NLMSG_OK(message, length);
             message = NLMSG_NEXT(message, length)) {
            if (message->nlmsg_type == NLMSG_DONE) return table;
            if (message->nlmsg_type == NLMSG_ERROR) {
                const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(message));
                return R::failure(error->error != 0 ? -error->error : EIO);
            }
            if (message->nlmsg_type == RTM_NEWNEIGH) collect(message, ifindex, table);
        }
    }
}

}  // namespace nexnet
