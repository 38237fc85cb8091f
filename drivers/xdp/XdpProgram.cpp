#include "drivers/xdp/XdpProgram.h"

#include "drivers/xdp/XdpLibraryLog.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <linux/if_link.h>
#include <unistd.h>

namespace nexnet {

// The BPF object, embedded by drivers/CMakeLists.txt (cmake/EmbedFile.cmake).
extern const unsigned char kXdpProgramObject[];
extern const std::size_t kXdpProgramObject_size;

namespace {

std::uint32_t objectId(int fd, bool link) {
    if (link) {
        bpf_link_info info{};
        std::uint32_t length = sizeof info;
        return bpf_obj_get_info_by_fd(fd, &info, &length) == 0 ? info.id : 0;
    }
    bpf_prog_info info{};
    std::uint32_t length = sizeof info;
    return bpf_obj_get_info_by_fd(fd, &info, &length) == 0 ? info.id : 0;
}

}  // namespace

Result<std::unique_ptr<XdpProgram>> XdpProgram::load(const std::vector<XdpFilterRule>& filter, unsigned queueSlots,
                                                     std::string& message) {
    using R = Result<std::unique_ptr<XdpProgram>>;
    if (filter.size() > kMaxFilterRules) {
        message = "at most " + std::to_string(kMaxFilterRules) + " filter rules";
        return R::failure(EINVAL);
    }
    std::unique_ptr<XdpProgram> program(new XdpProgram());
    program->filters_ = !filter.empty();
    std::string log;
    XdpLibraryLog capture(log);
    bpf_object_open_opts options{};
    options.sz = sizeof options;
    options.object_name = "nexnet_xsk";
    program->object_ = bpf_object__open_mem(kXdpProgramObject, kXdpProgramObject_size, &options);
    if (program->object_ == nullptr) {
        int error = errno;
        message = "cannot open the embedded BPF object: " + log;
        return R::failure(error);
    }
    bpf_program* chosen = bpf_object__find_program_by_name(program->object_, program->name());
    bpf_program* other =
        bpf_object__find_program_by_name(program->object_, program->filters_ ? "nexnet_queue" : "nexnet_filter");
    bpf_map* sockets = bpf_object__find_map_by_name(program->object_, "nexnet_xsks");
    bpf_map* ports = bpf_object__find_map_by_name(program->object_, "nexnet_ports");
    if (chosen == nullptr || other == nullptr || sockets == nullptr || ports == nullptr) {
        message = "the embedded BPF object lacks its programs or maps";
        return R::failure(ENOENT);
    }
    bpf_program__set_autoload(other, false);
    bpf_map__set_max_entries(sockets, queueSlots);
    if (int error = bpf_object__load(program->object_); error != 0) {
        error = -error;
        message = error == EPERM
            ? "loading an XDP program needs CAP_BPF and CAP_NET_ADMIN (or CAP_SYS_ADMIN)"
            : "the kernel refused the XDP program (" + std::string(std::strerror(error)) + "): " + log;
        return R::failure(error);
    }
    program->programFd_ = bpf_program__fd(chosen);
    program->socketsFd_ = bpf_map__fd(sockets);
    program->programId_ = objectId(program->programFd_, false);
    for (const XdpFilterRule& rule : filter) {
        std::uint32_t key = std::uint32_t{rule.protocol} << 16 | rule.port;
        std::uint8_t yes = 1;
        if (bpf_map_update_elem(bpf_map__fd(ports), &key, &yes, BPF_ANY) != 0) {
            int error = errno;
            message = std::string("cannot write the filter rules: ") + std::strerror(error);
            return R::failure(error);
        }
    }
    return R(std::move(program));
}

XdpProgram::~XdpProgram() {
    if (linkFd_ >= 0) close(linkFd_);  // the link's last reference: the kernel detaches the program
    if (object_ != nullptr) bpf_object__close(object_);
}

int XdpProgram::attach(unsigned ifindex, const std::string& interface, XdpAttachMode mode, std::string& message) {
    bpf_link_create_opts options{};
    options.sz = sizeof options;
    options.flags = mode == XdpAttachMode::native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
    int fd = bpf_link_create(programFd_, static_cast<int>(ifindex), BPF_XDP, &options);
    if (fd >= 0) {
        linkFd_ = fd;
        mode_ = mode;
        linkId_ = objectId(fd, true);
        return 0;
    }
    int error = -fd;
    const char* where = mode == XdpAttachMode::native ? "native" : "generic";
    if (error == EPERM) {
        message = "attaching an XDP program to " + interface + " needs CAP_NET_ADMIN";
    } else if (error == EOPNOTSUPP) {
        message = interface + " has no " + where + " XDP (EOPNOTSUPP)" +
            (mode == XdpAttachMode::native ? ": use mode=generic" : "");
    } else if (error == EBUSY || error == EEXIST) {
        bpf_xdp_query_opts query{};
        query.sz = sizeof query;
        bpf_xdp_query(static_cast<int>(ifindex), 0, &query);
        message = interface + " already has an XDP program (id " + std::to_string(query.prog_id) +
            "): the xdp: driver needs the interface's XDP hook to itself; remove that program "
            "(`ip link set dev " +
            interface + " xdp off`, or stop the program that holds it)";
    } else {
        message = std::string("cannot attach the XDP program in ") + where + " mode to " + interface + ": " +
            std::strerror(error);
    }
    return error;
}

int XdpProgram::addSocket(unsigned queue, int socketFd) {
    std::uint32_t key = queue;
    std::uint32_t value = static_cast<std::uint32_t>(socketFd);
    return bpf_map_update_elem(socketsFd_, &key, &value, BPF_ANY) == 0 ? 0 : errno;
}

int XdpProgram::removeSocket(unsigned queue) {
    std::uint32_t key = queue;
    if (bpf_map_delete_elem(socketsFd_, &key) == 0 || errno == ENOENT) return 0;
    return errno;
}

}  // namespace nexnet
